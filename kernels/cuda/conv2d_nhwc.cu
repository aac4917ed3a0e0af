// Channels-last convolution (conv2d_nhwc.h): the problems of conv_nhwc_problems.h on the
// GEMM loops, by precision (core/precision.h):
//   fp32                 the SIMT loop (implicit_gemm.cuh) over the element functors;
//   tf32, bf16, accurate the tensor-core loop (implicit_gemm_mma.cuh): the cp.async pipeline
//                        when the k-contiguous channels come in multiples of 4 (forward: C;
//                        grad-input: K_out), else the register-staged loop over the functors
//                        (a forward's C that is not a multiple of 4 is padded first: see
//                        below). Grad-weight's operands are contiguous along m and n, not k:
//                        its cp.async chunks run along m and n (C and K_out multiples of 4,
//                        the 3-channel image padded to 4), into k-major tiles.
// Grad-input first transposes the weights KRSC -> CRSK (one small kernel into a scratch
// tensor) so that its B operand is contiguous along k_out.
// Thin geometries (a whole-window output with few channels, a 1x1-input transposed layer, a
// 3-channel image on the tensor cores) take the paths of conv_nhwc_thin.h, chosen by its
// nhwc_path().
#include <type_traits>
#include <vector>

#include "conv2d_nhwc.h"
#include "conv_nhwc_fusion.h"
#include "conv_nhwc_mma.h"
#include "conv_nhwc_narrow.h"
#include "conv_nhwc_problems.h"
#include "conv_nhwc_thin.h"
#include "conv_nhwc_thin_problems.h"
#include "implicit_gemm.cuh"
#include "launch.cuh"
#include "ptx.cuh"
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

// A batch of same-type problems (the grad-input's stride phases): one launch per
// mma::kMmaMaxBatch of them on the tensor cores (mma::run_batch), one each on the SIMT loop.
template <mma::Mode Md, class Problem>
void run_batch_on_tensor_cores(const std::vector<Problem>& ps, bool chunks_ok) {
    if constexpr (has_chunk_cursors<Problem>) {
        if (chunks_ok) {
            mma::run_batch<Md, true>(ps.data(), int(ps.size()));
            return;
        }
    }
    mma::run_batch<Md, false>(ps.data(), int(ps.size()));
}

