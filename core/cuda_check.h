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
