// Launch helpers shared by the kernels in this folder (device code only, not installed API).
#pragma once
#include <cstdint>
#include <exception>

#include "../../core/cuda_check.h"
#include "../../core/cuda_device.h"

namespace ganops::cuda {

constexpr int kThreads = 256;

// Enough blocks of kThreads to cover n with grid-stride loops, capped at what the GPU can
// keep resident: extra blocks would only loop again.
inline int grid_for(int64_t n, int64_t per_thread = 1) {
    const int64_t threads = (n + per_thread - 1) / per_thread;
    const int64_t blocks = (threads + kThreads - 1) / kThreads;
    return static_cast<int>(blocks < 1 ? 1 : (blocks > 8192 ? 8192 : blocks));
}

// Every kernel launch in the library is written
//     GANOPS_LAUNCH(kernel, grid, block, shared_bytes, stream)(args...);
// Under nvcc that is kernel<<<grid, block, shared_bytes, stream>>>(args...); in the emulated
// build (core/emu, GANOPS_EMULATED) the same line runs the kernel on a CPU grid. Either way
// the launch is checked when the statement ends: a bad configuration names the kernel, and
// with GANOPS_SYNC_LAUNCHES=1 the stream is synchronised too, so a fault in the kernel is
// reported at this launch rather than at some later call. A kernel whose name holds a
// template argument list with commas goes through an alias or a wrapper.
struct LaunchCheck {
    const char* kernel;
    const char* file;
    int line;
    Stream stream;
    int exceptions = std::uncaught_exceptions();
    ~LaunchCheck() noexcept(false) {
        // Arguments that threw never launched: leave the exception alone.
        if (std::uncaught_exceptions() == exceptions) after_launch(kernel, file, line, stream);
    }
};

#if defined(GANOPS_EMULATED)
#define GANOPS_LAUNCH(kernel, grid, block, shared_bytes, stream)                        \
    ::ganops::cuda::LaunchCheck{#kernel, __FILE__, __LINE__, (stream)},                  \
        ::ganops_emu::Launcher(#kernel, __FILE__, __LINE__, (grid), (block), (shared_bytes), (stream), \
                               [](const auto&... ganops_args_) { kernel(ganops_args_...); })
#else
#define GANOPS_LAUNCH(kernel, grid, block, shared_bytes, stream)       \
    ::ganops::cuda::LaunchCheck{#kernel, __FILE__, __LINE__, (stream)}, \
        kernel<<<(grid), (block), (shared_bytes), (stream)>>>
#endif

// Dynamic shared memory (the launch's shared_bytes) as a T*, inside a kernel.
// GANOPS_SET_MAX_DYNAMIC_SHARED lets a kernel launch with more than 48 KiB of it.
#if defined(GANOPS_EMULATED)
#define GANOPS_DYNAMIC_SHARED(T, name) T* name = static_cast<T*>(::ganops_emu::dynamic_shared())
#define GANOPS_SET_MAX_DYNAMIC_SHARED(kernel, bytes) ::ganops_emu::set_max_dynamic_shared(#kernel, (bytes))
#else
#define GANOPS_DYNAMIC_SHARED(T, name)                               \
    extern __shared__ __align__(16) unsigned char ganops_dynamic_smem_[]; \
    T* name = reinterpret_cast<T*>(ganops_dynamic_smem_)
#define GANOPS_SET_MAX_DYNAMIC_SHARED(kernel, bytes) \
    GANOPS_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (bytes)))
#endif

#define GANOPS_GRID_STRIDE(i, n) \
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

// Sum of one double per thread across a block of kThreads; the result is valid in thread 0.
// A fixed tree: the same inputs give the same bits every run.
__device__ inline double block_sum(double v) {
    __shared__ double partial[kThreads / 32];
    for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    __syncthreads();  // partial may still be read by a previous call
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < kThreads / 32 ? partial[lane] : 0.0;
        for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
    }
    return v;
}

}  // namespace ganops::cuda
