// Implementation of bench_common.h. Compiled by nvcc for the one kernel of its own, the
// read-only L2 flush; everything else is host code.
#include "bench_common.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <limits>

#include <ganops/core/cuda_device.h>
#include <ganops/core/philox.h>
#include <ganops/kernels/cuda/kernels.h>
#include <ganops/kernels/cuda/launch.cuh>

namespace bench {

cudaStream_t stream() { return ganops::cuda::current_stream(); }

DeviceInfo device_info() {
    int dev = 0;
    BENCH_CUDA(cudaGetDevice(&dev));
    cudaDeviceProp p{};
    BENCH_CUDA(cudaGetDeviceProperties(&p, dev));
    DeviceInfo d;
    d.name = p.name;
    d.sms = p.multiProcessorCount;
    d.cc_major = p.major;
    d.cc_minor = p.minor;
    d.l2_bytes = size_t(p.l2CacheSize);
    d.memory_bytes = p.totalGlobalMem;
    BENCH_CUDA(cudaDriverGetVersion(&d.driver_version));
    BENCH_CUDA(cudaRuntimeGetVersion(&d.runtime_version));
    return d;
}

void print_device(const DeviceInfo& d) {
    std::printf("Device: %s, compute capability %d.%d, %d SMs, L2 %.0f MiB, %.1f GiB, driver CUDA %d.%d, runtime %d.%d\n",
                d.name.c_str(), d.cc_major, d.cc_minor, d.sms, double(d.l2_bytes) / (1 << 20),
                double(d.memory_bytes) / (1 << 30), d.driver_version / 1000, (d.driver_version % 1000) / 10,
                d.runtime_version / 1000, (d.runtime_version % 1000) / 10);
}

// ---- timing ----

namespace {
// Reads every float4 of the buffer. The buffer holds zeros, so the store never happens, but
// the compiler cannot know that and must keep every load.
__global__ void read_flush_kernel(const float4* __restrict__ buffer, size_t n4, float* sink) {
    float acc = 0.0f;
    const size_t step = size_t(gridDim.x) * blockDim.x;
    for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n4; i += step) {
        const float4 v = buffer[i];
        acc += (v.x + v.y) + (v.z + v.w);
    }
    if (acc == -1.0f) *sink = acc;
}
}  // namespace

L2Flusher::L2Flusher(bool enabled) {
    if (!enabled) return;
    const DeviceInfo d = device_info();
    const size_t bytes = std::max<size_t>(4 * d.l2_bytes, size_t(256) << 20);
    floats_ = bytes / sizeof(float);
    floats_ -= floats_ % 4;
    BENCH_CUDA(cudaMalloc(&buffer_, floats_ * sizeof(float)));
    BENCH_CUDA(cudaMalloc(&sink_, sizeof(float)));
    BENCH_CUDA(cudaMemset(buffer_, 0, floats_ * sizeof(float)));
    BENCH_CUDA(cudaDeviceSynchronize());
}

L2Flusher::~L2Flusher() {
    if (buffer_ != nullptr) {
        cudaFree(buffer_);
        cudaFree(sink_);
    }
}

void L2Flusher::run() const {
    if (buffer_ == nullptr) return;
    GANOPS_LAUNCH(read_flush_kernel, 1024, 256, 0, stream())(reinterpret_cast<const float4*>(buffer_), floats_ / 4, sink_);
    BENCH_CUDA(cudaGetLastError());
}

namespace {
Timing summarize(std::vector<double> ms) {
    Timing t;
    if (ms.empty()) return t;
    std::sort(ms.begin(), ms.end());
    const size_t n = ms.size();
    t.median_ms = n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
    t.min_ms = ms.front();
    return t;
}
}  // namespace

std::vector<Timing> time_interleaved(const std::vector<std::function<void()>>& fns, int warmup, int reps,
                                     const L2Flusher& flush) {
    const size_t k = fns.size();
    for (int i = 0; i < warmup; ++i)
        for (const auto& f : fns) {
            flush.run();
            f();
        }
    BENCH_CUDA(cudaDeviceSynchronize());
    std::vector<cudaEvent_t> events(2 * k * size_t(reps));
    for (cudaEvent_t& e : events) BENCH_CUDA(cudaEventCreate(&e));
    for (int r = 0; r < reps; ++r)
        for (size_t j = 0; j < k; ++j) {
            flush.run();
            const size_t at = 2 * (size_t(r) * k + j);
            BENCH_CUDA(cudaEventRecord(events[at], stream()));
            fns[j]();
            BENCH_CUDA(cudaEventRecord(events[at + 1], stream()));
        }
    BENCH_CUDA(cudaDeviceSynchronize());
    BENCH_CUDA(cudaGetLastError());
    std::vector<Timing> out;
    for (size_t j = 0; j < k; ++j) {
        std::vector<double> ms;
        for (int r = 0; r < reps; ++r) {
            const size_t at = 2 * (size_t(r) * k + j);
            float elapsed = 0;
            BENCH_CUDA(cudaEventElapsedTime(&elapsed, events[at], events[at + 1]));
            ms.push_back(elapsed);
        }
        out.push_back(summarize(std::move(ms)));
    }
    for (cudaEvent_t e : events) BENCH_CUDA(cudaEventDestroy(e));
    return out;
}

