// Memory-format conversions on the GPU (layout.cu): the CUDA twins of kernels/cpu/layout.h.
// NCHW -> NHWC is batched_transpose(x, N, C, H*W), NHWC -> NCHW is
// batched_transpose(x, N, H*W, C); KCRS <-> KRSC the same with N = K, H*W = R*S.
#pragma once
#include <cstdint>

namespace ganops::cuda {

// out[b][j][i] = in[b][i][j] for in [batch][rows][cols], device pointers, float32, on the
// current stream. in and out must not overlap.
void batched_transpose(const float* in, int64_t batch, int64_t rows, int64_t cols, float* out);

}  // namespace ganops::cuda
