// Channels-last convolution (conv2d_nhwc.h): the problems of conv_nhwc_problems.h on the
// GEMM loops, by precision (core/precision.h):
//   fp32                 the SIMT loop (implicit_gemm.cuh) over the element functors;
//   tf32, bf16, accurate the tensor-core loop (implicit_gemm_mma.cuh): the cp.async pipeline
//                        when the k-contiguous channels come in multiples of 4 (forward: C;
//                        grad-input: K_out), else the register-staged loop over the functors
//                        (the DCGAN's first discriminator layer, C = 3). Grad-weight's
//                        operands are contiguous along m and n, not k: its cp.async chunks
//                        run along m and n (C and K_out multiples of 4), into k-major tiles.
// Grad-input first transposes the weights KRSC -> CRSK (one small kernel into a scratch
// tensor) so that its B operand is contiguous along k_out.
#include "conv2d_nhwc.h"
#include "conv_nhwc_mma.h"
#include "conv_nhwc_problems.h"
#include "implicit_gemm.cuh"
#include "launch.cuh"
#include "tensor_cores.h"
#include "../../core/error.h"
#include "../../core/tensor.h"

namespace ganops::cuda {

namespace {

template <class Problem>
constexpr bool has_chunk_cursors = requires { typename Problem::ACursor; typename Problem::BCursor; };

// A tensor-core mode: the cp.async pipeline where the problem has chunk cursors and its
// channels allow them, the register-staged loop otherwise.
template <mma::Mode Md, class Problem>
void run_on_tensor_cores(const Problem& p, bool chunks_ok) {
    if constexpr (has_chunk_cursors<Problem>) {
        if (chunks_ok) {
            mma::run_async<Md>(p);
            return;
        }
    }
    mma::run<Md>(p);
}

// Every NHWC pass goes through here: the precision picks the loop, the layout the loader.
template <class Problem>
void run_gemm_nhwc(const Problem& p, bool chunks_ok) {
    switch (effective_matmul_precision()) {
        case Precision::FP32: gemm::run(p); break;
        case Precision::TF32: run_on_tensor_cores<mma::Mode::TF32>(p, chunks_ok); break;
        case Precision::BF16: run_on_tensor_cores<mma::Mode::BF16>(p, chunks_ok); break;
        case Precision::FP32Accurate: run_on_tensor_cores<mma::Mode::TF32x3>(p, chunks_ok); break;
    }
}

// The index arithmetic is 32-bit (conv_problems.h): refuse what does not fit, by name.
void check_size(const char* op, const ConvGeometry& g) {
    if (!conv::fits_32bit(g))
        fail(op, ": tensors of ", g.batch, "x", g.in_h, "x", g.in_w, "x", g.in_channels, " -> ", g.batch, "x", g.out_h, "x",
             g.out_w, "x", g.out_channels, " (NHWC) have more than 2^30 elements, beyond the CUDA kernels' 32-bit "
             "indexing; split the batch");
}

// w_crsk[c][r][s][k] = w_krsc[k][r][s][c]; i runs over w_crsk (coalesced stores, 32-bit
// indices: the weights fit in 2^30 elements, checked above).
__global__ void krsc_to_crsk_kernel(const float* w_krsc, float* w_crsk, int k_out, int rs, int c, int total) {
    for (int i = int(blockIdx.x * blockDim.x + threadIdx.x); i < total; i += int(gridDim.x * blockDim.x)) {
        const int k = i % k_out, t = i / k_out, tap = t % rs, ci = t / rs;
        w_crsk[i] = w_krsc[(k * rs + tap) * c + ci];
    }
}

}  // namespace

void conv2d_forward_nhwc(const ConvGeometry& g, const float* x, const float* w_krsc, const float* bias, float* y) {
    check_size("conv2d NHWC (CUDA)", g);
    const conv::Dims d(g);
    run_gemm_nhwc(conv::nhwc::ForwardNhwc(d, x, w_krsc, bias, y), conv::nhwc::ForwardNhwc::chunks_ok(d));
}

void conv2d_backward_input_nhwc(const ConvGeometry& g, const float* dy, const float* w_krsc, float* dx) {
    check_size("conv2d NHWC backward input (CUDA)", g);
    const conv::Dims d(g);
    const int total = d.k * d.r * d.s * d.c;
    Tensor w_crsk = Tensor::empty(Shape{int64_t(total)}, DType::F32, Device::CUDA);
    if (total > 0)
        GANOPS_LAUNCH(krsc_to_crsk_kernel, grid_for(total), kThreads, 0, current_stream())(w_krsc, w_crsk.data<float>(), d.k,
                                                                                          d.r * d.s, d.c, total);
    const bool chunks = conv::nhwc::BackwardInputPhaseNhwc::chunks_ok(d);
    conv::nhwc::for_each_backward_input_problem(d, dy, w_crsk.data<float>(), dx,
                                                [&](const auto& problem) { run_gemm_nhwc(problem, chunks); });
}

void conv2d_backward_weight_nhwc(const ConvGeometry& g, const float* dy, const float* x, float* dw_krsc) {
    check_size("conv2d NHWC backward weight (CUDA)", g);
    const conv::Dims d(g);
    run_gemm_nhwc(conv::nhwc::BackwardWeightNhwc(d, dy, x, dw_krsc), conv::nhwc::BackwardWeightNhwc::chunks_ok(d));
}

}  // namespace ganops::cuda