bool check_event_ordering() {
    const size_t n = size_t(256) << 20;  // 1 GiB of floats
    float* buffer = device_alloc(n);
    ganops::cuda::fill(buffer, int64_t(n), 1.0f);  // warm-up: module load of the library's kernels
    BENCH_CUDA(cudaDeviceSynchronize());
    cudaEvent_t start, stop;
    BENCH_CUDA(cudaEventCreate(&start));
    BENCH_CUDA(cudaEventCreate(&stop));
    const auto t0 = std::chrono::steady_clock::now();
    BENCH_CUDA(cudaEventRecord(start, stream()));
    for (int i = 0; i < 10; ++i) ganops::cuda::fill(buffer, int64_t(n), float(i));
    BENCH_CUDA(cudaEventRecord(stop, stream()));
    BENCH_CUDA(cudaEventSynchronize(stop));
    BENCH_CUDA(cudaDeviceSynchronize());
    const double host_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    float event_ms = 0;
    BENCH_CUDA(cudaEventElapsedTime(&event_ms, start, stop));
    BENCH_CUDA(cudaEventDestroy(start));
    BENCH_CUDA(cudaEventDestroy(stop));
    device_free(buffer);
    const bool ok = event_ms >= 0.5 * host_ms;
    std::printf("Event check: 10 library fills of 1 GiB take %.3f ms by CUDA events, %.3f ms by the host clock: %s\n",
                double(event_ms), host_ms, ok ? "events bracket the library's work" : "EVENTS DO NOT SEE THE LIBRARY'S WORK");
    expect_true("CUDA events bracket libganops kernels", ok);
    return ok;
}

double copy_bandwidth_gbs(size_t bytes, int reps) {
    const size_t n = bytes / sizeof(float);
    float* src = device_alloc(n);
    float* dst = device_alloc(n);
    fill_uniform(src, n, -1, 1);
    for (int i = 0; i < 3; ++i) BENCH_CUDA(cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyDeviceToDevice, stream()));
    const L2Flusher no_flush(false);
    const Timing t = time_interleaved(
        {[&] { BENCH_CUDA(cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyDeviceToDevice, stream())); }}, 0,
        reps, no_flush)[0];
    device_free(src);
    device_free(dst);
    return 2.0 * double(n * sizeof(float)) / (t.median_ms * 1e6);
}

// ---- data ----

namespace {
ganops::Generator& data_generator() {
    static ganops::Generator gen{20261122, 0};
    return gen;
}
}  // namespace

void fill_normal(float* d, size_t n, float mean, float stddev) {
    ganops::Generator& gen = data_generator();
    const uint64_t offset = gen.take(int64_t(n));
    ganops::cuda::normal_fill(d, int64_t(n), gen.seed, offset, mean, stddev);
}

void fill_uniform(float* d, size_t n, float low, float high) {
    ganops::Generator& gen = data_generator();
    const uint64_t offset = gen.take(int64_t(n));
    ganops::cuda::uniform_fill(d, int64_t(n), gen.seed, offset, low, high);
}

void poison(void* d, size_t bytes) { BENCH_CUDA(cudaMemsetAsync(d, 0xFF, bytes, stream())); }

std::vector<float> download(const float* d, size_t n) {
    std::vector<float> h(n);
    BENCH_CUDA(cudaDeviceSynchronize());
    BENCH_CUDA(cudaMemcpy(h.data(), d, n * sizeof(float), cudaMemcpyDeviceToHost));
    return h;
}

float* device_alloc(size_t floats) {
    float* d = nullptr;
    BENCH_CUDA(cudaMalloc(&d, std::max<size_t>(floats, 1) * sizeof(float)));
    return d;
}

void device_free(void* d) {
    if (d != nullptr) BENCH_CUDA(cudaFree(d));
}

