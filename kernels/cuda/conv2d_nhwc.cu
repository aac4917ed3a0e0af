// Channels-last convolution (conv2d_nhwc.h): the problems of conv_nhwc_problems.h on the
// GEMM loops, by precision (core/precision.h):
//   fp32                 the SIMT loop (implicit_gemm.cuh) over the element functors;
//   tf32, bf16, accurate the tensor-core loop (implicit_gemm_mma.cuh): the cp.async pipeline
//                        when the k-contiguous channels come in multiples of 4 (forward: C;
//                        grad-input: K_out), else the register-staged loop over the functors
//                        (the DCGAN's first discriminator layer, C = 3). Grad-weight always
//                        runs register-staged: its operands are contiguous along m and n,
//                        not k (conv_nhwc_problems.h), and its loads coalesce that way.
// Grad-input first transposes the weights KRSC -> CRSK (one small kernel into a scratch
// tensor) so that its B operand is contiguous along k_out.
#include <type_traits>

#include "conv2d_nhwc.h"
#include "conv_nhwc_fusion.h"
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
    run_gemm_nhwc(conv::nhwc::BackwardWeightNhwc(d, dy, x, dw_krsc), false);
}

// ---- fused with a batchnorm + activation (conv2d_nhwc.h, conv_nhwc_fusion.h) ----------------

namespace {

// The statistics come from the epilogue where the tensor-core loop runs the problem unsplit
// (a split-K tile holds partial sums, and the SIMT loop has no epilogue hook); else from one
// pass over the output, in the same TileMoments format.
template <class Problem>
bool epilogue_gathers(const Problem& p) {
    return effective_matmul_precision() != Precision::FP32 && mma::mma_plan(p.M, p.N, p.K).splits <= 1;
}
// The problem's groups of rows: one per warp tile row of its plan's tile.
template <class Problem>
int64_t epilogue_groups(const Problem& p) {
    const mma::TileShape s = mma::tile_shape(mma::mma_plan(p.M, p.N, p.K).tile);
    return mma::ceil_div(p.M, s.bm / s.warps_m);
}

// The batchnorm's statistics from an output in memory (rows x channels).
void run_with_output_moments_of_memory(const float* out, int64_t rows, int64_t channels, const BatchnormOfOutput& bn) {
    const int64_t groups = batchnorm_nhwc_row_groups(rows);
    Tensor moments = Tensor::empty(Shape{groups * channels * 3}, DType::F32, Device::CUDA);
    auto* m = reinterpret_cast<TileMoments*>(moments.data<float>());
    batchnorm_nhwc_moments_from_rows(out, rows, channels, m);
    batchnorm_nhwc_finish(m, groups, channels, bn);
}

// Runs `problem` and, if bn, the batchnorm's statistics of its output (rows x channels at out).
template <class Problem>
void run_with_output_moments(const Problem& problem, bool chunks_ok, const BatchnormOfOutput* bn, const float* out,
                             int64_t rows, int64_t channels) {
    if (!bn) {
        run_gemm_nhwc(problem, chunks_ok);
        return;
    }
    if (epilogue_gathers(problem)) {
        const int64_t groups = epilogue_groups(problem);
        Tensor moments = Tensor::empty(Shape{groups * channels * 3}, DType::F32, Device::CUDA);
        auto* m = reinterpret_cast<TileMoments*>(moments.data<float>());
        run_gemm_nhwc(conv::nhwc::WithMoments<Problem>(problem, m), chunks_ok);
        batchnorm_nhwc_finish(m, groups, channels, *bn);
        return;
    }
    run_gemm_nhwc(problem, chunks_ok);
    run_with_output_moments_of_memory(out, rows, channels, *bn);
}

// The grad-input problems with the prologue where asked (the phase problems; the one-pixel
// product's activation operand would be B, which no DCGAN layer normalises).
template <class Run>
void for_each_backward_input_problem_fused(const conv::Dims& d, const float* dy, const NormAct* na, const float* w_crsk,
                                           float* dx, Run&& run) {
    conv::nhwc::for_each_backward_input_problem(d, dy, w_crsk, dx, [&](const auto& problem) {
        using P = std::decay_t<decltype(problem)>;
        if constexpr (std::is_same_v<P, conv::nhwc::BackwardInputPhaseNhwc>) {
            if (na) {
                run(conv::nhwc::BackwardInputPhaseNhwcNormAct(problem, *na));
                return;
            }
        }
        run(problem);
    });
}

}  // namespace

bool conv2d_forward_nhwc_moments_fused(const ConvGeometry& g) {
    const conv::Dims d(g);
    return epilogue_gathers(conv::nhwc::ForwardNhwc(d, nullptr, nullptr, nullptr, nullptr));
}

