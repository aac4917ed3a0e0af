// conv2d's three passes as implicit GEMMs (implicit_gemm.cuh), in the CUTLASS mapping:
//   forward      M = N*P*Q (output pixels)  N = K (out channels)  K = C*R*S
//   grad-input   M = N*H*W (input pixels)   N = C                 K = K*R*S
//   grad-weight  M = C*R*S                  N = K                 K = N*P*Q (split-K)
// Each problem gathers its operands from NCHW tensors with zero outside the image.
// Grad-input (also every transposed convolution's forward) runs as stride_h * stride_w
// dense phases, so no product is spent on the zeros a stride inserts (conv_problems.h).
// Precision (core/precision.h): strict fp32 runs the SIMT loop (implicit_gemm.cuh); TF32,
// BF16 and fp32-accurate run the tensor-core loop (implicit_gemm_mma.cuh), same problems.
#include "conv_mma.h"
#include "conv_problems.h"
#include "implicit_gemm.cuh"
#include "kernels.h"
#include "tensor_cores.h"
#include "../../core/error.h"
#include "../../core/precision.h"

namespace ganops::cuda {

using conv::BackwardWeight;
using conv::Dims;
using conv::Forward;

namespace {
// Every pass goes through here: the process-wide precision picks the main loop.
template <class Problem>
void run_gemm(const Problem& p) {
    switch (effective_matmul_precision()) {
        case Precision::FP32: gemm::run(p); break;
        case Precision::TF32: mma::run<mma::Mode::TF32>(conv::for_mma(p)); break;
        case Precision::BF16: mma::run<mma::Mode::BF16>(conv::for_mma(p)); break;
        case Precision::FP32Accurate: mma::run<mma::Mode::TF32x3>(conv::for_mma(p)); break;
    }
}

// The problems index in 32 bits (conv_problems.h): refuse what does not fit, by name.
void check_size(const char* op, const ConvGeometry& g) {
    if (!conv::fits_32bit(g))
        fail(op, ": tensors of ", g.batch, "x", g.in_channels, "x", g.in_h, "x", g.in_w, " -> ", g.out_channels, "x",
             g.out_h, "x", g.out_w, " have more than 2^30 elements, beyond the CUDA kernels' 32-bit indexing; split the batch");
}
}  // namespace

void conv2d_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias, float* y) {
    check_size("conv2d (CUDA)", g);
    const Dims d(g);
    run_gemm(Forward{d, x, w, bias, y, d.n * d.p * d.q, d.k, d.c * d.r * d.s});
}

void conv2d_backward_input(const ConvGeometry& g, const float* dy, const float* w, float* dx) {
    check_size("conv2d backward input (CUDA)", g);
    const Dims d(g);
    // Dense sub-problems instead of one GEMM over every tap (conv_problems.h): a strided
    // pass in stride_h * stride_w phases, a one-pixel output as one product per pixel.
    conv::for_each_backward_input_problem(d, dy, w, dx, [](const auto& problem) { run_gemm(problem); });
}

void conv2d_backward_weight(const ConvGeometry& g, const float* dy, const float* x, float* dw) {
    check_size("conv2d backward weight (CUDA)", g);
    const Dims d(g);
    run_gemm(BackwardWeight{d, dy, x, dw, d.c * d.r * d.s, d.k, d.n * d.p * d.q});
}

}  // namespace ganops::cuda