namespace {
template <class Ref>
double rel_l2_impl(const std::vector<float>& got, const std::vector<Ref>& ref) {
    if (got.size() != ref.size()) return std::numeric_limits<double>::infinity();
    double diff = 0, norm = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        const double g = got[i], r = double(ref[i]);
        if (!std::isfinite(g) || !std::isfinite(r)) return std::numeric_limits<double>::infinity();
        diff += (g - r) * (g - r);
        norm += r * r;
    }
    if (norm == 0) return diff == 0 ? 0.0 : std::numeric_limits<double>::infinity();
    return std::sqrt(diff / norm);
}

int& failure_count() {
    static int count = 0;
    return count;
}
}  // namespace

double rel_l2(const std::vector<float>& got, const std::vector<float>& ref) { return rel_l2_impl(got, ref); }
double rel_l2(const std::vector<float>& got, const std::vector<double>& ref) { return rel_l2_impl(got, ref); }

// ---- validation bookkeeping ----

bool expect_close(const std::string& what, double err, double tolerance) {
    if (std::isfinite(err) && err < tolerance) return true;
    ++failure_count();
    std::fflush(stdout);
    const std::string line = fmt("!!! MISMATCH: %s: relative L2 error %.3g (limit %.1g)\n", what.c_str(), err, tolerance);
    std::fputs(line.c_str(), stdout);
    std::fflush(stdout);
    return false;
}

bool expect_true(const std::string& what, bool ok) {
    if (ok) return true;
    ++failure_count();
    std::fflush(stdout);
    std::printf("!!! MISMATCH: %s: check failed\n", what.c_str());
    std::fflush(stdout);
    return false;
}

int failures() { return failure_count(); }

void print_validation_summary(const char* program) {
    if (failures() == 0)
        std::printf("\n%s: validation PASSED (every result checked against its reference before timing)\n", program);
    else {
        std::fflush(stdout);
        std::fprintf(stderr, "\n%s: validation FAILED: %d check(s) did not pass; see the MISMATCH lines above\n",
                     program, failures());
    }
}

// ---- command line ----

Args::Args(int argc, char** argv, std::vector<std::string> known_values, std::vector<std::string> known_flags) {
    auto usage = [&](FILE* to) {
        std::fprintf(to, "usage: %s", argv[0]);
        for (const auto& v : known_values) std::fprintf(to, " [%s VALUE]", v.c_str());
        for (const auto& f : known_flags) std::fprintf(to, " [%s]", f.c_str());
        std::fprintf(to, "\n");
    };
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            usage(stdout);
            std::exit(0);
        }
        if (std::find(known_flags.begin(), known_flags.end(), a) != known_flags.end()) {
            flags_.push_back(a);
        } else if (std::find(known_values.begin(), known_values.end(), a) != known_values.end() && i + 1 < argc) {
            values_.emplace_back(a, argv[++i]);
        } else {
            std::fprintf(stderr, "unknown or incomplete option '%s'\n", a.c_str());
            usage(stderr);
            std::exit(2);
        }
    }
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
    for (auto it = values_.rbegin(); it != values_.rend(); ++it)
        if (it->first == name) return it->second;
    return fallback;
}

int Args::get_int(const std::string& name, int fallback) const {
    const std::string v = get(name, "");
    return v.empty() ? fallback : std::stoi(v);
}

double Args::get_double(const std::string& name, double fallback) const {
    const std::string v = get(name, "");
    return v.empty() ? fallback : std::stod(v);
}

std::vector<int> Args::get_ints(const std::string& name, const std::vector<int>& fallback) const {
    const std::string v = get(name, "");
    if (v.empty()) return fallback;
    std::vector<int> out;
    size_t at = 0;
    while (at <= v.size()) {
        const size_t comma = std::min(v.find(',', at), v.size());
        if (comma > at) out.push_back(std::stoi(v.substr(at, comma - at)));
        at = comma + 1;
    }
    return out;
}

bool Args::flag(const std::string& name) const {
    return std::find(flags_.begin(), flags_.end(), name) != flags_.end();
}

// ---- formatting ----

std::string fmt(const char* format, ...) {
    va_list args;
    va_start(args, format);
    char buffer[1024];
    std::vsnprintf(buffer, sizeof buffer, format, args);
    va_end(args);
    return buffer;
}

double geomean(const std::vector<double>& values) {
    if (values.empty()) return 0;
    double log_sum = 0;
    for (double v : values) log_sum += std::log(v);
    return std::exp(log_sum / double(values.size()));
}

}  // namespace bench
