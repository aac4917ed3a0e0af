// The CPU execution mode's own tests: warp collectives and barriers against plain loops,
// and every diagnostic made to fire by a kernel written to trigger it (a check that cannot
// fail is a defect). Built only against ganops_emu: on a GPU these kernels would hang,
// race or fault.
#include <cuda_runtime.h>

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "catch_compat.h"
#include "core/error.h"
#include "kernels/cuda/launch.cuh"

namespace {

using ganops::cuda::Stream;

// ---- kernels ----
__global__ void shuffles_kernel(const int* in, int* out, int width) {
    const int lane = threadIdx.x % 32;
    const int v = in[threadIdx.x];
    int* o = out + threadIdx.x * 4;
    o[0] = __shfl_sync(0xffffffffu, v, (lane * 7 + 3) % 32, width);
    o[1] = __shfl_up_sync(0xffffffffu, v, 3, width);
    o[2] = __shfl_down_sync(0xffffffffu, v, 5, width);
    o[3] = __shfl_xor_sync(0xffffffffu, v, 6, width);
}

__global__ void votes_kernel(const int* in, unsigned* out) {
    const int p = in[threadIdx.x] % 3 == 0;
    out[threadIdx.x * 3 + 0] = __ballot_sync(0xffffffffu, p);
    out[threadIdx.x * 3 + 1] = unsigned(__any_sync(0xffffffffu, p));
    out[threadIdx.x * 3 + 2] = unsigned(__all_sync(0xffffffffu, in[threadIdx.x] >= 0));
}

// Reverses each block's slice through shared memory: needs the barrier between the store
// and the load.
template <bool with_barrier>
__global__ void reverse_kernel(const float* in, float* out) {
    __shared__ float tile[128];
    const int i = blockIdx.x * 128 + threadIdx.x;
    tile[threadIdx.x] = in[i];
    if (with_barrier) __syncthreads();
    out[i] = tile[127 - threadIdx.x];
}

__global__ void divergent_barrier_kernel(float* out) {
    if (threadIdx.x < 16) __syncthreads();
    out[threadIdx.x] = 1.0f;
}

__global__ void early_exit_barrier_kernel(float* out) {
    if (threadIdx.x == 40) return;
    __syncthreads();
    out[threadIdx.x] = 1.0f;
}

__global__ void two_barriers_kernel(float* out) {
    if (threadIdx.x % 2) {
        __syncthreads();
    } else {
        __syncthreads();
    }
    out[threadIdx.x] = 1.0f;
}

__global__ void shuffle_exited_lane_kernel(float* out) {
    if (threadIdx.x == 5) return;
    out[threadIdx.x] = __shfl_down_sync(0xffffffffu, 1.0f, 1);
}

__global__ void shuffle_mask_without_caller_kernel(float* out) {
    out[threadIdx.x] = __shfl_down_sync(0x0000ffffu, 1.0f, 1, 16);  // lanes 16-31 call with a mask naming 0-15
}

__global__ void shuffle_reads_outside_mask_kernel(float* out) {
    if (threadIdx.x < 16) out[threadIdx.x] = __shfl_down_sync(0x0000ffffu, float(threadIdx.x), 8, 32);
}

__global__ void deadlock_kernel(float* out) {
    // Lane 0 waits for lane 1 in a shuffle; lane 1 waits at the barrier for lane 0.
    if (threadIdx.x == 0) out[0] = __shfl_sync(0x3u, 1.0f, 1);
    if (threadIdx.x != 0) __syncthreads();
}

__global__ void fill_kernel(float* out, int n, float value) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = value;
}

__global__ void add_kernel(float* out, int n, float value) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] += value;
}

__global__ void dynamic_shared_kernel(float* out) {
    GANOPS_DYNAMIC_SHARED(float, scratch);
    out[threadIdx.x] = scratch[threadIdx.x];  // never written: the emulator's poison
}

