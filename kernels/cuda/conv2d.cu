// conv2d's three passes as implicit GEMMs (implicit_gemm.cuh), in the CUTLASS mapping:
//   forward      M = N*P*Q (output pixels)  N = K (out channels)  K = C*R*S
//   grad-input   M = N*H*W (input pixels)   N = C                 K = K*R*S
//   grad-weight  M = C*R*S                  N = K                 K = N*P*Q (split-K)
// Each problem gathers its operands from NCHW tensors with zero outside the image. This is
// the strict-fp32 baseline; grad-input visits the zeros a stride inserts, which the
// performance work removes by splitting strided passes into stride^2 dense phases.
#include "implicit_gemm.cuh"
#include "kernels.h"

namespace ganops::cuda {

namespace {

// Sizes as 64-bit integers for the device, derived once on the host.
struct Dims {
    int64_t n, c, h, w, k, p, q, r, s;
    int64_t sh, sw, ph, pw, dh, dw;
    explicit Dims(const ConvGeometry& g)
        : n(g.batch), c(g.in_channels), h(g.in_h), w(g.in_w), k(g.out_channels), p(g.out_h), q(g.out_w),
          r(g.kernel_h), s(g.kernel_w), sh(g.opt.stride_h), sw(g.opt.stride_w), ph(g.opt.pad_h), pw(g.opt.pad_w),
          dh(g.opt.dilation_h), dw(g.opt.dilation_w) {}
};

struct Forward {
    Dims d;
    const float *x, *w, *bias;
    float* y;
    int64_t M, N, K;
    __device__ float a(int64_t m, int64_t kk) const {
        const int64_t pq = m % (d.p * d.q), nb = m / (d.p * d.q);
        const int64_t rs = kk % (d.r * d.s), c = kk / (d.r * d.s);
        const int64_t hi = (pq / d.q) * d.sh - d.ph + (rs / d.s) * d.dh;
        const int64_t wi = (pq % d.q) * d.sw - d.pw + (rs % d.s) * d.dw;
        if (hi < 0 || hi >= d.h || wi < 0 || wi >= d.w) return 0.0f;
        return x[((nb * d.c + c) * d.h + hi) * d.w + wi];
    }
    __device__ float b(int64_t kk, int64_t n) const { return w[n * K + kk]; }
    __device__ void store(int64_t m, int64_t n, float v) const {
        const int64_t pq = m % (d.p * d.q), nb = m / (d.p * d.q);
        y[(nb * d.k + n) * d.p * d.q + pq] = bias ? __fadd_rn(v, bias[n]) : v;
    }
};

struct BackwardInput {
    Dims d;
    const float *dy, *w;
    float* dx;
    int64_t M, N, K;
    __device__ float a(int64_t m, int64_t kk) const {
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
    __device__ float b(int64_t kk, int64_t n) const {
        const int64_t rs = kk % (d.r * d.s), ko = kk / (d.r * d.s);
        return w[(ko * d.c + n) * d.r * d.s + rs];
    }
    __device__ void store(int64_t m, int64_t n, float v) const {
        const int64_t hw = m % (d.h * d.w), nb = m / (d.h * d.w);
        dx[(nb * d.c + n) * d.h * d.w + hw] = v;
    }
};

struct BackwardWeight {
    Dims d;
    const float *dy, *x;
    float* dw;
    int64_t M, N, K;
    __device__ float a(int64_t m, int64_t kk) const {
        const int64_t rs = m % (d.r * d.s), c = m / (d.r * d.s);
        const int64_t pq = kk % (d.p * d.q), nb = kk / (d.p * d.q);
        const int64_t hi = (pq / d.q) * d.sh - d.ph + (rs / d.s) * d.dh;
        const int64_t wi = (pq % d.q) * d.sw - d.pw + (rs % d.s) * d.dw;
        if (hi < 0 || hi >= d.h || wi < 0 || wi >= d.w) return 0.0f;
        return x[((nb * d.c + c) * d.h + hi) * d.w + wi];
    }
    __device__ float b(int64_t kk, int64_t n) const {
        const int64_t pq = kk % (d.p * d.q), nb = kk / (d.p * d.q);
        return dy[(nb * d.k + n) * d.p * d.q + pq];
    }
    __device__ void store(int64_t m, int64_t n, float v) const { dw[n * M + m] = v; }
};

}  // namespace

void conv2d_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias, float* y) {
    const Dims d(g);
    gemm::run(Forward{d, x, w, bias, y, d.n * d.p * d.q, d.k, d.c * d.r * d.s});
}

void conv2d_backward_input(const ConvGeometry& g, const float* dy, const float* w, float* dx) {
    const Dims d(g);
    gemm::run(BackwardInput{d, dy, w, dx, d.n * d.h * d.w, d.c, d.k * d.r * d.s});
}

void conv2d_backward_weight(const ConvGeometry& g, const float* dy, const float* x, float* dw) {
    const Dims d(g);
    gemm::run(BackwardWeight{d, dy, x, dw, d.c * d.r * d.s, d.k, d.n * d.p * d.q});
}

}  // namespace ganops::cuda
