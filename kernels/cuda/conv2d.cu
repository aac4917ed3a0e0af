// conv2d's three passes as implicit GEMMs (implicit_gemm.cuh), in the CUTLASS mapping:
//   forward      M = N*P*Q (output pixels)  N = K (out channels)  K = C*R*S
//   grad-input   M = N*H*W (input pixels)   N = C                 K = K*R*S
//   grad-weight  M = C*R*S                  N = K                 K = N*P*Q (split-K)
// Each problem gathers its operands from NCHW tensors with zero outside the image. This is
// the strict-fp32 baseline; grad-input visits the zeros a stride inserts, which the
// performance work removes by splitting strided passes into stride^2 dense phases.
#include "conv_problems.h"
#include "implicit_gemm.cuh"
#include "kernels.h"

namespace ganops::cuda {

using conv::BackwardInput;
using conv::BackwardWeight;
using conv::Dims;
using conv::Forward;

void conv2d_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias, float* y) {
    const Dims d(g);
    gemm::run(Forward{d, x, w, bias, y, d.n * d.p * d.q, d.k, d.c * d.r * d.s});
}

void conv2d_backward_input(const ConvGeometry& g, const float* dy, const float* w, float* dx) {
    const Dims d(g);
    gemm::run(BackwardInput{d, dy, w, dx, d.n * d.h * d.w, d.c, d.k * d.r * d.s});
}

void conv2d_backward_weight(const ConvGeometry& g, const float* dy, const float* x, float* dw) {
    const Dims d(g);
    gemm::run(BackwardWeight{d, dy, x, dw, d.c * d.r * d.s, d.k, d.n * d.p * d.q});
}

}  // namespace ganops::cuda
