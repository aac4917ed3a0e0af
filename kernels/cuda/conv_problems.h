// The three convolution passes as implicit-GEMM problems (see implicit_gemm.cuh): how each
// reads its A and B operands from NCHW tensors and where C goes. Host-and-device code, so
// that a plain CPU loop over the same functors can check the index arithmetic against the
// reference on machines without a GPU (tests/test_conv_problems.cpp).
#pragma once
#include <algorithm>
#include <cstdint>

#include "../../core/philox.h"  // GANOPS_HD
#include "../conv_geometry.h"

namespace ganops::cuda::conv {

// v + bias, rounded once on both sides (the device would otherwise be free to fuse).
GANOPS_HD float add_rn(float a, float b) {
#ifdef __CUDA_ARCH__
    return __fadd_rn(a, b);
#else
    return a + b;
#endif
}

// Sizes as 32-bit integers: every division and remainder below runs per operand element
// in the GEMM's main loop, and a 64-bit one is a ~70-instruction subroutine call on the GPU
// (the SASS report flags it). Addresses are formed in 64 bits from the 32-bit parts. The
// host checks that every GEMM dimension and tensor fits (fits_32bit).
struct Dims {
    int n, c, h, w, k, p, q, r, s;
    int sh, sw, ph, pw, dh, dw;
    explicit Dims(const ConvGeometry& g)
        : n(int(g.batch)), c(int(g.in_channels)), h(int(g.in_h)), w(int(g.in_w)), k(int(g.out_channels)),
          p(int(g.out_h)), q(int(g.out_w)), r(int(g.kernel_h)), s(int(g.kernel_w)), sh(int(g.opt.stride_h)),
          sw(int(g.opt.stride_w)), ph(int(g.opt.pad_h)), pw(int(g.opt.pad_w)), dh(int(g.opt.dilation_h)),
          dw(int(g.opt.dilation_w)) {}
};

// Whether every index these problems form fits in 32 bits: the GEMM dimensions and the
// element counts of x, y and w (with room for the padding arithmetic).
inline bool fits_32bit(const ConvGeometry& g) {
    const int64_t limit = int64_t{1} << 30;
    const int64_t x = g.batch * g.in_channels * g.in_h * g.in_w, y = g.batch * g.out_channels * g.out_h * g.out_w;
    const int64_t w = g.out_channels * g.in_channels * g.kernel_h * g.kernel_w;
    const int64_t pad = std::max<int64_t>(g.opt.pad_h, g.opt.pad_w) + std::max<int64_t>(g.kernel_h * g.opt.dilation_h, g.kernel_w * g.opt.dilation_w);
    return x < limit && y < limit && w < limit && pad < limit && g.opt.stride_h < limit && g.opt.stride_w < limit;
}

// x[nb, c, h, w] at the input pixel that output pixel pq sees through kernel tap rs, or
// zero in the padding. Read by forward (as A) and by grad-weight (as A, other roles).
GANOPS_HD float gather_input(const Dims& d, const float* x, int nb, int c, int pq, int rs) {
    const int hi = (pq / d.q) * d.sh - d.ph + (rs / d.s) * d.dh;
    const int wi = (pq % d.q) * d.sw - d.pw + (rs % d.s) * d.dw;
    if (hi < 0 || hi >= d.h || wi < 0 || wi >= d.w) return 0.0f;
    return x[((int64_t(nb) * d.c + c) * d.h + hi) * d.w + wi];
}

struct Forward {
    Dims d;
    const float *x, *w, *bias;
    float* y;
    int64_t M, N, K;
    GANOPS_HD float a(int64_t m64, int64_t kk64) const {
        const int m = int(m64), kk = int(kk64), pq_count = d.p * d.q, rs_count = d.r * d.s;
        return gather_input(d, x, m / pq_count, kk / rs_count, m % pq_count, kk % rs_count);
    }
    GANOPS_HD float b(int64_t kk, int64_t n) const { return w[n * K + kk]; }
    GANOPS_HD void store(int64_t m64, int64_t n, float v) const {
        const int m = int(m64), pq_count = d.p * d.q, pq = m % pq_count, nb = m / pq_count;
        y[(int64_t(nb) * d.k + n) * pq_count + pq] = bias ? add_rn(v, bias[n]) : v;
    }
};

struct BackwardInput {
    Dims d;
    const float *dy, *w;
    float* dx;
    int64_t M, N, K;
    GANOPS_HD float a(int64_t m64, int64_t kk64) const {
        const int m = int(m64), kk = int(kk64), hw_count = d.h * d.w, rs_count = d.r * d.s;
        const int hw = m % hw_count, nb = m / hw_count;
        const int rs = kk % rs_count, ko = kk / rs_count;
        // Output row p reads input row h = p*stride - pad + r*dilation: invert it.
        const int p_num = hw / d.w + d.ph - (rs / d.s) * d.dh;
        const int q_num = hw % d.w + d.pw - (rs % d.s) * d.dw;
        if (p_num < 0 || q_num < 0 || p_num % d.sh || q_num % d.sw) return 0.0f;
        const int po = p_num / d.sh, qo = q_num / d.sw;
        if (po >= d.p || qo >= d.q) return 0.0f;
        return dy[((int64_t(nb) * d.k + ko) * d.p + po) * d.q + qo];
    }
    GANOPS_HD float b(int64_t kk64, int64_t n) const {
        const int kk = int(kk64), rs_count = d.r * d.s, rs = kk % rs_count, ko = kk / rs_count;
        return w[(int64_t(ko) * d.c + n) * rs_count + rs];
    }
    GANOPS_HD void store(int64_t m64, int64_t n, float v) const {
        const int m = int(m64), hw_count = d.h * d.w, hw = m % hw_count, nb = m / hw_count;
        dx[(int64_t(nb) * d.c + n) * hw_count + hw] = v;
    }
};

struct BackwardWeight {
    Dims d;
    const float *dy, *x;
    float* dw;
    int64_t M, N, K;
    GANOPS_HD float a(int64_t m64, int64_t kk64) const {
        const int m = int(m64), kk = int(kk64), pq_count = d.p * d.q, rs_count = d.r * d.s;
        return gather_input(d, x, kk / pq_count, m / rs_count, kk % pq_count, m % rs_count);
    }
    GANOPS_HD float b(int64_t kk64, int64_t n) const {
        const int kk = int(kk64), pq_count = d.p * d.q, pq = kk % pq_count, nb = kk / pq_count;
        return dy[(int64_t(nb) * d.k + n) * pq_count + pq];
    }
    GANOPS_HD void store(int64_t m, int64_t n, float v) const { dw[n * M + m] = v; }
};

}  // namespace ganops::cuda::conv
