// One tiled fp32 GEMM main loop, C[m, n] = sum over k of A(m, k) * B(k, n), whose operands
// are read through functors. Convolution passes (forward, grad-input, grad-weight) and the
// linear layer differ only in how A and B are gathered from memory and where C goes, as in
// CUTLASS's implicit GEMM: the loop is written once.
//
// A block computes a BM x BN tile of C, BK deep at a time through shared memory; each of
// its 256 threads holds a 4 x 4 sub-tile in registers. Threads are laid out along m first,
// and every problem puts its output's contiguous dimension on m, so stores coalesce.
// Long K is split across gridDim.z (split-K): each split writes a partial tile to a
// workspace and a second kernel adds the splits in a fixed order, so results do not depend
// on scheduling. Strict fp32 on the FMA units: each step acc + a * b is one fmaf, rounded
// once (as cuDNN's fp32 kernels and cuBLAS compute), which is both half the instructions of
// a separate multiply and add and a smaller error. The CPU reference (Eigen) adds in its own
// order, so the two agree to rounding error, not to the bit.
#pragma once
#include <algorithm>

#include "../../core/tensor.h"
#include "gemm_plan.h"
#include "launch.cuh"

namespace ganops::cuda::gemm {

// nvcc's #pragma unroll; GCC's spelling where the emulated build compiles this file as C++
// (GCC warns about a pragma it does not know).
#if defined(__CUDACC__)
#define GANOPS_UNROLL _Pragma("unroll")
#else
#define GANOPS_UNROLL _Pragma("GCC unroll 16")
#endif

constexpr int kGemmThreads = (BM / TM) * (BN / TN);  // 256
static_assert(kGemmThreads == kThreads);

// One BM x BN tile of C at (m0, n0) over the split's K range [k_begin, k_end).
template <class Problem>
__device__ void gemm_tile(const Problem& p, int64_t m0, int64_t n0, int64_t k_begin, int64_t k_end, float* partial,
                          float (&As)[BK][BM], float (&Bs)[BK][BN + 1]) {
    const int tid = threadIdx.x;
    const int tm = tid % (BM / TM), tn = tid / (BM / TM);

    float acc[TM][TN] = {};
    for (int64_t k0 = k_begin; k0 < k_end; k0 += BK) {
        // A tile: consecutive threads take consecutive m (coalesced where m is contiguous).
        for (int e = tid; e < BM * BK; e += kGemmThreads) {
            const int mm = e % BM, kk = e / BM;
            const int64_t m = m0 + mm, k = k0 + kk;
            As[kk][mm] = (m < p.M && k < k_end) ? p.a(m, k) : 0.0f;
        }
        // B tile: consecutive threads take consecutive k (contiguous in every problem's B).
        for (int e = tid; e < BK * BN; e += kGemmThreads) {
            const int kk = e % BK, nn = e / BK;
            const int64_t k = k0 + kk, n = n0 + nn;
            Bs[kk][nn] = (n < p.N && k < k_end) ? p.b(k, n) : 0.0f;
        }
        __syncthreads();
GANOPS_UNROLL
        for (int kk = 0; kk < BK; ++kk) {
            float a[TM], b[TN];
GANOPS_UNROLL
            for (int i = 0; i < TM; ++i) a[i] = As[kk][tm + i * (BM / TM)];
GANOPS_UNROLL
            for (int j = 0; j < TN; ++j) b[j] = Bs[kk][tn + j * (BN / TN)];
GANOPS_UNROLL
            for (int i = 0; i < TM; ++i)
GANOPS_UNROLL
                for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        __syncthreads();
    }
GANOPS_UNROLL
    for (int i = 0; i < TM; ++i)
GANOPS_UNROLL
        for (int j = 0; j < TN; ++j) {
            const int64_t m = m0 + tm + i * (BM / TM), n = n0 + tn + j * (BN / TN);
            if (m >= p.M || n >= p.N) continue;
            if (partial)
                partial[(int64_t(blockIdx.z) * p.N + n) * p.M + m] = acc[i][j];
            else
                p.store(m, n, acc[i][j]);
        }
}

// Problem: int64_t M, N, K; __device__ float a(int64_t m, int64_t k) const;
// __device__ float b(int64_t k, int64_t n) const; __device__ void store(int64_t m, int64_t n, float v) const.
// A block computes tile (blockIdx.x, blockIdx.y); where a problem has more tiles than a grid
// dimension allows (gemm_plan.h: beyond 65535 along n), it also takes the tiles a whole
// grid further on. The loops are uniform across the block, so the barriers inside hold.
template <class Problem>
__global__ void __launch_bounds__(kGemmThreads) gemm_kernel(Problem p, int64_t k_chunk, float* partial) {
    __shared__ float As[BK][BM];
    __shared__ float Bs[BK][BN + 1];  // +1: the k-fastest stores below would hit one bank
    const int64_t k_begin = int64_t(blockIdx.z) * k_chunk;
    const int64_t k_end = min(p.K, k_begin + k_chunk);
    for (int64_t n0 = int64_t(blockIdx.y) * BN; n0 < p.N; n0 += int64_t(gridDim.y) * BN)
        for (int64_t m0 = int64_t(blockIdx.x) * BM; m0 < p.M; m0 += int64_t(gridDim.x) * BM)
            gemm_tile(p, m0, n0, k_begin, k_end, partial, As, Bs);
}

template <class Problem>
__global__ void reduce_splits_kernel(Problem p, const float* partial, int splits) {
    const int64_t total = p.M * p.N;
    GANOPS_GRID_STRIDE(i, total) {
        float s = partial[i];
        for (int z = 1; z < splits; ++z) s = __fadd_rn(s, partial[int64_t(z) * total + i]);
        p.store(i % p.M, i / p.M, s);
    }
}

// Runs the problem, splitting K when the M x N tiles alone would leave most of the GPU idle.
template <class Problem>
void run(const Problem& p) {
    if (p.M == 0 || p.N == 0) return;
    const Plan cover = plan(p.M, p.N, p.K);
    const int64_t splits = cover.splits, k_chunk = cover.k_chunk;
    const dim3 grid{unsigned(cover.grid_m), unsigned(cover.grid_n), unsigned(splits)};
    if (splits <= 1) {
        GANOPS_LAUNCH(gemm_kernel, grid, kGemmThreads, 0, current_stream())(p, k_chunk, nullptr);
        return;
    }
    Tensor partial = Tensor::empty(Shape{splits * p.M * p.N}, DType::F32, Device::CUDA);
    GANOPS_LAUNCH(gemm_kernel, grid, kGemmThreads, 0, current_stream())(p, k_chunk, partial.data<float>());
    GANOPS_LAUNCH(reduce_splits_kernel, grid_for(p.M * p.N), kThreads, 0, current_stream())(p, partial.data<float>(), int(splits));
}

}  // namespace ganops::cuda::gemm
