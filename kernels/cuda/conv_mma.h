// The convolution problems (conv_problems.h) prepared for the tensor-core loop
// (implicit_gemm_mma.cuh). Same operands, same outputs, indexed without hardware division:
// every split of an index into image coordinates divides by a size fixed for the launch,
// which FastDivmod (fast_divmod.h) does as a multiply-high and a shift. On the tensor-core
// path the gathers are most of the main loop's instructions (the mma themselves are a few
// percent), so this is where the loop's time goes; the SIMT loop keeps the plain problems.
//
// Divisions per operand element (each a FastDivmod, 3 instructions; no 32- or 64-bit
// hardware division is left): forward a() 4 (m by P*Q, pq by Q, k by R*S, rs by S), b() 0;
// grad-input a() 6 (m by H*W, hw by W, k by R*S, rs by S, the two stride tests), b() 1;
// grad-weight a() 4, b() 1. The M-fast loader gives a thread one row (m) for a whole tile,
// so the compiler may share that row's split between the thread's elements.
//
// Each of them also says which index is contiguous in global memory (OperandOrder), and every
// file that runs conv problems on the tensor cores includes this one, so that all of them
// instantiate the loop alike.
#pragma once
#include "conv_problems.h"
#include "fast_divmod.h"
#include "implicit_gemm_mma.cuh"

namespace ganops::cuda::conv {

// The launch-invariant divisors of a geometry.
struct FastDims {
    Dims d;
    FastDivmod pq, q, hw, w, rs, s, sh, sw;
    explicit FastDims(const Dims& dims)
        : d(dims), pq(dims.p * dims.q), q(dims.q), hw(dims.h * dims.w), w(dims.w), rs(dims.r * dims.s), s(dims.s),
          sh(dims.sh), sw(dims.sw) {}
};

// x[nb, c, h, w] at the input pixel that output pixel pq sees through tap rs, or zero in the
// padding: gather_input's arithmetic with FastDivmod.
GANOPS_HD float gather_input_fast(const FastDims& f, const float* x, int nb, int c, int pq, int rs) {
    const Dims& d = f.d;
    int p, q, r, s;
    f.q.divmod(pq, p, q);
    f.s.divmod(rs, r, s);
    const int hi = p * d.sh - d.ph + r * d.dh, wi = q * d.sw - d.pw + s * d.dw;
    if (hi < 0 || hi >= d.h || wi < 0 || wi >= d.w) return 0.0f;
    return x[((int64_t(nb) * d.c + c) * d.h + hi) * d.w + wi];
}

struct ForwardFast {
    FastDims f;
    const float *x, *w, *bias;
    float* y;
    int64_t M, N, K;
    explicit ForwardFast(const Forward& p) : f(p.d), x(p.x), w(p.w), bias(p.bias), y(p.y), M(p.M), N(p.N), K(p.K) {}
    GANOPS_HD float a(int64_t m, int64_t kk) const {
        int nb, pq, c, rs;
        f.pq.divmod(int(m), nb, pq);
        f.rs.divmod(int(kk), c, rs);
        return gather_input_fast(f, x, nb, c, pq, rs);
    }
    GANOPS_HD float b(int64_t kk, int64_t n) const { return w[n * K + kk]; }
    GANOPS_HD void store(int64_t m, int64_t n, float v) const {
        int nb, pq;
        f.pq.divmod(int(m), nb, pq);
        y[(int64_t(nb) * f.d.k + n) * (f.d.p * f.d.q) + pq] = bias ? add_rn(v, bias[n]) : v;
    }
};

struct BackwardInputFast {
    FastDims f;
    const float *dy, *w;
    float* dx;
    int64_t M, N, K;
    explicit BackwardInputFast(const BackwardInput& p) : f(p.d), dy(p.dy), w(p.w), dx(p.dx), M(p.M), N(p.N), K(p.K) {}
    GANOPS_HD float a(int64_t m, int64_t kk) const {
        const Dims& d = f.d;
        int nb, hw, ko, rs, h, wi, r, s;
        f.hw.divmod(int(m), nb, hw);
        f.w.divmod(hw, h, wi);
        f.rs.divmod(int(kk), ko, rs);
        f.s.divmod(rs, r, s);
        // Output row p reads input row h = p*stride - pad + r*dilation: invert it.
        const int p_num = h + d.ph - r * d.dh, q_num = wi + d.pw - s * d.dw;
        if (p_num < 0 || q_num < 0) return 0.0f;
        int po, p_rem, qo, q_rem;
        f.sh.divmod(p_num, po, p_rem);
        f.sw.divmod(q_num, qo, q_rem);
        if (p_rem || q_rem || po >= d.p || qo >= d.q) return 0.0f;
        return dy[((int64_t(nb) * d.k + ko) * d.p + po) * d.q + qo];
    }
    GANOPS_HD float b(int64_t kk, int64_t n) const {
        int ko, rs;
        f.rs.divmod(int(kk), ko, rs);
        return w[(int64_t(ko) * f.d.c + n) * (f.d.r * f.d.s) + rs];
    }
    GANOPS_HD void store(int64_t m, int64_t n, float v) const {
        int nb, hw;
        f.hw.divmod(int(m), nb, hw);
        dx[(int64_t(nb) * f.d.c + n) * (f.d.h * f.d.w) + hw] = v;
    }
};

struct BackwardWeightFast {
    FastDims f;
    const float *dy, *x;
    float* dw;
    int64_t M, N, K;
    explicit BackwardWeightFast(const BackwardWeight& p) : f(p.d), dy(p.dy), x(p.x), dw(p.dw), M(p.M), N(p.N), K(p.K) {}
    GANOPS_HD float a(int64_t m, int64_t kk) const {
        int c, rs, nb, pq;
        f.rs.divmod(int(m), c, rs);
        f.pq.divmod(int(kk), nb, pq);
        return gather_input_fast(f, x, nb, c, pq, rs);
    }
    GANOPS_HD float b(int64_t kk, int64_t n) const {
        int nb, pq;
        f.pq.divmod(int(kk), nb, pq);
        return dy[(int64_t(nb) * f.d.k + n) * (f.d.p * f.d.q) + pq];
    }
    GANOPS_HD void store(int64_t m, int64_t n, float v) const { dw[n * M + m] = v; }
};

// What the tensor-core path runs for a problem: the fast form where there is one, the
// problem itself otherwise (any Problem with the functor interface runs unchanged).
template <class Problem>
const Problem& for_mma(const Problem& p) {
    return p;
}
inline ForwardFast for_mma(const Forward& p) { return ForwardFast(p); }
inline BackwardInputFast for_mma(const BackwardInput& p) { return BackwardInputFast(p); }
inline BackwardWeightFast for_mma(const BackwardWeight& p) { return BackwardWeightFast(p); }

}  // namespace ganops::cuda::conv

namespace ganops::cuda::mma {

// Forward and grad-input gather A along pixels (m) and read B along k (weights): the default.
// grad-weight's K runs over output pixels: both of its gathers are contiguous along k.
template <>
struct OperandOrder<conv::BackwardWeight> {
    static constexpr bool a_k_fast = true;
    static constexpr bool b_k_fast = true;
};
template <>
struct OperandOrder<conv::BackwardWeightFast> {
    static constexpr bool a_k_fast = true;
    static constexpr bool b_k_fast = true;
};

}  // namespace ganops::cuda::mma
