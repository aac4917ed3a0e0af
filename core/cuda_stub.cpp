// Compiled instead of cuda_device.cpp and cuda_allocator.cpp when CMake finds no CUDA
// toolkit: the library then runs on the CPU alone and says so when asked for the GPU.
#include <cstring>

#include "cuda_allocator.h"
#include "cuda_counters.h"
#include "cuda_device.h"
#include "cuda_event.h"
#include "cuda_graph.h"
#include "cuda_graph_pool.h"
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
void begin_graph_pool(Stream) { no_cuda("cuda::begin_graph_pool"); }
int end_graph_pool() { return 0; }
void release_graph_pool(int) {}
ReplayOffset replay_offset(uint64_t, uint64_t offset, uint64_t) { return {nullptr, offset}; }
ReplaySchedule replay_schedule(int, const std::function<void(int64_t, double*)>&) { return {}; }
struct Graph::State {};
Graph::Graph(int64_t) : state_(std::make_unique<State>()) {}
Graph::~Graph() = default;
std::string Graph::capture(Stream, const std::function<void()>&) { return "this build of libganops was made without CUDA"; }
bool Graph::ready() const { return false; }
void Graph::replay() { no_cuda("cuda::Graph::replay"); }
void Graph::reset() {}
int64_t Graph::replays() const { return 0; }
Event::Event() {}
Event::~Event() {}
void Event::record(Stream) { no_cuda("cuda::Event::record"); }
void Event::wait(Stream) { no_cuda("cuda::Event::wait"); }
bool Event::done() const { return true; }
void Event::synchronize() {}
PinnedBuffer::PinnedBuffer(size_t) { no_cuda("cuda::PinnedBuffer"); }
PinnedBuffer::~PinnedBuffer() {}
void copy_to_device_async(void*, const PinnedBuffer&, size_t, Stream) { no_cuda("cuda::copy_to_device_async"); }
void count_host_sync() {}
void count_graph_launch() {}
}  // namespace ganops::cuda

namespace ganops {
CudaCounters cuda_counters() { return {}; }
int64_t kernel_launches(const std::string&) { return 0; }
}  // namespace ganops