template <class Problem>
void run_gemm_nhwc_batch(const std::vector<Problem>& ps, bool chunks_ok) {
    switch (effective_matmul_precision()) {
        case Precision::FP32:
            for (const Problem& p : ps) gemm::run(p);
            break;
        case Precision::TF32: run_batch_on_tensor_cores<mma::Mode::TF32>(ps, chunks_ok); break;
        case Precision::BF16: run_batch_on_tensor_cores<mma::Mode::BF16>(ps, chunks_ok); break;
        case Precision::FP32Accurate: run_batch_on_tensor_cores<mma::Mode::TF32x3>(ps, chunks_ok); break;
    }
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
// indices: the weights fit in 2^30 elements, checked above). tf32: each value rounded with
// cvt.rna as the TF32 loop would round it (the copy is grad-input's private B operand, so the
// loop can skip its rounding pass: same bits, mma_plan.h's OperandsTf32).
__global__ void krsc_to_crsk_kernel(const float* w_krsc, float* w_crsk, int k_out, int rs, int c, int total, bool tf32) {
    for (int i = int(blockIdx.x * blockDim.x + threadIdx.x); i < total; i += int(gridDim.x * blockDim.x)) {
        const int k = i % k_out, t = i / k_out, tap = t % rs, ci = t / rs;
        const float v = w_krsc[(k * rs + tap) * c + ci];
        w_crsk[i] = tf32 ? __uint_as_float(ptx::cvt_rna_tf32(v)) : v;
    }
}

// Grad-input's weights as CRSK, rounded to TF32 values in the TF32 mode (see above).
Tensor crsk_weights(const conv::Dims& d, const float* w_krsc) {
    const int total = d.k * d.r * d.s * d.c;
    Tensor w_crsk = Tensor::empty(Shape{int64_t(total)}, DType::F32, Device::CUDA);
    const bool tf32 = effective_matmul_precision() == Precision::TF32;
    if (total > 0)
        GANOPS_LAUNCH(krsc_to_crsk_kernel, grid_for(total), kThreads, 0, current_stream())(w_krsc, w_crsk.data<float>(), d.k,
                                                                                          d.r * d.s, d.c, total, tf32);
    return w_crsk;
}

// A grad-input problem over crsk_weights(): the phases' B is the weights, TF32 values in the
// TF32 mode (the flag is read by that mode only).
template <class Problem>
Problem with_crsk_weights(Problem p) {
    if constexpr (std::is_same_v<Problem, conv::nhwc::BackwardInputPhaseNhwc>)
        p.operands_tf32.b = effective_matmul_precision() == Precision::TF32;
    return p;
}

bool on_tensor_cores() { return effective_matmul_precision() != Precision::FP32; }

// The operand flags a problem gets from its activations' (conv2d_nhwc.h's ActivationsTf32):
// the TF32 mode only (BF16 converts at the fragment, fp32-accurate splits each value).
bool tf32_mode() { return effective_matmul_precision() == Precision::TF32; }

// PaddedChannels (conv_nhwc_thin.h): the geometry of the padded image, C rounded up to 4 and
// the zero padding written out (so the problems see no padding).
conv::Dims padded_dims(const char* op, const conv::Dims& d) {
    conv::Dims p = d;
    p.c = (d.c + 3) / 4 * 4;
    p.h = d.h + 2 * d.ph;
    p.w = d.w + 2 * d.pw;
    p.ph = p.pw = 0;
    if (int64_t(p.n) * p.h * p.w * p.c >= (int64_t{1} << 30))
        fail(op, ": the ", d.c, "-channel input padded to ", p.n, "x", p.h, "x", p.w, "x", p.c,
             " (NHWC) has 2^30 elements or more, beyond the CUDA kernels' 32-bit indexing; split the batch");
    return p;
}

// A scratch copy of src[n][h][w][c] with channels padded to c_padded and a zero border.
Tensor padded_copy(const float* src, int n, int h, int w, int c, int c_padded, int pad_h, int pad_w) {
    Tensor t = Tensor::empty(Shape{int64_t(n) * (h + 2 * pad_h) * (w + 2 * pad_w) * c_padded}, DType::F32, Device::CUDA);
    thin::pad_channels(src, t.data<float>(), n, h, w, c, c_padded, pad_h, pad_w);
    return t;
}

using conv::nhwc::NhwcPass;
using conv::nhwc::NhwcPath;

}  // namespace

ActivationsTf32 conv2d_nhwc_rounds_to_tf32(const ConvGeometry& g) {
    if (!tf32_mode() || !conv::fits_32bit(g)) return {};
    const conv::Dims d(g);
    // A pass rounds its operands unless it takes a SIMT path (Gemv, Narrow); every other path
    // runs the tensor-core loops, which round (or read a padded copy of the same values).
    auto rounds = [&](NhwcPass pass) {
        const NhwcPath path = conv::nhwc::nhwc_path(pass, d, true);
        return path != NhwcPath::Gemv && path != NhwcPath::Narrow;
    };
    const bool weight = rounds(NhwcPass::BackwardWeight);
    return {rounds(NhwcPass::Forward) && weight, rounds(NhwcPass::BackwardInput) && weight};
}

void conv2d_forward_nhwc(const ConvGeometry& g, const float* x, const float* w_krsc, const float* bias, float* y,
                         ActivationsTf32 tf32) {
    check_size("conv2d NHWC (CUDA)", g);
    const conv::Dims d(g);
    switch (conv::nhwc::nhwc_path(NhwcPass::Forward, d, on_tensor_cores())) {
        case NhwcPath::Gemv: thin::gemv_forward(d, x, w_krsc, bias, y); return;
        case NhwcPath::PaddedChannels: {
            const conv::Dims p = padded_dims("conv2d NHWC (CUDA)", d);
            const Tensor xp = padded_copy(x, d.n, d.h, d.w, d.c, p.c, d.ph, d.pw);
            const Tensor wp = padded_copy(w_krsc, d.k, d.r, d.s, d.c, p.c, 0, 0);
            run_gemm_nhwc(conv::nhwc::ForwardNhwc(p, xp.data<float>(), wp.data<float>(), bias, y), true);
            return;
        }
        default: break;
    }
    conv::nhwc::ForwardNhwc problem(d, x, w_krsc, bias, y);
    problem.operands_tf32.a = tf32.x && tf32_mode();
    run_gemm_nhwc(problem, conv::nhwc::ForwardNhwc::chunks_ok(d));
}

