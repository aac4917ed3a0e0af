// What the GPU benchmarks share: checked CUDA calls, event timing with an L2 flush between
// repeats, error norms, validation bookkeeping and the device's two ceilings.
// Benchmark-only code: nothing here is part of libganops.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

// Every CUDA runtime call of the benchmarks goes through this: on failure it prints the
// call, the error's name and text and where, and exits with status 3.
#define BENCH_CUDA(call)                                                                              \
    do {                                                                                              \
        const cudaError_t bench_status_ = (call);                                                     \
        if (bench_status_ != cudaSuccess) {                                                           \
            std::fprintf(stderr, "CUDA error: %s failed: %s: %s (%s:%d)\n", #call,                    \
                         cudaGetErrorName(bench_status_), cudaGetErrorString(bench_status_), __FILE__, \
                         __LINE__);                                                                   \
            std::fflush(stdout);                                                                      \
            std::exit(3);                                                                             \
        }                                                                                             \
    } while (0)

namespace bench {

// The stream everything runs on: the library's current stream (the legacy default stream),
// so our kernels, cuDNN's, the flush and the events are ordered one after another.
cudaStream_t stream();

// ---- the device ----
struct DeviceInfo {
    std::string name;
    int sms = 0, cc_major = 0, cc_minor = 0;
    size_t l2_bytes = 0, memory_bytes = 0;
    int driver_version = 0, runtime_version = 0;
};
DeviceInfo device_info();
void print_device(const DeviceInfo& d);  // one markdown line

// ---- timing ----
// Evicts the L2 between timed runs by reading (not writing) a buffer of 4x the L2 size, so
// a run starts with a cold cache and no dirty lines to write back on its clock.
class L2Flusher {
public:
    explicit L2Flusher(bool enabled);
    ~L2Flusher();
    L2Flusher(const L2Flusher&) = delete;
    L2Flusher& operator=(const L2Flusher&) = delete;
    void run() const;  // enqueued on stream(); a no-op when disabled
    bool enabled() const { return buffer_ != nullptr; }

private:
    float* buffer_ = nullptr;
    float* sink_ = nullptr;
    size_t floats_ = 0;
};

struct Timing {
    double median_ms = 0, min_ms = 0;
};

// Times several functions against each other. Each is run `warmup` times, then `reps`
// rounds follow; in a round every function runs once, each run preceded by an L2 flush and
// bracketed by its own pair of CUDA events (the flush is outside the pair). Interleaving
// keeps clock and temperature drift from favouring one side. Returns each function's
// median and minimum over the rounds.
std::vector<Timing> time_interleaved(const std::vector<std::function<void()>>& fns, int warmup, int reps,
                                     const L2Flusher& flush);

// Checks that CUDA events recorded by this program bracket work that libganops enqueues
// (the library links its own copy of the CUDA runtime). Prints the finding; false when the
// events do not see the library's work, which would make every timing meaningless.
bool check_event_ordering();

// Device-to-device copy bandwidth in GB/s (bytes read + bytes written per second) of a
// cudaMemcpyAsync over `bytes`, median of `reps` after warm-up: the memory floor's rate.
double copy_bandwidth_gbs(size_t bytes, int reps);

// ---- data ----
// Fresh N(mean, stddev) or U(low, high) values from a Philox stream (the library's fill
// kernels); every call draws a new part of the stream.
void fill_normal(float* d, size_t n, float mean, float stddev);
void fill_uniform(float* d, size_t n, float low, float high);
void poison(void* d, size_t bytes);  // 0xFF bytes: NaN as floats; shows unwritten outputs
std::vector<float> download(const float* d, size_t n);
float* device_alloc(size_t floats);  // cudaMalloc, checked; free with device_free
void device_free(void* d);

// ||got - ref|| / ||ref|| in double; +inf when a value of `got` is not finite or the sizes differ.
double rel_l2(const std::vector<float>& got, const std::vector<float>& ref);
double rel_l2(const std::vector<float>& got, const std::vector<double>& ref);

// ---- validation bookkeeping ----
// Records a check. A failed one is printed at once, loudly, to stdout and stderr, and makes
// failures() non-zero; programs exit non-zero at the end when any check failed.
bool expect_close(const std::string& what, double err, double tolerance);
bool expect_true(const std::string& what, bool ok);
int failures();
void print_validation_summary(const char* program);

// ---- command line ----
// --name value pairs and bare --flags; unknown options are an error listing the known ones.
class Args {
public:
    Args(int argc, char** argv, std::vector<std::string> known_values, std::vector<std::string> known_flags);
    std::string get(const std::string& name, const std::string& fallback) const;
    int get_int(const std::string& name, int fallback) const;
    double get_double(const std::string& name, double fallback) const;
    std::vector<int> get_ints(const std::string& name, const std::vector<int>& fallback) const;  // "128,64"
    bool flag(const std::string& name) const;

private:
    std::vector<std::pair<std::string, std::string>> values_;
    std::vector<std::string> flags_;
};

// ---- formatting ----
std::string fmt(const char* format, ...) __attribute__((format(printf, 1, 2)));
double geomean(const std::vector<double>& values);  // 0 when empty

}  // namespace bench