__global__ void block_sum_kernel(const double* in, double* out) {
    const double s = ganops::cuda::block_sum(in[blockIdx.x * ganops::cuda::kThreads + threadIdx.x]);
    if (threadIdx.x == 0) out[blockIdx.x] = s;
}

// ---- helpers ----
template <class T>
struct DeviceBuffer {
    T* ptr = nullptr;
    size_t n;
    explicit DeviceBuffer(size_t count) : n(count) { REQUIRE(cudaMalloc(&ptr, n * sizeof(T)) == cudaSuccess); }
    DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) {
        REQUIRE(cudaMemcpy(ptr, host.data(), n * sizeof(T), cudaMemcpyHostToDevice) == cudaSuccess);
    }
    ~DeviceBuffer() { cudaFree(ptr); }
    std::vector<T> host() const {
        std::vector<T> h(n);
        REQUIRE(cudaMemcpy(h.data(), ptr, n * sizeof(T), cudaMemcpyDeviceToHost) == cudaSuccess);
        return h;
    }
};

std::string last_diagnostic() {
    const auto d = ganops_emu::diagnostics();
    return d.empty() ? std::string() : d.back();
}

// Launches through GANOPS_LAUNCH and returns the library's error message ("" if none).
template <class Launch>
std::string launch_error(Launch launch) {
    ganops_emu::clear_diagnostics();
    try {
        launch();
        return "";
    } catch (const ganops::Error& e) {
        return e.what();
    }
}

}  // namespace

TEST_CASE("emulated shuffles match the CUDA semantics, for every width") {
    std::vector<int> in(64);
    std::iota(in.begin(), in.end(), 100);
    DeviceBuffer<int> d_in(in);
    for (int width : {32, 16, 8, 4, 2, 1}) {
        INFO("width " << width);
        DeviceBuffer<int> d_out(64 * 4);
        GANOPS_LAUNCH(shuffles_kernel, 1, 64, 0, nullptr)(d_in.ptr, d_out.ptr, width);
        const std::vector<int> out = d_out.host();
        for (int t = 0; t < 64; ++t) {
            const int lane = t % 32, base = t - lane, seg = lane / width * width;
            const int idx = seg + ((lane * 7 + 3) % 32) % width;
            const int up = lane - 3 < seg ? lane : lane - 3;
            const int down = lane + 5 >= seg + width ? lane : lane + 5;
            const int x = (lane ^ 6) >= seg + width ? lane : (lane ^ 6);
            CHECK(out[t * 4 + 0] == in[base + idx]);
            CHECK(out[t * 4 + 1] == in[base + up]);
            CHECK(out[t * 4 + 2] == in[base + down]);
            CHECK(out[t * 4 + 3] == in[base + x]);
        }
    }
}

TEST_CASE("emulated votes match plain loops") {
    std::vector<int> in(32);
    for (int i = 0; i < 32; ++i) in[i] = (i * 13 + 5) % 17;
    DeviceBuffer<int> d_in(in);
    DeviceBuffer<unsigned> d_out(96);
    GANOPS_LAUNCH(votes_kernel, 1, 32, 0, nullptr)(d_in.ptr, d_out.ptr);
    unsigned ballot = 0;
    for (int i = 0; i < 32; ++i) ballot |= unsigned(in[i] % 3 == 0) << i;
    const auto out = d_out.host();
    for (int i = 0; i < 32; ++i) {
        CHECK(out[i * 3] == ballot);
        CHECK(out[i * 3 + 1] == unsigned(ballot != 0));
        CHECK(out[i * 3 + 2] == 1u);
    }
}