void conv2d_backward_input_nhwc(const ConvGeometry& g, const float* dy, const float* w_krsc, float* dx,
                                ActivationsTf32 tf32) {
    check_size("conv2d NHWC backward input (CUDA)", g);
    const conv::Dims d(g);
    switch (conv::nhwc::nhwc_path(NhwcPass::BackwardInput, d, on_tensor_cores())) {
        case NhwcPath::Gemv: thin::gemv_backward_input(d, dy, w_krsc, dx); return;
        case NhwcPath::PixelProduct: run_gemm_nhwc(conv::nhwc::PixelProductKrsc(d, dy, w_krsc, dx), false); return;
        case NhwcPath::Narrow: narrow::conv2d_backward_input_narrow(d, dy, w_krsc, dx); return;
        default: break;
    }
    const Tensor w_crsk = crsk_weights(d, w_krsc);
    const bool chunks = conv::nhwc::BackwardInputPhaseNhwc::chunks_ok(d);
    // The stride phases together: one launch (and one split-K reduction) for a stride-2 layer.
    std::vector<conv::nhwc::BackwardInputPhaseNhwc> phases;
    conv::nhwc::for_each_backward_input_problem(d, dy, w_crsk.data<float>(), dx, [&](const auto& problem) {
        if constexpr (std::is_same_v<std::decay_t<decltype(problem)>, conv::nhwc::BackwardInputPhaseNhwc>) {
            phases.push_back(with_crsk_weights(problem));
            phases.back().operands_tf32.a = tf32.dy && tf32_mode();  // A is dy
        } else {
            run_gemm_nhwc(problem, chunks);
        }
    });
    run_gemm_nhwc_batch(phases, chunks);
}

void conv2d_backward_weight_nhwc(const ConvGeometry& g, const float* dy, const float* x, float* dw_krsc,
                                 ActivationsTf32 tf32) {
    check_size("conv2d NHWC backward weight (CUDA)", g);
    const conv::Dims d(g);
    switch (conv::nhwc::nhwc_path(NhwcPass::BackwardWeight, d, on_tensor_cores())) {
        case NhwcPath::Gemv: thin::gemv_backward_weight(d, dy, x, dw_krsc); return;
        case NhwcPath::PaddedChannels: {
            const conv::Dims p = padded_dims("conv2d NHWC backward weight (CUDA)", d);
            const Tensor xp = padded_copy(x, d.n, d.h, d.w, d.c, p.c, d.ph, d.pw);
            run_gemm_nhwc(conv::nhwc::BackwardWeightPaddedNhwc(p, dy, xp.data<float>(), dw_krsc, d.c),
                          conv::nhwc::BackwardWeightNhwc::chunks_ok(p));
            return;
        }
        default: break;
    }
    conv::nhwc::BackwardWeightNhwc problem(d, dy, x, dw_krsc);
    problem.operands_tf32 = {tf32.x && tf32_mode(), tf32.dy && tf32_mode()};  // A is x, B is dy
    run_gemm_nhwc(problem, conv::nhwc::BackwardWeightNhwc::chunks_ok(d));
}

// ---- fused with a batchnorm + activation (conv2d_nhwc.h, conv_nhwc_fusion.h) ----------------

