// Fusions around the channels-last convolutions (issue 13): the work of a batchnorm that sits
// between two convolutions, moved into the convolutions' own loops, so that neither a moments
// pass over the first conv's output nor a normalised activation in memory is needed.
//
//  - Epilogue (statistics): the conv that feeds a batchnorm writes, besides y, one TileMoments
//    per (group of WM output rows, channel): the count, mean and centred sum of squares of that
//    warp tile's column, computed from the accumulators while they are in registers. A warp
//    holds its WM x WN outputs spread over lanes (lane (g, t) has rows g, g + 8 of columns 2t,
//    2t + 1 of each m16n8 tile): per column it sums its rows, adds across the 8 lanes of equal
//    t (three xor shuffles), divides by the count, then sums (v - mean)^2 the same way. Two
//    passes over values in registers: no sum-of-squares cancellation, whatever the mean (the
//    DCGAN's activations sit far from zero at times). The groups are merged with Chan's
//    formula in double, in a fixed order (batchnorm_nhwc_fused.cu): bit-reproducible.
//    Split-K launches produce partial sums, not outputs: there the moments come from y after
//    the split reduction, by a separate pass of the same format (conv2d_nhwc.cu's
//    moments_or_fallback), as they do for the SIMT (fp32) loop and the one-pixel grad-input.
//  - Prologue (normalise on load): the conv that reads the batchnorm's output reads the
//    pre-normalisation x instead and applies y = act((x - centre[c]) * scale[c] + shift[c])
//    to its operand as it loads it: in shared memory after the cp.async wait (each thread
//    transforms the chunks it issued; the barrier that follows publishes them), in the
//    element functors on the register-staged paths. Padding (zero-filled chunks, the
//    functors' out-of-range taps) stays zero: 0 is the conv's padding of the activation, not
//    of x (act(0 * scale + shift) is not 0).
//
// Problems opt in through traits, checked with `if constexpr` in implicit_gemm_mma.cuh, so
// problems without them compile to the same code as before:
//   kNormActOnChunks   the A chunks of the cp.async path take the prologue:
//                      p.norm_act_chunk(chunk in shared memory, its GEMM k).
//   kMomentsEpilogue   store_accumulators calls p.store_tile_moments<Sh>(acc, ...).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "conv_bn_fusion.h"
#include "conv_nhwc_mma.h"  // OperandOrder of the base problems
#include "conv_nhwc_problems.h"