TEST_CASE("block_sum over many blocks adds every thread's value") {
    const int blocks = 37, n = blocks * ganops::cuda::kThreads;
    std::vector<double> in(n);
    for (int i = 0; i < n; ++i) in[i] = (i % 101) * 0.25 - 7;
    DeviceBuffer<double> d_in(in), d_out(blocks);
    GANOPS_LAUNCH(block_sum_kernel, blocks, ganops::cuda::kThreads, 0, nullptr)(d_in.ptr, d_out.ptr);
    const auto out = d_out.host();
    for (int b = 0; b < blocks; ++b) {
        double s = 0;
        for (int t = 0; t < ganops::cuda::kThreads; ++t) s += in[b * ganops::cuda::kThreads + t];
        CHECK(out[b] == s);  // exact: quarter-integers
    }
}

TEST_CASE("a missing barrier gives wrong results, deterministically; with it, right ones") {
    const int blocks = 4, n = blocks * 128;
    std::vector<float> in(n);
    for (int i = 0; i < n; ++i) in[i] = float(i) + 0.5f;
    DeviceBuffer<float> d_in(in), d_out(n);
    GANOPS_LAUNCH(reverse_kernel<true>, blocks, 128, 0, nullptr)(d_in.ptr, d_out.ptr);
    auto out = d_out.host();
    for (int i = 0; i < n; ++i) REQUIRE(out[i] == in[i / 128 * 128 + 127 - i % 128]);
    // Without the barrier, thread 0 of each block reads the tile before thread 127 wrote it.
    GANOPS_LAUNCH(reverse_kernel<false>, blocks, 128, 0, nullptr)(d_in.ptr, d_out.ptr);
    out = d_out.host();
    int wrong = 0;
    for (int i = 0; i < n; ++i) wrong += out[i] != in[i / 128 * 128 + 127 - i % 128];
    CHECK(wrong > 0);
}

TEST_CASE("divergent barriers are reported with block and thread coordinates") {
    DeviceBuffer<float> out(64);
    std::string e = launch_error([&] { GANOPS_LAUNCH(divergent_barrier_kernel, dim3(2, 3), 64, 0, nullptr)(out.ptr); });
    CHECK_THAT(e, GANOPS_CONTAINS("divergent_barrier_kernel"));
    CHECK_THAT(e, GANOPS_CONTAINS("unspecified launch failure"));
    const std::string d = last_diagnostic();
    CHECK_THAT(d, GANOPS_CONTAINS("divergent barrier"));
    CHECK_THAT(d, GANOPS_CONTAINS("), block ("));
    CHECK_THAT(d, GANOPS_CONTAINS("thread ("));
    CHECK_THAT(d, GANOPS_CONTAINS("test_emu_diagnostics.cu:"));

    e = launch_error([&] { GANOPS_LAUNCH(early_exit_barrier_kernel, 1, 64, 0, nullptr)(out.ptr); });
    CHECK_THAT(last_diagnostic(), GANOPS_CONTAINS("(40,0,0)"));
    CHECK_THAT(last_diagnostic(), GANOPS_CONTAINS("exited"));

    e = launch_error([&] { GANOPS_LAUNCH(two_barriers_kernel, 1, 64, 0, nullptr)(out.ptr); });
    CHECK_THAT(e, GANOPS_CONTAINS("two_barriers_kernel"));
    CHECK_THAT(last_diagnostic(), GANOPS_CONTAINS("divergent barrier"));
    // The emulator goes on after a fault: the next launch runs normally.
    GANOPS_LAUNCH(fill_kernel, 1, 64, 0, nullptr)(out.ptr, 64, 2.0f);
    CHECK(out.host()[63] == 2.0f);
}

