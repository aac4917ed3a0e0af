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

// Strided grad-input as stride_h * stride_w dense phases. Input row h receives output row
// p through tap r only where h + pad_h - r * dilation_h = p * stride_h, so the taps that
// reach h depend on (h + pad_h) mod stride_h alone: the rows with one residue (a phase)
// share one set of taps, and every other tap would multiply a zero the stride inserts
// (BackwardInput above visits them all: 3 of 4 products wasted at stride 2). Per phase the
// rows are first, first + stride, ... and the taps tap0, tap0 + tap_step, ...; the output
// row of row i through tap t is out0 + i - t * out_step, with no division left.
struct Phase1D {
    int first = 0;     // first input row (or column) of the phase
    int count = 0;     // rows in the phase; 0 where the image has none with this residue
    int tap0 = 0;      // first kernel tap reaching them
    int tap_step = 1;  // distance between their taps
    int taps = 0;      // taps reaching them; 0: the phase only receives zeros
    int out0 = 0;      // output row of row 0 through tap 0 (may lie outside the output)
    int out_step = 1;  // how far back the output row moves per tap
};

inline int gcd_int(int a, int b) { return b == 0 ? a : gcd_int(b, a % b); }

// Phase `residue` (0 <= residue < stride) of one axis: `in` input rows, a kernel of
// `kernel` taps, stride, padding and dilation as in conv2d.
inline Phase1D phase_1d(int in, int kernel, int stride, int pad, int dilation, int residue) {
    Phase1D ph;
    ph.first = ((residue - pad) % stride + stride) % stride;
    ph.count = ph.first < in ? (in - ph.first + stride - 1) / stride : 0;
    // Taps r with r * dilation = residue (mod stride): an arithmetic progression of step
    // stride / gcd, starting at the first solution if there is one.
    const int g = gcd_int(dilation, stride);
    ph.tap_step = stride / g;
    ph.out_step = dilation / g;  // tap_step * dilation / stride
    ph.tap0 = -1;
    for (int r = 0; r < ph.tap_step && r < kernel; ++r)
        if (int64_t(r) * dilation % stride == residue) {
            ph.tap0 = r;
            break;
        }
    if (ph.tap0 < 0) {
        ph.tap0 = 0;
        ph.taps = 0;
    } else {
        ph.taps = (kernel - ph.tap0 + ph.tap_step - 1) / ph.tap_step;
    }
    // first + pad - tap0 * dilation is a multiple of stride by construction: exact division.
    ph.out0 = (ph.first + pad - ph.tap0 * dilation) / stride;
    return ph;
}

// One phase of grad-input: M = N * rows.count * cols.count (the phase's input pixels),
// N = C, K = K_out * rows.taps * cols.taps. A phase without taps has K = 0: the GEMM then
// stores zeros, which is the right gradient there.
struct BackwardInputPhase {
    Dims d;
    Phase1D rows, cols;
    const float *dy, *w;
    float* dx;
    int64_t M, N, K;
    GANOPS_HD float a(int64_t m64, int64_t kk64) const {
        const int m = int(m64), kk = int(kk64), ij_count = rows.count * cols.count, tap_count = rows.taps * cols.taps;
        const int ij = m % ij_count, nb = m / ij_count, t = kk % tap_count, ko = kk / tap_count;
        const int po = rows.out0 + ij / cols.count - (t / cols.taps) * rows.out_step;
        const int qo = cols.out0 + ij % cols.count - (t % cols.taps) * cols.out_step;
        if (po < 0 || po >= d.p || qo < 0 || qo >= d.q) return 0.0f;
        return dy[((int64_t(nb) * d.k + ko) * d.p + po) * d.q + qo];
    }
    GANOPS_HD float b(int64_t kk64, int64_t n) const {
        const int kk = int(kk64), tap_count = rows.taps * cols.taps, t = kk % tap_count, ko = kk / tap_count;
        const int r = rows.tap0 + (t / cols.taps) * rows.tap_step, s = cols.tap0 + (t % cols.taps) * cols.tap_step;
        return w[((int64_t(ko) * d.c + n) * d.r + r) * d.s + s];
    }
    GANOPS_HD void store(int64_t m64, int64_t n, float v) const {
        const int m = int(m64), ij_count = rows.count * cols.count, ij = m % ij_count, nb = m / ij_count;
        const int h = rows.first + (ij / cols.count) * d.sh, wi = cols.first + (ij % cols.count) * d.sw;
        dx[((int64_t(nb) * d.c + n) * d.h + h) * d.w + wi] = v;
    }
};

inline BackwardInputPhase backward_input_phase(const Dims& d, int residue_h, int residue_w, const float* dy,
                                               const float* w, float* dx) {
    const Phase1D rows = phase_1d(d.h, d.r, d.sh, d.ph, d.dh, residue_h);
    const Phase1D cols = phase_1d(d.w, d.s, d.sw, d.pw, d.dw, residue_w);
    return {d,  rows, cols, dy, w, dx, int64_t(d.n) * rows.count * cols.count, d.c,
            int64_t(d.k) * rows.taps * cols.taps};
}

// Grad-input when the output is one pixel (conv2d down to 1x1, as the DCGAN's last
// discriminator layer; or a transposed convolution of a 1x1 input, as its first generator
// layer, stride 1). Every input pixel (h, w) then meets output pixel (0, 0) through at most
// one tap, r * dilation = h + pad: one dense product over the output channels per pixel,
// where the single phase above would visit all R * S taps (15 of 16 zero for a 4x4
// kernel). M = C * H * W (dx's inner dimensions, contiguous), N = batch, K = K_out.
struct BackwardInputFromPixel {
    Dims d;
    const float *dy, *w;
    float* dx;
    int64_t M, N, K;
    GANOPS_HD float a(int64_t m64, int64_t ko) const {
        const int m = int(m64), hw_count = d.h * d.w, hw = m % hw_count, c = m / hw_count;
        const int r_num = hw / d.w + d.ph, s_num = hw % d.w + d.pw;
        if (r_num % d.dh || s_num % d.dw) return 0.0f;
        const int r = r_num / d.dh, s = s_num / d.dw;
        if (r >= d.r || s >= d.s) return 0.0f;
        return w[((ko * d.c + c) * d.r + r) * d.s + s];
    }
    GANOPS_HD float b(int64_t ko, int64_t n) const { return dy[n * d.k + ko]; }
    GANOPS_HD void store(int64_t m, int64_t n, float v) const { dx[n * M + m] = v; }
};

// The grad-input problems in the order they run: the one-pixel product where it applies,
// else every (residue_h, residue_w) phase. Together they write every element of dx once.
// `run` takes each problem (the GPU's gemm::run, or a CPU loop in the tests).
template <class Run>
void for_each_backward_input_problem(const Dims& d, const float* dy, const float* w, float* dx, Run&& run) {
    if (d.p == 1 && d.q == 1) {
        run(BackwardInputFromPixel{d, dy, w, dx, int64_t(d.c) * d.h * d.w, d.n, d.k});
        return;
    }
    for (int residue_h = 0; residue_h < d.sh; ++residue_h)
        for (int residue_w = 0; residue_w < d.sw; ++residue_w) run(backward_input_phase(d, residue_h, residue_w, dy, w, dx));
}

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
