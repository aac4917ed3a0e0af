// What the library asks of the GPU, counted: the costs that surround the kernels in a
// training step. A host synchronisation stalls the CPU until the GPU catches up (and then
// the GPU idles until the CPU issues more); a launch costs a few microseconds of CPU time;
// a cudaMalloc synchronises the device. A steady-state training iteration should make no
// host synchronisation and no allocation, and as few launches as it can (one, when it is
// a replayed CUDA graph). Read the counters before and after the code of interest and
// subtract. Counted in the CUDA build and in the emulated one (core/emu) alike; a build
// without CUDA counts nothing.
#pragma once
#include <cstdint>
#include <string>

namespace ganops {

struct CudaCounters {
    int64_t host_syncs = 0;          // cudaStreamSynchronize, cudaEventSynchronize, device-to-host copies the host waits for
    int64_t launches = 0;            // kernel launches (a graph's kernels not included)
    int64_t graph_launches = 0;      // cudaGraphLaunch calls
    int64_t device_allocations = 0;  // cudaMalloc calls by the caching allocator
};

CudaCounters cuda_counters();

// Launches so far of the kernel of that name (the function's name as written at its
// GANOPS_LAUNCH, e.g. "conv2d_backward_weight_kernel"). For tests that some work is skipped.
int64_t kernel_launches(const std::string& kernel);

}  // namespace ganops

namespace ganops::cuda {
// Called by the library's own code where it makes the host wait for the GPU, and where it
// launches a graph (kernel launches are counted in after_launch).
void count_host_sync();
void count_graph_launch();
}  // namespace ganops::cuda