TEST_CASE("bad warp masks are reported") {
    DeviceBuffer<float> out(32);
    launch_error([&] { GANOPS_LAUNCH(shuffle_exited_lane_kernel, 1, 32, 0, nullptr)(out.ptr); });
    CHECK_THAT(last_diagnostic(), GANOPS_CONTAINS("bad warp mask"));
    CHECK_THAT(last_diagnostic(), GANOPS_CONTAINS("lane 5"));
    launch_error([&] { GANOPS_LAUNCH(shuffle_mask_without_caller_kernel, 1, 32, 0, nullptr)(out.ptr); });
    CHECK_THAT(last_diagnostic(), GANOPS_CONTAINS("does not name it"));
    launch_error([&] { GANOPS_LAUNCH(shuffle_reads_outside_mask_kernel, 1, 32, 0, nullptr)(out.ptr); });
    CHECK_THAT(last_diagnostic(), GANOPS_CONTAINS("reads lane 16"));
    // A mask naming lanes past the end of a 20-thread block.
    launch_error([&] { GANOPS_LAUNCH(shuffle_exited_lane_kernel, 1, 20, 0, nullptr)(out.ptr); });
    CHECK_THAT(last_diagnostic(), GANOPS_CONTAINS("does not exist"));
}

TEST_CASE("a deadlock is reported with what each thread waits at") {
    DeviceBuffer<float> out(64);
    const std::string e = launch_error([&] { GANOPS_LAUNCH(deadlock_kernel, 1, 64, 0, nullptr)(out.ptr); });
    CHECK_THAT(e, GANOPS_CONTAINS("deadlock_kernel"));
    const std::string d = last_diagnostic();
    CHECK_THAT(d, GANOPS_CONTAINS("deadlock"));
    CHECK_THAT(d, GANOPS_CONTAINS("wait at __shfl_sync"));
    CHECK_THAT(d, GANOPS_CONTAINS("wait at __syncthreads"));
}

TEST_CASE("invalid launch configurations fail as the driver fails them") {
    DeviceBuffer<float> out(64);
    struct Case {
        dim3 grid, block;
        size_t shared;
        const char* expect;
    };
    for (const Case& c : {Case{1, 1025, 0, "more than 1024 threads"}, Case{dim3(1, 65536), 32, 0, "grid dimensions"},
                          Case{dim3(1, 1, 65536), 32, 0, "grid dimensions"}, Case{0, 32, 0, "a dimension is zero"},
                          Case{1, dim3(32, 0), 0, "a dimension is zero"}, Case{1, dim3(1, 1, 65), 0, "block dimensions"},
                          Case{1, 32, 49 << 10, "dynamic shared memory"}}) {
        INFO(c.expect);
        const std::string e = launch_error([&] { GANOPS_LAUNCH(fill_kernel, c.grid, c.block, c.shared, nullptr)(out.ptr, 0, 1.0f); });
        CHECK_THAT(e, GANOPS_CONTAINS("fill_kernel"));
        CHECK_THAT(e, GANOPS_CONTAINS(c.shared ? "cudaErrorInvalidValue" : "cudaErrorInvalidConfiguration"));
        CHECK_THAT(last_diagnostic(), GANOPS_CONTAINS(c.expect));
    }
    // Opting in raises the dynamic shared memory limit, as cudaFuncSetAttribute does.
    GANOPS_SET_MAX_DYNAMIC_SHARED(dynamic_shared_kernel, 100 << 10);
    GANOPS_LAUNCH(dynamic_shared_kernel, 1, 32, 100 << 10, nullptr)(out.ptr);
    const auto h = out.host();
    CHECK(std::isnan(h[0]));  // dynamic shared memory starts poisoned
}

TEST_CASE("copies past the end of a device allocation are refused, naming the range") {
    DeviceBuffer<float> d(10);
    std::vector<float> h(11, 1.0f);
    ganops_emu::clear_diagnostics();
    CHECK(cudaMemcpy(d.ptr, h.data(), 11 * sizeof(float), cudaMemcpyHostToDevice) == cudaErrorInvalidValue);
    CHECK_THAT(last_diagnostic(), GANOPS_CONTAINS("runs past the end of its device allocation of 40 bytes"));
    CHECK(cudaMemset(d.ptr + 5, 0, 6 * sizeof(float)) == cudaErrorInvalidValue);
    CHECK(cudaMemcpy(h.data(), h.data() + 1, 4, cudaMemcpyDeviceToHost) == cudaErrorInvalidValue);  // not device memory
    CHECK(cudaFree(d.ptr + 1) == cudaErrorInvalidValue);
    cudaGetLastError();
}

