// The thin paths of conv_nhwc_thin.h as implicit-GEMM problems.
//
// PixelProductKrsc: grad-input of a
// whole-window convolution (output 1x1, no padding, no dilation, R = H, S = W), which is every
// 1x1-input transposed convolution's forward (the DCGAN generator's first layer). Input
// pixel (h, w) meets the output pixel through tap (h, w) alone, so
//   dx[n][m] = sum over k of w_krsc[k][m] * dy[n][k],   m = (h, w, c) = (r, s, c)
// M = H*W*C, N = batch, K = K_out. A(m, k) = w_krsc[k * M + m] is the weight itself,
// contiguous along m: the register-staged loop's M-fast loader reads 32 consecutive m per
// warp, whole sectors whatever K_out is (the CRSK transpose of the general pixel product
// leaves rows of K_out floats, 400 bytes for K_out = 100, whose 16-byte chunks straddle
// sectors on every other row). B(k, n) = dy[n][k], contiguous along k; C = dx[n][m],
// contiguous along m. No index is split: nothing to divide.
#pragma once
#include <cstdint>

#include "conv_nhwc_problems.h"  // BackwardWeightNhwc
#include "conv_problems.h"       // Dims
#include "implicit_gemm_mma.cuh"

namespace ganops::cuda::conv::nhwc {

struct PixelProductKrsc {
    const float *dy, *w_krsc;
    float* dx;
    int64_t M, N, K;
    PixelProductKrsc(const Dims& d, const float* dy_, const float* w_krsc_, float* dx_)
        : dy(dy_), w_krsc(w_krsc_), dx(dx_), M(int64_t(d.h) * d.w * d.c), N(d.n), K(d.k) {}

    GANOPS_HD float a(int64_t m, int64_t k) const { return w_krsc[int(k) * int(M) + int(m)]; }
    GANOPS_HD float b(int64_t k, int64_t n) const { return dy[int(n) * int(K) + int(k)]; }
    GANOPS_HD void store(int64_t m, int64_t n, float v) const { dx[int(n) * int(M) + int(m)] = v; }
};

// PaddedChannels grad-weight: BackwardWeightNhwc on the padded image (dims: C rounded up to 4,
// the zero border written out), which gives dw for C_padded channels; its store keeps the real
// ones, writing dw[k][r][s][c] for c < c_real straight into the caller's KRSC tensor (no
// scratch, no cropping pass). Split-K's reduction stores through the same function.
struct BackwardWeightPaddedNhwc : BackwardWeightNhwc {
    int c_real;
    float* dw_real;
    BackwardWeightPaddedNhwc(const Dims& padded, const float* dy_, const float* x_padded, float* dw_real_, int c_real_)
        : BackwardWeightNhwc(padded, dy_, x_padded, nullptr), c_real(c_real_), dw_real(dw_real_) {}

    GANOPS_HD void store(int64_t m, int64_t n, float v) const {
        int rs, c;
        c_div.divmod(int(m), rs, c);  // m = (r, s, c) over the padded channels
        if (c < c_real) dw_real[(int(n) * d.r * d.s + rs) * c_real + c] = v;
    }
};

}  // namespace ganops::cuda::conv::nhwc

namespace ganops::cuda::mma {

// As BackwardWeightNhwc: x contiguous along m (c), dy along n (k_out).
template <>
struct OperandOrder<conv::nhwc::BackwardWeightPaddedNhwc> {
    static constexpr bool a_k_fast = false;
    static constexpr bool b_k_fast = false;
};

// A (the weight) is contiguous along m, B (dy) along k.
template <>
struct OperandOrder<conv::nhwc::PixelProductKrsc> {
    static constexpr bool a_k_fast = false;
    static constexpr bool b_k_fast = true;
};

}  // namespace ganops::cuda::mma
