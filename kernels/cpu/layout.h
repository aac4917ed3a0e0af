// The memory-format conversions on the CPU (the reference the CUDA kernels in
// kernels/cuda/layout.cu are tested against). Both directions are one batched transpose:
// NCHW -> NHWC is [N][C][H*W] -> [N][H*W][C], NHWC -> NCHW is [N][H*W][C] -> [N][C][H*W],
// and a KCRS weight is NCHW with N = K, H = R, W = S, so KCRS <-> KRSC is the same call.
#pragma once
#include <cstdint>

namespace ganops::kernels::cpu {

// out[b][j][i] = in[b][i][j] for in [batch][rows][cols] and out [batch][cols][rows].
template <class T>
void batched_transpose(const T* in, int64_t batch, int64_t rows, int64_t cols, T* out);

}  // namespace ganops::kernels::cpu
