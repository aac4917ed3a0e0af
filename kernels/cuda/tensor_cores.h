// Whether this GPU has the tensor-core instructions the TF32/BF16/fp32-accurate modes use:
// mma.sync, ldmatrix, cp.async and cvt to tf32/bf16 need sm_80 (ptx.cuh traps below it), so
// older GPUs keep strict fp32 whatever the mode asks. The emulator has them all.
#pragma once
#include "../../core/cuda_check.h"
#include "../../core/precision.h"

namespace ganops::cuda {

inline bool tensor_cores_available() {
#if defined(GANOPS_EMULATED)
    return true;
#else
    static const bool available = [] {
        int device = 0, major = 0;
        GANOPS_CUDA_CHECK(cudaGetDevice(&device));
        GANOPS_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
        return major >= 8;
    }();
    return available;
#endif
}

// The precision a matrix product runs in here: the process-wide mode, or strict fp32 where
// the GPU lacks tensor cores.
inline Precision effective_matmul_precision() { return tensor_cores_available() ? matmul_precision() : Precision::FP32; }

}  // namespace ganops::cuda
