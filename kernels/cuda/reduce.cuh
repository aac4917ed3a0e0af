// Deterministic two-pass sum of per-element terms, for reductions whose terms are computed
// on the fly (sum, the BCE losses). Blocks write double partials; one block adds them in
// index order.
#pragma once
#include <algorithm>

#include "../../core/tensor.h"
#include "launch.cuh"

namespace ganops::cuda {

constexpr int kMaxPartials = 1024;

template <class Term>
__global__ void partial_terms_kernel(Term term, int64_t n, double* partials) {
    double s = 0;
    GANOPS_GRID_STRIDE(i, n) s += term(i);
    s = block_sum(s);
    if (threadIdx.x == 0) partials[blockIdx.x] = s;
}

// A template (on the output's type) rather than an inline kernel: nvcc warns that
// __global__ functions ignore `inline`, and each instantiation is emitted once.
template <class Out>
__global__ void finish_terms_kernel(const double* partials, int count, double scale, Out* out) {
    double s = 0;
    for (int i = threadIdx.x; i < count; i += blockDim.x) s += partials[i];
    s = block_sum(s);
    if (threadIdx.x == 0) *out = static_cast<Out>(s * scale);
}

// *out = scale * sum over i < n of term(i), term(i) a double computed on the device.
template <class Term>
void sum_terms(Term term, int64_t n, double scale, float* out) {
    const int blocks = std::min(grid_for(n), kMaxPartials);
    // Scratch from the caching allocator, released to this stream's pool: reuse is ordered.
    Tensor partials = Tensor::empty(Shape{blocks}, DType::F64, Device::CUDA);
    GANOPS_LAUNCH(partial_terms_kernel, blocks, kThreads, 0, current_stream())(term, n, partials.data<double>());
    GANOPS_LAUNCH(finish_terms_kernel, 1, kThreads, 0, current_stream())(partials.data<double>(), blocks, scale, out);
}

}  // namespace ganops::cuda