namespace ganops::cuda::conv::nhwc {

using cuda::NormAct;
using cuda::TileMoments;

// Four consecutive floats, 16-byte aligned, in one load.
__device__ inline float4 load_float4(const float* p) {
#if defined(GANOPS_EMULATED)
    float4 v;
    std::memcpy(&v, p, sizeof v);
    return v;
#else
    return *reinterpret_cast<const float4*>(p);
#endif
}

// The prologue on one 16-byte chunk in shared memory: channels c .. c + 3 (fp32 bits). The
// chunk path has C % 4 == 0, so c is a multiple of 4 and, with NormAct::from_buffer's arrays
// (C floats apart in one allocation), each parameter quad is one aligned 16-byte load.
__device__ inline void apply_norm_act_chunk(const NormAct& na, uint32_t* chunk, int c) {
    const float4 centre = load_float4(na.centre + c), scale = load_float4(na.scale + c), shift = load_float4(na.shift + c);
    const float cs[4] = {centre.x, centre.y, centre.z, centre.w}, ss[4] = {scale.x, scale.y, scale.z, scale.w},
                hs[4] = {shift.x, shift.y, shift.z, shift.w};
GANOPS_UNROLL
    for (int j = 0; j < 4; ++j) {
        const float v = __fmaf_rn(__fsub_rn(__uint_as_float(chunk[j]), cs[j]), ss[j], hs[j]);
        chunk[j] = __float_as_uint(v > 0.0f ? v : __fmul_rn(v, na.negative_slope));
    }
}

// ---- problems with the prologue ----------------------------------------------------------

// Forward whose x is the pre-normalisation activation: A(m, k) = act(bn(x)), 0 at padding.
struct ForwardNhwcNormAct : ForwardNhwc {
    static constexpr bool kNormActOnChunks = true;
    // The prologue's registers on top of the TF32 loop's: one block of 8 warps per SM, as
    // the BF16 loop (two blocks spill on the 128 x 128 tile: sass_report, sm_90 and sm_80).
    static constexpr int kAsyncMinBlocks = 1;
    NormAct norm_act;
    ForwardNhwcNormAct(const ForwardNhwc& base, const NormAct& na) : ForwardNhwc(base), norm_act(na) {}
    GANOPS_HD float a(int64_t m, int64_t kk) const {
        int nb, pq, p, q, rs, c, r, s;
        pq_div.divmod(int(m), nb, pq);
        q_div.divmod(pq, p, q);
        c_div.divmod(int(kk), rs, c);
        s_div.divmod(rs, r, s);
        const int ih = p * d.sh - d.ph + r * d.dh, iw = q * d.sw - d.pw + s * d.dw;
        if (ih < 0 || ih >= d.h || iw < 0 || iw >= d.w) return 0.0f;
        return norm_act.apply(x[((int64_t(nb) * d.h + ih) * d.w + iw) * d.c + c], c);
    }
    __device__ void norm_act_chunk(uint32_t* chunk, int64_t k) const { apply_norm_act_chunk(norm_act, chunk, chunk_channel(k)); }
    GANOPS_HD int chunk_channel(int64_t k) const {
        int rs, c;
        c_div.divmod(int(k), rs, c);
        return c;
    }
};

// A grad-input phase whose dy is the pre-normalisation activation: the transposed
// convolution's forward (the generator) reading act(bn(x)).
struct BackwardInputPhaseNhwcNormAct : BackwardInputPhaseNhwc {
    static constexpr bool kNormActOnChunks = true;
    // The prologue's registers on top of the TF32 loop's: one block of 8 warps per SM, as
    // the BF16 loop (two blocks spill on the 128 x 128 tile: sass_report, sm_90 and sm_80).
    static constexpr int kAsyncMinBlocks = 1;
    NormAct norm_act;
    BackwardInputPhaseNhwcNormAct(const BackwardInputPhaseNhwc& base, const NormAct& na)
        : BackwardInputPhaseNhwc(base), norm_act(na) {}
    GANOPS_HD float a(int64_t m, int64_t kk) const {
        int nb, ij, i, j, t, ko, tr, ts;
        ij_div.divmod(int(m), nb, ij);
        j_div.divmod(ij, i, j);
        ko_div.divmod(int(kk), t, ko);
        ts_div.divmod(t, tr, ts);
        const int po = rows.out0 + i - tr * rows.out_step, qo = cols.out0 + j - ts * cols.out_step;
        if (po < 0 || po >= d.p || qo < 0 || qo >= d.q) return 0.0f;
        return norm_act.apply(dy[((int64_t(nb) * d.p + po) * d.q + qo) * d.k + ko], ko);
    }
    __device__ void norm_act_chunk(uint32_t* chunk, int64_t k) const { apply_norm_act_chunk(norm_act, chunk, chunk_channel(k)); }
    GANOPS_HD int chunk_channel(int64_t k) const {
        int t, ko;
        ko_div.divmod(int(k), t, ko);
        return ko;
    }
};

// Grad-weight of a conv whose input was normalised on load: the activation is x (a conv's
// input, operand A) or dy (a transposed conv's input, operand B); null: that operand as is.
struct BackwardWeightNhwcNormAct : BackwardWeightNhwc {
    NormAct on_x, on_dy;
    bool x_active = false, dy_active = false;
    BackwardWeightNhwcNormAct(const BackwardWeightNhwc& base, const NormAct* x_na, const NormAct* dy_na)
        : BackwardWeightNhwc(base), on_x(x_na ? *x_na : NormAct{}), on_dy(dy_na ? *dy_na : NormAct{}),
          x_active(x_na != nullptr), dy_active(dy_na != nullptr) {}
    GANOPS_HD float a(int64_t m, int64_t kk) const {
        int rs, c, r, s, nb, pq, p, q;
        c_div.divmod(int(m), rs, c);
        s_div.divmod(rs, r, s);
        pq_div.divmod(int(kk), nb, pq);
        q_div.divmod(pq, p, q);
        const int ih = p * d.sh - d.ph + r * d.dh, iw = q * d.sw - d.pw + s * d.dw;
        if (ih < 0 || ih >= d.h || iw < 0 || iw >= d.w) return 0.0f;
        const float v = x[((int64_t(nb) * d.h + ih) * d.w + iw) * d.c + c];
        return x_active ? on_x.apply(v, c) : v;
    }
    GANOPS_HD float b(int64_t kk, int64_t n) const {
        const float v = dy[kk * N + n];
        return dy_active ? on_dy.apply(v, int(n)) : v;
    }
};

// ---- problems with the statistics epilogue ----------------------------------------------

// Any forward or grad-input phase problem (GEMM rows = pixels, columns = channels), writing
// TileMoments for its row groups at `moments` ([group][channel], the problem's own groups).
template <class Base>
struct WithMoments : Base {
    static constexpr bool kMomentsEpilogue = true;
    // The statistics' registers on top of the TF32 loop's: one block of 8 warps per SM (two
    // spill in the main loop on the 128 x 128 tile: sass_report, sm_90 and sm_80).
    static constexpr int kAsyncMinBlocks = 1;
    TileMoments* moments;
    WithMoments(const Base& base, TileMoments* out) : Base(base), moments(out) {}
    // Statistics are of y = acc + bias: a shift moves the mean, not the centred squares.
    GANOPS_HD float output_shift(int64_t n) const {
        if constexpr (std::is_base_of_v<ForwardNhwc, Base>)
            return this->bias ? this->bias[n] : 0.0f;
        else
            return 0.0f;
    }

