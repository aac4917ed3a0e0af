// The three convolution passes as implicit-GEMM problems (see implicit_gemm.cuh): how each
// reads its A and B operands from NCHW tensors and where C goes. Host-and-device code, so
// that a plain CPU loop over the same functors can check the index arithmetic against the
// reference on machines without a GPU (tests/test_conv_problems.cpp).
#pragma once
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

// Sizes as 64-bit integers for the device, derived once on the host.
struct Dims {
    int64_t n, c, h, w, k, p, q, r, s;
    int64_t sh, sw, ph, pw, dh, dw;
    explicit Dims(const ConvGeometry& g)
        : n(g.batch), c(g.in_channels), h(g.in_h), w(g.in_w), k(g.out_channels), p(g.out_h), q(g.out_w),
          r(g.kernel_h), s(g.kernel_w), sh(g.opt.stride_h), sw(g.opt.stride_w), ph(g.opt.pad_h), pw(g.opt.pad_w),
          dh(g.opt.dilation_h), dw(g.opt.dilation_w) {}
};

// x[nb, c, h, w] at the input pixel that output pixel pq sees through kernel tap rs, or
// zero in the padding. Read by forward (as A) and by grad-weight (as A, other roles).
GANOPS_HD float gather_input(const Dims& d, const float* x, int64_t nb, int64_t c, int64_t pq, int64_t rs) {
    const int64_t hi = (pq / d.q) * d.sh - d.ph + (rs / d.s) * d.dh;
    const int64_t wi = (pq % d.q) * d.sw - d.pw + (rs % d.s) * d.dw;
    if (hi < 0 || hi >= d.h || wi < 0 || wi >= d.w) return 0.0f;
    return x[((nb * d.c + c) * d.h + hi) * d.w + wi];
}

struct Forward {
    Dims d;
    const float *x, *w, *bias;
    float* y;
    int64_t M, N, K;
    GANOPS_HD float a(int64_t m, int64_t kk) const {
        return gather_input(d, x, m / (d.p * d.q), kk / (d.r * d.s), m % (d.p * d.q), kk % (d.r * d.s));
    }
    GANOPS_HD float b(int64_t kk, int64_t n) const { return w[n * K + kk]; }
    GANOPS_HD void store(int64_t m, int64_t n, float v) const {
        const int64_t pq = m % (d.p * d.q), nb = m / (d.p * d.q);
        y[(nb * d.k + n) * d.p * d.q + pq] = bias ? add_rn(v, bias[n]) : v;
    }
};

struct BackwardInput {
    Dims d;
    const float *dy, *w;
    float* dx;
    int64_t M, N, K;
    GANOPS_HD float a(int64_t m, int64_t kk) const {
        const int64_t hw = m % (d.h * d.w), nb = m / (d.h * d.w);
        const int64_t rs = kk % (d.r * d.s), ko = kk / (d.r * d.s);
        // Output row p reads input row h = p*stride - pad + r*dilation: invert it.
        const int64_t p_num = hw / d.w + d.ph - (rs / d.s) * d.dh;
        const int64_t q_num = hw % d.w + d.pw - (rs % d.s) * d.dw;
        if (p_num < 0 || q_num < 0 || p_num % d.sh || q_num % d.sw) return 0.0f;
        const int64_t po = p_num / d.sh, qo = q_num / d.sw;
        if (po >= d.p || qo >= d.q) return 0.0f;
        return dy[((nb * d.k + ko) * d.p + po) * d.q + qo];
    }
    GANOPS_HD float b(int64_t kk, int64_t n) const {
        const int64_t rs = kk % (d.r * d.s), ko = kk / (d.r * d.s);
        return w[(ko * d.c + n) * d.r * d.s + rs];
    }
    GANOPS_HD void store(int64_t m, int64_t n, float v) const {
        const int64_t hw = m % (d.h * d.w), nb = m / (d.h * d.w);
        dx[(nb * d.c + n) * d.h * d.w + hw] = v;
    }
};

struct BackwardWeight {
    Dims d;
    const float *dy, *x;
    float* dw;
    int64_t M, N, K;
    GANOPS_HD float a(int64_t m, int64_t kk) const {
        return gather_input(d, x, kk / (d.p * d.q), m / (d.r * d.s), kk % (d.p * d.q), m % (d.r * d.s));
    }
    GANOPS_HD float b(int64_t kk, int64_t n) const {
        const int64_t pq = kk % (d.p * d.q), nb = kk / (d.p * d.q);
        return dy[(nb * d.k + n) * d.p * d.q + pq];
    }
    GANOPS_HD void store(int64_t m, int64_t n, float v) const { dw[n * M + m] = v; }
};

}  // namespace ganops::cuda::conv