bool conv2d_backward_input_nhwc_moments_fused(const ConvGeometry& g) {
    const conv::Dims d(g);
    if (d.p == 1 && d.q == 1) return false;  // the one-pixel product's rows are not pixels
    bool all = true;
    conv::nhwc::for_each_backward_input_problem(d, nullptr, nullptr, nullptr,
                                                [&](const auto& problem) { all = all && epilogue_gathers(problem); });
    return all;
}

void conv2d_forward_nhwc_fused(const ConvGeometry& g, const float* x, const NormAct* x_norm_act, const float* w_krsc,
                               const float* bias, float* y, const BatchnormOfOutput* bn_of_y) {
    check_size("conv2d NHWC fused (CUDA)", g);
    const conv::Dims d(g);
    const conv::nhwc::ForwardNhwc base(d, x, w_krsc, bias, y);
    const bool chunks = conv::nhwc::ForwardNhwc::chunks_ok(d);
    const int64_t rows = base.M;
    if (x_norm_act)
        run_with_output_moments(conv::nhwc::ForwardNhwcNormAct(base, *x_norm_act), chunks, bn_of_y, y, rows, d.k);
    else
        run_with_output_moments(base, chunks, bn_of_y, y, rows, d.k);
}

void conv2d_backward_input_nhwc_fused(const ConvGeometry& g, const float* dy, const NormAct* dy_norm_act, const float* w_krsc,
                                      float* dx, const BatchnormOfOutput* bn_of_dx) {
    check_size("conv2d NHWC backward input fused (CUDA)", g);
    const conv::Dims d(g);
    if (dy_norm_act && d.p == 1 && d.q == 1)
        fail("conv2d NHWC backward input fused (CUDA): normalise-on-load of a one-pixel dy (", g.batch, "x1x1x", g.out_channels,
             ") is not supported; apply the batchnorm first");
    const int total = d.k * d.r * d.s * d.c;
    Tensor w_crsk = Tensor::empty(Shape{int64_t(total)}, DType::F32, Device::CUDA);
    if (total > 0)
        GANOPS_LAUNCH(krsc_to_crsk_kernel, grid_for(total), kThreads, 0, current_stream())(w_krsc, w_crsk.data<float>(), d.k,
                                                                                          d.r * d.s, d.c, total);
    const bool chunks = conv::nhwc::BackwardInputPhaseNhwc::chunks_ok(d);
    const int64_t rows = int64_t(d.n) * d.h * d.w;
    if (!bn_of_dx || !conv2d_backward_input_nhwc_moments_fused(g)) {
        for_each_backward_input_problem_fused(d, dy, dy_norm_act, w_crsk.data<float>(), dx,
                                              [&](const auto& problem) { run_gemm_nhwc(problem, chunks); });
        if (bn_of_dx) run_with_output_moments_of_memory(dx, rows, d.c, *bn_of_dx);
        return;
    }
    // Every phase gathers its own groups, one after another in one buffer.
    int64_t groups = 0;
    for_each_backward_input_problem_fused(d, dy, dy_norm_act, w_crsk.data<float>(), dx,
                                          [&](const auto& problem) { groups += problem.M > 0 ? epilogue_groups(problem) : 0; });
    Tensor moments = Tensor::empty(Shape{groups * d.c * 3}, DType::F32, Device::CUDA);
    auto* m = reinterpret_cast<TileMoments*>(moments.data<float>());
    int64_t offset = 0;
    for_each_backward_input_problem_fused(d, dy, dy_norm_act, w_crsk.data<float>(), dx, [&](const auto& problem) {
        if (problem.M == 0) return;
        using P = std::decay_t<decltype(problem)>;
        run_gemm_nhwc(conv::nhwc::WithMoments<P>(problem, m + offset * d.c), chunks);
        offset += epilogue_groups(problem);
    });
    batchnorm_nhwc_finish(m, groups, d.c, *bn_of_dx);
}

void conv2d_backward_weight_nhwc_fused(const ConvGeometry& g, const float* dy, const NormAct* dy_norm_act, const float* x,
                                       const NormAct* x_norm_act, float* dw_krsc) {
    check_size("conv2d NHWC backward weight fused (CUDA)", g);
    const conv::Dims d(g);
    const conv::nhwc::BackwardWeightNhwc base(d, dy, x, dw_krsc);
    if (!dy_norm_act && !x_norm_act)
        run_gemm_nhwc(base, false);
    else
        run_gemm_nhwc(conv::nhwc::BackwardWeightNhwcNormAct(base, x_norm_act, dy_norm_act), false);
}

}  // namespace ganops::cuda