    // Called by store_accumulators (implicit_gemm_mma.cuh) with the warp's accumulators of the
    // tile at (m0, n0): warp rows [wm0, wm0 + WM) are one group (group = (m0 + wm0) / WM, so a
    // problem has ceil(M / WM) groups). Every lane of the warp takes part (shuffles).
    template <class Sh>
    __device__ void store_tile_moments(const float (&acc)[Sh::MI][Sh::NI][4], int64_t m0, int64_t n0, int wm0, int wn0,
                                       int m_left, int n_left) const {
        const int rows = min(Sh::WM, m_left - wm0);  // rows of this warp tile inside M: warp-uniform
        if (rows <= 0) return;
        const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
        const int64_t group = (m0 + wm0) / Sh::WM;
        const float count = float(rows);
        // Sum over the 8 lanes of one t (rows g = 0..7): xor 4, 8, 16 keep t.
        const auto column_total = [](float v) {
            for (int offset = 4; offset < 32; offset *= 2) v = __fadd_rn(v, __shfl_xor_sync(0xffffffffu, v, offset));
            return v;
        };
GANOPS_UNROLL
        for (int ni = 0; ni < Sh::NI; ++ni)
GANOPS_UNROLL
            for (int j = 0; j < 2; ++j) {
                float sum = 0.0f;
GANOPS_UNROLL
                for (int mi = 0; mi < Sh::MI; ++mi)
GANOPS_UNROLL
                    for (int h = 0; h < 2; ++h)
                        if (mi * 16 + g + 8 * h < rows) sum = __fadd_rn(sum, acc[mi][ni][2 * h + j]);
                const float mean = __fdiv_rn(column_total(sum), count);
                float m2 = 0.0f;
GANOPS_UNROLL
                for (int mi = 0; mi < Sh::MI; ++mi)
GANOPS_UNROLL
                    for (int h = 0; h < 2; ++h)
                        if (mi * 16 + g + 8 * h < rows) {
                            const float d = __fsub_rn(acc[mi][ni][2 * h + j], mean);
                            m2 = __fmaf_rn(d, d, m2);
                        }
                m2 = column_total(m2);
                const int col = wn0 + ni * 8 + 2 * t + j;
                if (g == 0 && col < n_left) {
                    const int64_t n = n0 + col;
                    moments[group * this->N + n] = {count, __fadd_rn(mean, output_shift(n)), m2};
                }
            }
    }
};

}  // namespace ganops::cuda::conv::nhwc

namespace ganops::cuda::mma {

// The fused problems load as their bases do.
template <>
struct OperandOrder<conv::nhwc::ForwardNhwcNormAct> : OperandOrder<conv::nhwc::ForwardNhwc> {};
template <>
struct OperandOrder<conv::nhwc::BackwardInputPhaseNhwcNormAct> : OperandOrder<conv::nhwc::BackwardInputPhaseNhwc> {};
template <>
struct OperandOrder<conv::nhwc::BackwardWeightNhwcNormAct> : OperandOrder<conv::nhwc::BackwardWeightNhwc> {};
template <class Base>
struct OperandOrder<conv::nhwc::WithMoments<Base>> : OperandOrder<Base> {};

}  // namespace ganops::cuda::mma
