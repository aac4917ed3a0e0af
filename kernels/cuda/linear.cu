// The linear layer's three products on the implicit-GEMM main loop (implicit_gemm.cuh),
// each arranged so that m runs along the output's contiguous dimension.
#include "implicit_gemm.cuh"
#include "kernels.h"

namespace ganops::cuda {

namespace {
// y[r, o] = sum_i x[r, i] w[o, i] + bias[o]:  m = o, n = r, k = i
struct Forward {
    const float *x, *w, *bias;
    float* y;
    int64_t M, N, K;
    __device__ float a(int64_t m, int64_t k) const { return w[m * K + k]; }
    __device__ float b(int64_t k, int64_t n) const { return x[n * K + k]; }
    __device__ void store(int64_t m, int64_t n, float v) const { y[n * M + m] = bias ? __fadd_rn(v, bias[m]) : v; }
};

// dx[r, i] = sum_o dy[r, o] w[o, i]:  m = i, n = r, k = o
struct BackwardInput {
    const float *dy, *w;
    float* dx;
    int64_t M, N, K;
    __device__ float a(int64_t m, int64_t k) const { return w[k * M + m]; }
    __device__ float b(int64_t k, int64_t n) const { return dy[n * K + k]; }
    __device__ void store(int64_t m, int64_t n, float v) const { dx[n * M + m] = v; }
};

// dw[o, i] = sum_r dy[r, o] x[r, i]:  m = i, n = o, k = r
struct BackwardWeight {
    const float *dy, *x;
    float* dw;
    int64_t M, N, K;
    __device__ float a(int64_t m, int64_t k) const { return x[k * M + m]; }
    __device__ float b(int64_t k, int64_t n) const { return dy[k * N + n]; }
    __device__ void store(int64_t m, int64_t n, float v) const { dw[n * M + m] = v; }
};
}  // namespace

void linear_forward(const float* x, const float* w, const float* bias, int64_t rows, int64_t in, int64_t out, float* y) {
    gemm::run(Forward{x, w, bias, y, out, rows, in});
}

void linear_backward_input(const float* dy, const float* w, int64_t rows, int64_t in, int64_t out, float* dx) {
    gemm::run(BackwardInput{dy, w, dx, in, rows, out});
}

void linear_backward_weight(const float* dy, const float* x, int64_t rows, int64_t in, int64_t out, float* dw) {
    gemm::run(BackwardWeight{dy, x, dw, in, out, rows});
}

}  // namespace ganops::cuda
