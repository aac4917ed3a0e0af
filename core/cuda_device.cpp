#include "cuda_device.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "cuda_allocator.h"
#include "cuda_check.h"
#include "cuda_counters.h"

namespace ganops::cuda {

bool available() {
    // Asked once: the answer cannot change while the process runs, and without a driver
    // the query itself is slow.
    static const bool has_device = [] {
        int count = 0;
        cudaError_t status = cudaGetDeviceCount(&count);
        if (status != cudaSuccess) {
            cudaGetLastError();  // clear the sticky error so later queries start clean
            return false;
        }
        return count > 0;
    }();
    return has_device;
}

namespace {
thread_local Stream current = nullptr;
}

Stream current_stream() { return current; }
void set_current_stream(Stream stream) { current = stream; }

Stream create_stream() {
    cudaStream_t stream = nullptr;
    GANOPS_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    return stream;
}

void destroy_stream(Stream stream) {
    if (!stream) return;  // the default stream is not ours to destroy
    // Wait for its work, so that the blocks cached for it are idle and go back to the driver
    // (a later create_stream may hand out the same handle).
    count_host_sync();
    GANOPS_CUDA_CHECK(cudaStreamSynchronize(stream));
    release_stream(stream);
    GANOPS_CUDA_CHECK(cudaStreamDestroy(stream));
}

void synchronize_stream(Stream stream) {
    count_host_sync();
    GANOPS_CUDA_CHECK(cudaStreamSynchronize(stream));
}

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
    if (bytes == 0) return;
    if (dst_device == Device::CPU && src_device == Device::CPU) {
        std::memcpy(dst, src, bytes);
        return;
    }
    GANOPS_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, current_stream()));
    // Host memory here is pageable and owned by the caller: finish before handing it back.
    if (dst_device == Device::CPU || src_device == Device::CPU) {
        count_host_sync();
        GANOPS_CUDA_CHECK(cudaStreamSynchronize(current_stream()));
    }
}


bool sync_launches() {
    static const bool on = [] {
        const char* v = std::getenv("GANOPS_SYNC_LAUNCHES");
        return v && *v && std::strcmp(v, "0") != 0;
    }();
    return on;
}

namespace {
std::atomic<int64_t> host_syncs{0}, launches{0}, graph_launches{0};

// Launches by kernel, keyed by the name's address (each GANOPS_LAUNCH site passes a string
// literal), so that counting costs a hash of a pointer, not of a string.
struct LaunchesByKernel {
    std::mutex mutex;
    std::unordered_map<const char*, int64_t> counts;
};
LaunchesByKernel& launches_by_kernel() {
    static auto* instance = new LaunchesByKernel;  // never destroyed: launches may run during exit
    return *instance;
}
}  // namespace

void count_host_sync() { host_syncs.fetch_add(1, std::memory_order_relaxed); }
void count_graph_launch() { graph_launches.fetch_add(1, std::memory_order_relaxed); }

void after_launch(const char* kernel, const char* file, int line, cudaStream_t stream) {
    launches.fetch_add(1, std::memory_order_relaxed);
    {
        LaunchesByKernel& by = launches_by_kernel();
        std::lock_guard<std::mutex> lock(by.mutex);
        ++by.counts[kernel];
    }
    cudaError_t status = cudaGetLastError();
    if (status == cudaSuccess && sync_launches()) {
        status = cudaStreamSynchronize(stream);
        if (status == cudaSuccess) status = cudaGetLastError();
    }
    if (status != cudaSuccess)
        fail("CUDA error: kernel ", kernel, " (", file, ":", line, ") failed: ", cudaGetErrorName(status), ": ",
             cudaGetErrorString(status), sync_launches() ? "" : " (GANOPS_SYNC_LAUNCHES=1 reports faults at the launch that caused them)");
}

void poison_bytes(void* dst, size_t bytes) {
    if (bytes) GANOPS_CUDA_CHECK(cudaMemsetAsync(dst, 0xFF, bytes, current_stream()));
}

}  // namespace ganops::cuda

namespace ganops {

CudaCounters cuda_counters() {
    CudaCounters c;
    c.host_syncs = cuda::host_syncs.load(std::memory_order_relaxed);
    c.launches = cuda::launches.load(std::memory_order_relaxed);
    c.graph_launches = cuda::graph_launches.load(std::memory_order_relaxed);
    c.device_allocations = cuda::allocator_stats().device_allocations;
    return c;
}

int64_t kernel_launches(const std::string& kernel) {
    cuda::LaunchesByKernel& by = cuda::launches_by_kernel();
    std::lock_guard<std::mutex> lock(by.mutex);
    int64_t n = 0;
    for (const auto& [name, count] : by.counts)
        if (kernel == name) n += count;
    return n;
}

}  // namespace ganops
