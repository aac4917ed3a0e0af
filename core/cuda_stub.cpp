// Compiled instead of cuda_device.cpp and cuda_allocator.cpp when CMake finds no CUDA
// toolkit: the library then runs on the CPU alone and says so when asked for the GPU.
#include <cstring>

#include "cuda_allocator.h"
#include "cuda_device.h"
#include "error.h"

namespace ganops::cuda {

namespace {
[[noreturn]] void no_cuda(const char* what) {
    fail(what, ": this build of libganops was made without CUDA (nvcc was not found)");
}
}  // namespace

bool available() { return false; }
Stream current_stream() { return nullptr; }
void set_current_stream(Stream) {}
Stream create_stream() { no_cuda("cuda::create_stream"); }
void destroy_stream(Stream) {}
void synchronize_stream(Stream) {}
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
    if (dst_device != Device::CPU || src_device != Device::CPU) no_cuda("cuda::copy_bytes");
    if (bytes) std::memcpy(dst, src, bytes);
}
void* allocate(size_t) { no_cuda("cuda::allocate"); }
void poison_bytes(void*, size_t) { no_cuda("cuda::poison_bytes"); }
void release(void*) noexcept {}
void record_stream(void*, Stream) {}
void release_stream(Stream) {}
AllocatorStats allocator_stats() { return {}; }
void reset_peak_stats() {}
void empty_cache() {}
}  // namespace ganops::cuda
