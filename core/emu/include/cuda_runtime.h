// Emulated build: the runtime API (cuda_runtime_api.h) and the device-side shim.
#pragma once
#include "cuda_runtime_api.h"
#include "../cuda_emu.h"

// The C++ conveniences of CUDA's cuda_runtime.h.
template <class T>
inline cudaError_t cudaMalloc(T** ptr, size_t bytes) {
    return ::cudaMalloc(reinterpret_cast<void**>(ptr), bytes);
}
