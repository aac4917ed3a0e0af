// Internal to the library (includes the CUDA runtime): turns a failed runtime call into a
// ganops::Error naming the call, so a GPU fault surfaces as a message, not a later crash.
#pragma once
#include <cuda_runtime_api.h>

#include "error.h"

#define GANOPS_CUDA_CHECK(call)                                                         \
    do {                                                                                \
        cudaError_t ganops_status_ = (call);                                            \
        if (ganops_status_ != cudaSuccess)                                              \
            ::ganops::fail("CUDA error: ", #call, " failed: ",                          \
                           cudaGetErrorString(ganops_status_), " (", __FILE__, ":", __LINE__, ")"); \
    } while (0)

namespace ganops::cuda {
// Called once a kernel launch statement ends (kernels/cuda/launch.cuh): turns a launch error
// into a ganops::Error naming the kernel and the launch site. With GANOPS_SYNC_LAUNCHES=1 in
// the environment it also waits for the stream, so an error the kernel raises while running
// is reported here, at the kernel that caused it (slow: for debugging and sanitizers).
void after_launch(const char* kernel, const char* file, int line, cudaStream_t stream);
bool sync_launches();
}  // namespace ganops::cuda