TEST_CASE("deferred streams: a read on one stream of data written on another needs an event") {
    ganops_emu::set_stream_mode(true, 0);
    const int n = 256;
    DeviceBuffer<float> buf(n);
    std::vector<float> host(n);
    cudaStream_t a, b;
    REQUIRE(cudaStreamCreateWithFlags(&a, cudaStreamNonBlocking) == cudaSuccess);
    REQUIRE(cudaStreamCreateWithFlags(&b, cudaStreamNonBlocking) == cudaSuccess);
    float* pinned = nullptr;
    REQUIRE(cudaMallocHost(reinterpret_cast<void**>(&pinned), n * sizeof(float)) == cudaSuccess);

    // Missing synchronisation: b copies while a's fill may not have run.
    GANOPS_LAUNCH(fill_kernel, 1, n, 0, a)(buf.ptr, n, 3.0f);
    REQUIRE(cudaMemcpyAsync(pinned, buf.ptr, n * sizeof(float), cudaMemcpyDeviceToHost, b) == cudaSuccess);
    CHECK(cudaStreamQuery(b) == cudaErrorNotReady);
    REQUIRE(cudaStreamSynchronize(b) == cudaSuccess);
    CHECK(pinned[0] != 3.0f);  // read before the fill ran: the race shows, every run
    REQUIRE(cudaStreamSynchronize(a) == cudaSuccess);

    // With the event the copy waits for the fill.
    cudaEvent_t filled;
    REQUIRE(cudaEventCreate(&filled) == cudaSuccess);
    GANOPS_LAUNCH(fill_kernel, 1, n, 0, a)(buf.ptr, n, 4.0f);
    REQUIRE(cudaEventRecord(filled, a) == cudaSuccess);
    CHECK(cudaEventQuery(filled) == cudaErrorNotReady);
    REQUIRE(cudaStreamWaitEvent(b, filled) == cudaSuccess);
    REQUIRE(cudaMemcpyAsync(pinned, buf.ptr, n * sizeof(float), cudaMemcpyDeviceToHost, b) == cudaSuccess);
    REQUIRE(cudaStreamSynchronize(b) == cudaSuccess);
    CHECK(pinned[0] == 4.0f);
    CHECK(pinned[n - 1] == 4.0f);
    CHECK(cudaEventQuery(filled) == cudaSuccess);

    // Reuse across streams: b still reads the old contents when a overwrites them. Seeded
    // interleavings are reproducible: the same seed gives the same outcome.
    auto reuse = [&](uint64_t seed) {
        ganops_emu::set_stream_mode(true, seed);
        GANOPS_LAUNCH(fill_kernel, 1, n, 0, a)(buf.ptr, n, 5.0f);
        REQUIRE(cudaStreamSynchronize(a) == cudaSuccess);
        REQUIRE(cudaMemcpyAsync(pinned, buf.ptr, n * sizeof(float), cudaMemcpyDeviceToHost, b) == cudaSuccess);
        GANOPS_LAUNCH(fill_kernel, 1, n, 0, a)(buf.ptr, n, 6.0f);  // "freed and reused" without waiting for b
        REQUIRE(cudaStreamSynchronize(a) == cudaSuccess);
        REQUIRE(cudaStreamSynchronize(b) == cudaSuccess);
        return pinned[0];
    };
    CHECK(reuse(0) == 6.0f);  // as late as allowed: b's read runs after a's overwrite
    for (uint64_t seed : {1, 2, 3, 4, 5}) CHECK(reuse(seed) == reuse(seed));

    cudaEventDestroy(filled);
    cudaFreeHost(pinned);
    cudaStreamDestroy(a);
    cudaStreamDestroy(b);
    ganops_emu::set_stream_mode(false);
}

