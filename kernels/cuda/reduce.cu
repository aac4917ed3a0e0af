// Reductions in two passes: blocks write partial sums (double), then one block adds the
// partials in index order. No atomics, so the result is the same bits on every run.
// Scratch comes from the caching allocator: no cudaMalloc in steady state.
#include "../../core/tensor.h"
#include "kernels.h"
#include "launch.cuh"
#include "reduce.cuh"

namespace ganops::cuda {

namespace {
// Block (c, split) sums channel c over its share of the [outer, inner] planes.
__global__ void channel_partial_kernel(const float* x, int64_t outer, int64_t channels, int64_t inner,
                                       double* partials) {
    const int64_t c = blockIdx.x, per_channel = outer * inner;
    double s = 0;
    for (int64_t j = blockIdx.y * int64_t(blockDim.x) + threadIdx.x; j < per_channel; j += int64_t(gridDim.y) * blockDim.x)
        s += x[((j / inner) * channels + c) * inner + j % inner];
    s = block_sum(s);
    if (threadIdx.x == 0) partials[c * gridDim.y + blockIdx.y] = s;
}

__global__ void channel_finish_kernel(const double* partials, int splits, float* out) {
    double s = 0;
    for (int i = threadIdx.x; i < splits; i += blockDim.x) s += partials[blockIdx.x * int64_t(splits) + i];
    s = block_sum(s);
    if (threadIdx.x == 0) out[blockIdx.x] = static_cast<float>(s);
}

__global__ void add_channel_bias_kernel(float* y, const float* bias, int64_t n, int64_t channels, int64_t inner) {
    GANOPS_GRID_STRIDE(i, n) y[i] = __fadd_rn(y[i], bias[(i / inner) % channels]);
}

}  // namespace

namespace {
struct Element {
    const float* a;
    __device__ double operator()(int64_t i) const { return a[i]; }
};
}  // namespace

void sum(const float* a, int64_t n, float* out) { sum_terms(Element{a}, n, 1.0, out); }

void channel_sum(const float* x, int64_t outer, int64_t channels, int64_t inner, float* out) {
    if (channels == 0) return;
    // Enough blocks in all to fill the GPU even with few channels.
    const int64_t per_channel = outer * inner;
    const int splits = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>({(per_channel + 4 * kThreads - 1) / (4 * kThreads),
                                                                                  (1024 + channels - 1) / channels, 256})));
    Tensor partials = Tensor::empty(Shape{channels * splits}, DType::F64, Device::CUDA);
    GANOPS_LAUNCH(channel_partial_kernel, dim3(unsigned(channels), unsigned(splits)), kThreads, 0, current_stream())(
        x, outer, channels, inner, partials.data<double>());
    GANOPS_LAUNCH(channel_finish_kernel, unsigned(channels), kThreads, 0, current_stream())(partials.data<double>(), splits, out);
}

namespace {
__global__ void repeat_rows_kernel(const float* row, int64_t n, int64_t width, float factor, float* out) {
    GANOPS_GRID_STRIDE(i, n * width) out[i] = __fmul_rn(row[i % width], factor);
}
}  // namespace

void repeat_rows(const float* row, int64_t n, int64_t width, float factor, float* out) {
    if (n * width == 0) return;
    GANOPS_LAUNCH(repeat_rows_kernel, grid_for(n * width), kThreads, 0, current_stream())(row, n, width, factor, out);
}

void add_channel_bias(float* y, const float* bias, int64_t outer, int64_t channels, int64_t inner) {
    const int64_t n = outer * channels * inner;
    if (n == 0) return;
    GANOPS_LAUNCH(add_channel_bias_kernel, grid_for(n), kThreads, 0, current_stream())(y, bias, n, channels, inner);
}

}  // namespace ganops::cuda