namespace {

// The statistics come from the epilogue where the tensor-core loop runs the problem unsplit
// (a split-K tile holds partial sums, and the SIMT loop has no epilogue hook); else from one
// pass over the output, in the same TileMoments format.
// The plan the tensor-core loop will run `p` with: the cp.async pipeline's (run_async) where
// the problem has chunk cursors and its channels allow them, the register-staged loop's else
// (as run_on_tensor_cores decides).
template <class Problem>
mma::MmaPlan tensor_core_plan(const Problem& p, bool chunks_ok) {
    if constexpr (has_chunk_cursors<Problem>)
        if (chunks_ok) return mma::mma_async_plan(p.M, p.N, p.K);
    return mma::mma_plan(p.M, p.N, p.K);
}
template <class Problem>
bool epilogue_gathers(const Problem& p, bool chunks_ok) {
    return effective_matmul_precision() != Precision::FP32 && tensor_core_plan(p, chunks_ok).splits <= 1;
}
// The problem's groups of rows: one per warp tile row of its plan's tile.
template <class Problem>
int64_t epilogue_groups(const Problem& p, bool chunks_ok) {
    const mma::TileShape s = mma::tile_shape(tensor_core_plan(p, chunks_ok).tile);
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
    if (epilogue_gathers(problem, chunks_ok)) {
        const int64_t groups = epilogue_groups(problem, chunks_ok);
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
    conv::nhwc::for_each_backward_input_problem(d, dy, w_crsk, dx, [&](const auto& unflagged) {
        const auto problem = with_crsk_weights(unflagged);
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
    return epilogue_gathers(conv::nhwc::ForwardNhwc(d, nullptr, nullptr, nullptr, nullptr),
                            conv::nhwc::ForwardNhwc::chunks_ok(d));
}

bool conv2d_backward_input_nhwc_moments_fused(const ConvGeometry& g) {
    const conv::Dims d(g);
    if (d.p == 1 && d.q == 1) return false;  // the one-pixel product's rows are not pixels
    if (conv::nhwc::narrow_fits(d)) return false;  // the narrow kernel has no epilogue
    const bool chunks = conv::nhwc::BackwardInputPhaseNhwc::chunks_ok(d);
    bool all = true;
    conv::nhwc::for_each_backward_input_problem(d, nullptr, nullptr, nullptr,
                                                [&](const auto& problem) { all = all && epilogue_gathers(problem, chunks); });
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
    if (conv::nhwc::nhwc_path(NhwcPass::BackwardInput, d, on_tensor_cores()) == NhwcPath::Narrow) {
        // The narrow kernel (conv_nhwc_narrow.h) has no prologue or epilogue: the batchnorm +
        // activation is applied in one pass first, the statistics taken from dx in memory, so
        // that fused and unfused runs make the same products (exact fp32 in every mode).
        Tensor applied;
        if (dy_norm_act) {
            const int64_t dy_rows = int64_t(d.n) * d.p * d.q;
            applied = Tensor::empty(Shape{dy_rows * d.k}, DType::F32, Device::CUDA);
            batchnorm_act_nhwc_apply(dy, dy_rows, d.k, *dy_norm_act, applied.data<float>());
        }
        narrow::conv2d_backward_input_narrow(d, dy_norm_act ? applied.data<float>() : dy, w_krsc, dx);
        if (bn_of_dx) run_with_output_moments_of_memory(dx, int64_t(d.n) * d.h * d.w, d.c, *bn_of_dx);
        return;
    }
    const Tensor w_crsk = crsk_weights(d, w_krsc);
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
                                          [&](const auto& problem) { groups += problem.M > 0 ? epilogue_groups(problem, chunks) : 0; });
    Tensor moments = Tensor::empty(Shape{groups * d.c * 3}, DType::F32, Device::CUDA);
    auto* m = reinterpret_cast<TileMoments*>(moments.data<float>());
    int64_t offset = 0;
    for_each_backward_input_problem_fused(d, dy, dy_norm_act, w_crsk.data<float>(), dx, [&](const auto& problem) {
        if (problem.M == 0) return;
        using P = std::decay_t<decltype(problem)>;
        run_gemm_nhwc(conv::nhwc::WithMoments<P>(problem, m + offset * d.c), chunks);
        offset += epilogue_groups(problem, chunks);
    });
    batchnorm_nhwc_finish(m, groups, d.c, *bn_of_dx);
}

void conv2d_backward_weight_nhwc_fused(const ConvGeometry& g, const float* dy, const NormAct* dy_norm_act, const float* x,
                                       const NormAct* x_norm_act, float* dw_krsc) {
    check_size("conv2d NHWC backward weight fused (CUDA)", g);
    const conv::Dims d(g);
    const conv::nhwc::BackwardWeightNhwc base(d, dy, x, dw_krsc);
    // The prologue is applied by the register-staged loop's functors (grad-weight's cp.async
    // chunks run along m and n, which the chunk prologue does not cover).
    if (!dy_norm_act && !x_norm_act)
        run_gemm_nhwc(base, conv::nhwc::BackwardWeightNhwc::chunks_ok(d));
    else
        run_gemm_nhwc(conv::nhwc::BackwardWeightNhwcNormAct(base, x_norm_act, dy_norm_act), false);
}

}  // namespace ganops::cuda