TEST_CASE("stream capture records launches and copies; graph replay runs them again") {
    const int n = 100;
    DeviceBuffer<float> buf(n);
    cudaStream_t s;
    REQUIRE(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) == cudaSuccess);
    GANOPS_LAUNCH(fill_kernel, 1, 128, 0, s)(buf.ptr, n, 0.0f);
    REQUIRE(cudaStreamSynchronize(s) == cudaSuccess);
    REQUIRE(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal) == cudaSuccess);
    GANOPS_LAUNCH(add_kernel, 1, 128, 0, s)(buf.ptr, n, 1.5f);
    GANOPS_LAUNCH(add_kernel, 1, 128, 0, s)(buf.ptr, n, 0.25f);
    void* p = nullptr;
    CHECK(cudaMalloc(&p, 16) == cudaErrorStreamCaptureUnsupported);  // not in a global-mode capture
    cudaGetLastError();
    cudaGraph_t graph;
    REQUIRE(cudaStreamEndCapture(s, &graph) == cudaSuccess);
    CHECK(buf.host()[0] == 0.0f);  // captured, not run
    cudaGraphExec_t exec;
    REQUIRE(cudaGraphInstantiate(&exec, graph) == cudaSuccess);
    for (int i = 0; i < 3; ++i) REQUIRE(cudaGraphLaunch(exec, s) == cudaSuccess);
    REQUIRE(cudaStreamSynchronize(s) == cudaSuccess);
    CHECK(buf.host()[n - 1] == 5.25f);
    // A host synchronisation inside a capture invalidates it.
    REQUIRE(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal) == cudaSuccess);
    CHECK(cudaStreamSynchronize(s) == cudaErrorStreamCaptureUnsupported);
    cudaGraph_t broken;
    CHECK(cudaStreamEndCapture(s, &broken) == cudaErrorStreamCaptureInvalidated);
    cudaGetLastError();
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
    cudaStreamDestroy(s);
}

TEST_CASE("a stream that was destroyed cannot be used") {
    cudaStream_t s;
    REQUIRE(cudaStreamCreate(&s) == cudaSuccess);
    REQUIRE(cudaStreamDestroy(s) == cudaSuccess);
    ganops_emu::clear_diagnostics();
    CHECK(cudaStreamSynchronize(s) == cudaErrorInvalidResourceHandle);
    cudaGetLastError();
}

namespace {
__global__ void atomics_kernel(int* counter, float* sum, unsigned* tickets) {
    const unsigned ticket = atomicAdd(reinterpret_cast<unsigned*>(counter + 1), 1u);
    atomicAdd(counter, 1);
    atomicAdd(sum, 0.5f);
    atomicMax(counter + 2, int(blockIdx.x * blockDim.x + threadIdx.x));
    if (threadIdx.x == 0) tickets[blockIdx.x] = ticket;
}
}  // namespace

TEST_CASE("atomics from blocks running side by side lose no update") {
    const int blocks = 64, threads = 128;
    DeviceBuffer<int> counter(std::vector<int>{0, 0, -1});
    DeviceBuffer<float> sum(std::vector<float>{0.0f});
    DeviceBuffer<unsigned> tickets(blocks);
    GANOPS_LAUNCH(atomics_kernel, blocks, threads, 0, nullptr)(counter.ptr, sum.ptr, tickets.ptr);
    const auto c = counter.host();
    CHECK(c[0] == blocks * threads);
    CHECK(c[1] == blocks * threads);
    CHECK(c[2] == blocks * threads - 1);
    CHECK(sum.host()[0] == 0.5f * blocks * threads);  // exact: a multiple of 0.5 below 2^24
    auto t = tickets.host();
    std::sort(t.begin(), t.end());
    CHECK(std::adjacent_find(t.begin(), t.end()) == t.end());  // every block its own tickets
}
