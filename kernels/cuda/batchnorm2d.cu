// batchnorm2d on x [n, c, hw] (NCHW; channels-last storage is this with n = N*H*W and
// hw = 1, which has its own coalesced reduction kernels below). Training statistics come from one read of x:
// every thread runs Welford's update over its elements, threads and then blocks are merged
// with Chan's formula (no sum of squares, so no cancellation), and one thread per channel
// merges its blocks in a fixed order (bit-reproducible). A second pass normalises. The
// backward pass likewise reduces sum(dy) and sum(dy * (x - mean)) per channel, then
// writes dx element-wise.
#include "../../core/tensor.h"
#include "kernels.h"
#include "launch.cuh"
#include "welford.h"

namespace ganops::cuda {

namespace {

__device__ Moments block_merge(Moments m) {
    __shared__ Moments partial[kThreads / 32];
    for (int offset = 16; offset > 0; offset /= 2) {
        const Moments other{__shfl_down_sync(0xffffffffu, m.count, offset), __shfl_down_sync(0xffffffffu, m.mean, offset),
                            __shfl_down_sync(0xffffffffu, m.m2, offset)};
        m = merge(m, other);
    }
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (lane == 0) partial[warp] = m;
    __syncthreads();
    if (warp == 0) {
        m = lane < kThreads / 32 ? partial[lane] : Moments{0, 0, 0};
        for (int offset = 16; offset > 0; offset /= 2) {
            const Moments other{__shfl_down_sync(0xffffffffu, m.count, offset),
                                __shfl_down_sync(0xffffffffu, m.mean, offset), __shfl_down_sync(0xffffffffu, m.m2, offset)};
            m = merge(m, other);
        }
    }
    return m;
}

// Splits per channel so that channels * splits blocks fill the GPU.
int splits_for(int64_t per_channel, int64_t channels) {
    const int64_t by_work = (per_channel + 4 * kThreads - 1) / (4 * kThreads);
    const int64_t by_fill = (1024 + channels - 1) / channels;
    return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(std::min(by_work, by_fill), 256)));
}

__device__ inline int64_t channel_index(int64_t j, int64_t c, int64_t channels, int64_t hw) {
    return ((j / hw) * channels + c) * hw + j % hw;
}

__global__ void moments_kernel(const float* x, int64_t n, int64_t channels, int64_t hw, Moments* partials) {
    const int64_t c = blockIdx.x, per_channel = n * hw;
    Moments m{0, 0, 0};
    for (int64_t j = blockIdx.y * int64_t(blockDim.x) + threadIdx.x; j < per_channel; j += int64_t(gridDim.y) * blockDim.x) {
        const double v = x[channel_index(j, c, channels, hw)];
        m = add(m, v);
    }
    m = block_merge(m);
    if (threadIdx.x == 0) partials[blockIdx.y * channels + c] = m;
}

// One thread per channel: statistics, running-statistics update, and the map
// y = ((x - centre_hi) - centre_lo) * scale + shift that the normalising pass applies.
// Centring first keeps the float arithmetic exact where x sits far from zero (x*scale +
// shift would cancel), and the centre is the double mean split into two floats: rounded
// to one float, a mean of 1000 is off by up to 3e-5, which the output would inherit.
// affine holds four rows of `channels`: centre_hi, centre_lo, scale, shift.
__global__ void finish_moments_kernel(const Moments* partials, int splits, int64_t channels, double eps, double momentum,
                                      const float* weight, const float* bias, float* mean, float* invstd,
                                      float* running_mean, float* running_var, float* affine) {
    const int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
    if (c >= channels) return;
    Moments m{0, 0, 0};
    for (int s = 0; s < splits; ++s) m = merge(m, partials[s * channels + c]);
    const double var = m.m2 / m.count, inv = 1.0 / sqrt(var + eps);
    mean[c] = static_cast<float>(m.mean);
    invstd[c] = static_cast<float>(inv);
    if (running_mean) {
        running_mean[c] = static_cast<float>((1 - momentum) * running_mean[c] + momentum * m.mean);
        running_var[c] = static_cast<float>((1 - momentum) * running_var[c] + momentum * var * m.count / (m.count - 1));
    }
    const double scale = weight ? weight[c] * inv : inv;
    const float hi = static_cast<float>(m.mean);
    affine[c] = hi;
    affine[channels + c] = static_cast<float>(m.mean - hi);
    affine[2 * channels + c] = static_cast<float>(scale);
    affine[3 * channels + c] = bias ? bias[c] : 0.0f;
}

__global__ void eval_affine_kernel(const float* weight, const float* bias, const float* running_mean,
                                   const float* running_var, int64_t channels, double eps, float* affine) {
    const int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
    if (c >= channels) return;
    const double inv = 1.0 / sqrt(double(running_var[c]) + eps);
    const double scale = weight ? weight[c] * inv : inv;
    affine[c] = running_mean[c];
    affine[channels + c] = 0.0f;
    affine[2 * channels + c] = static_cast<float>(scale);
    affine[3 * channels + c] = bias ? bias[c] : 0.0f;
}

__global__ void affine_kernel(const float* x, const float* affine, int64_t total, int64_t channels, int64_t hw, float* y) {
    GANOPS_GRID_STRIDE(i, total) {
        const int64_t c = (i / hw) % channels;
        const float centred = __fsub_rn(__fsub_rn(x[i], affine[c]), affine[channels + c]);
        y[i] = __fadd_rn(__fmul_rn(centred, affine[2 * channels + c]), affine[3 * channels + c]);
    }
}

__global__ void invstd_kernel(const float* running_var, int64_t c, double eps, float* invstd) {
    GANOPS_GRID_STRIDE(i, c) invstd[i] = static_cast<float>(1.0 / sqrt(double(running_var[i]) + eps));
}

struct GradSums {
    double dy, dy_xmu;
};

__global__ void grad_sums_kernel(const float* dy, const float* x, const float* mean, int64_t n, int64_t channels,
                                 int64_t hw, GradSums* partials) {
    const int64_t c = blockIdx.x, per_channel = n * hw;
    const double m = mean[c];
    double s_dy = 0, s_dy_xmu = 0;
    for (int64_t j = blockIdx.y * int64_t(blockDim.x) + threadIdx.x; j < per_channel; j += int64_t(gridDim.y) * blockDim.x) {
        const int64_t k = channel_index(j, c, channels, hw);
        s_dy += dy[k];
        s_dy_xmu += double(dy[k]) * (x[k] - m);
    }
    s_dy = block_sum(s_dy);
    s_dy_xmu = block_sum(s_dy_xmu);
    if (threadIdx.x == 0) partials[blockIdx.y * channels + c] = {s_dy, s_dy_xmu};
}

// Per channel: dweight, dbias and the coefficients of dx = k1 * (dy - k2 - (x - mean) * k3).
__global__ void finish_grad_kernel(const GradSums* partials, int splits, int64_t channels, double count,
                                   const float* weight, const float* invstd, bool training, float* dweight,
                                   float* dbias, float* coeffs) {
    const int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
    if (c >= channels) return;
    double s_dy = 0, s_dy_xmu = 0;
    for (int s = 0; s < splits; ++s) {
        s_dy += partials[s * channels + c].dy;
        s_dy_xmu += partials[s * channels + c].dy_xmu;
    }
    const double inv = invstd[c];
    if (dweight) dweight[c] = static_cast<float>(s_dy_xmu * inv);
    if (dbias) dbias[c] = static_cast<float>(s_dy);
    coeffs[c] = static_cast<float>((weight ? weight[c] : 1.0) * inv);
    coeffs[channels + c] = training ? static_cast<float>(s_dy / count) : 0.0f;
    coeffs[2 * channels + c] = training ? static_cast<float>(s_dy_xmu * inv * inv / count) : 0.0f;
}

__global__ void dx_kernel(const float* dy, const float* x, const float* mean, const float* coeffs, int64_t total,
                          int64_t channels, int64_t hw, float* dx) {
    GANOPS_GRID_STRIDE(i, total) {
        const int64_t c = (i / hw) % channels;
        const float centred = __fsub_rn(x[i], mean[c]);
        dx[i] = __fmul_rn(coeffs[c], __fsub_rn(__fsub_rn(dy[i], coeffs[channels + c]), __fmul_rn(centred, coeffs[2 * channels + c])));
    }
}

__global__ void dx_eval_kernel(const float* dy, const float* weight, const float* invstd, int64_t total, int64_t channels,
                               int64_t hw, float* dx) {
    GANOPS_GRID_STRIDE(i, total) {
        const int64_t c = (i / hw) % channels;
        dx[i] = __fmul_rn(dy[i], weight ? __fmul_rn(weight[c], invstd[c]) : invstd[c]);
    }
}

int channel_blocks(int64_t channels) { return static_cast<int>((channels + kThreads - 1) / kThreads); }

// ---- hw == 1: x is [rows, channels] row-major (channels-last [N, H, W, C], or 2-d) ----
// The per-channel kernels above would read one channel's values `channels` floats apart:
// a sector per element. Here a block takes 32 channels and a share of the rows; lane l of
// every warp reads channel c0 + l, so a warp loads 128 consecutive bytes of a row (channel
// = index % C), and the block's warps take its rows in turn. Their summaries are merged
// through shared memory (one array per field, so 32 lanes read 32 consecutive doubles) in
// a fixed order, and the partials per (split, channel) feed the same finishing kernels:
// bit-reproducible, like the rest of this file. Partials are stored split-major (channel
// fastest) by every kernel here, so these stores and the finishing kernels' loads (a thread
// per channel) are coalesced.
constexpr int kRowWarps = kThreads / 32;

// Splits of the rows: at least ~16 rows per warp, and about 512 blocks in all (4 per SM of
// an H100), so that the partials (24 bytes per channel and split) stay a few percent of x.
int row_splits_for(int64_t rows, int64_t channels) {
    const int64_t chunks = (channels + 31) / 32;
    const int64_t by_work = (rows + 16 * kRowWarps - 1) / (16 * kRowWarps);
    const int64_t by_fill = (512 + chunks - 1) / chunks;
    return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(std::min(by_work, by_fill), 256)));
}

dim3 row_grid(int64_t channels, int splits) { return dim3(unsigned((channels + 31) / 32), unsigned(splits)); }

// The rows [begin, end) of this block's split.
__device__ inline void split_rows(int64_t rows, int64_t& begin, int64_t& end) {
    const int64_t per_split = (rows + gridDim.y - 1) / gridDim.y;
    begin = blockIdx.y * per_split;
    end = begin + per_split < rows ? begin + per_split : rows;
}

__global__ void moments_rows_kernel(const float* x, int64_t rows, int64_t channels, Moments* partials) {
    __shared__ double count[kRowWarps][32], mean[kRowWarps][32], m2[kRowWarps][32];
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const int64_t c = blockIdx.x * int64_t(32) + lane;
    int64_t begin, end;
    split_rows(rows, begin, end);
    Moments m{0, 0, 0};
    if (c < channels)
        for (int64_t r = begin + warp; r < end; r += kRowWarps) m = add(m, x[r * channels + c]);
    count[warp][lane] = m.count;
    mean[warp][lane] = m.mean;
    m2[warp][lane] = m.m2;
    __syncthreads();
    if (warp == 0 && c < channels) {
        for (int w = 1; w < kRowWarps; ++w) m = merge(m, Moments{count[w][lane], mean[w][lane], m2[w][lane]});
        partials[blockIdx.y * channels + c] = m;
    }
}

__global__ void grad_sums_rows_kernel(const float* dy, const float* x, const float* mean, int64_t rows, int64_t channels,
                                      GradSums* partials) {
    __shared__ double sum_dy[kRowWarps][32], sum_dy_xmu[kRowWarps][32];
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const int64_t c = blockIdx.x * int64_t(32) + lane;
    int64_t begin, end;
    split_rows(rows, begin, end);
    double s_dy = 0, s_dy_xmu = 0;
    if (c < channels) {
        const double m = mean[c];
        for (int64_t r = begin + warp; r < end; r += kRowWarps) {
            const int64_t k = r * channels + c;
            s_dy += dy[k];
            s_dy_xmu += double(dy[k]) * (x[k] - m);
        }
    }
    sum_dy[warp][lane] = s_dy;
    sum_dy_xmu[warp][lane] = s_dy_xmu;
    __syncthreads();
    if (warp == 0 && c < channels) {
        for (int w = 1; w < kRowWarps; ++w) {
            s_dy += sum_dy[w][lane];
            s_dy_xmu += sum_dy_xmu[w][lane];
        }
        partials[blockIdx.y * channels + c] = {s_dy, s_dy_xmu};
    }
}

}  // namespace

void batchnorm2d_forward_train(const float* x, const float* weight, const float* bias, int64_t n, int64_t c,
                               int64_t hw, double eps, double momentum, float* y, float* mean, float* invstd,
                               float* running_mean, float* running_var) {
    // No channel, no work: a grid of 0 blocks is a launch error (and splits_for divides by c).
    if (c == 0) return;
    const int splits = hw == 1 ? row_splits_for(n, c) : splits_for(n * hw, c);
    Tensor partials = Tensor::empty(Shape{c * splits * 3}, DType::F64, Device::CUDA);
    Tensor affine = Tensor::empty(Shape{4 * c}, DType::F32, Device::CUDA);
    auto* moments = reinterpret_cast<Moments*>(partials.data<double>());
    if (hw == 1)
        GANOPS_LAUNCH(moments_rows_kernel, row_grid(c, splits), kThreads, 0, current_stream())(x, n, c, moments);
    else
        GANOPS_LAUNCH(moments_kernel, dim3(unsigned(c), unsigned(splits)), kThreads, 0, current_stream())(x, n, c, hw, moments);
    GANOPS_LAUNCH(finish_moments_kernel, channel_blocks(c), kThreads, 0, current_stream())(
        moments, splits, c, eps, momentum, weight, bias, mean, invstd, running_mean, running_var, affine.data<float>());
    GANOPS_LAUNCH(affine_kernel, grid_for(n * c * hw), kThreads, 0, current_stream())(x, affine.data<float>(), n * c * hw, c, hw, y);
}

void batchnorm2d_forward_eval(const float* x, const float* weight, const float* bias, const float* running_mean,
                              const float* running_var, int64_t n, int64_t c, int64_t hw, double eps, float* y) {
    if (c == 0 || n * hw == 0) return;  // y is empty
    Tensor affine = Tensor::empty(Shape{4 * c}, DType::F32, Device::CUDA);
    GANOPS_LAUNCH(eval_affine_kernel, channel_blocks(c), kThreads, 0, current_stream())(weight, bias, running_mean, running_var,
                                                                                   c, eps, affine.data<float>());
    GANOPS_LAUNCH(affine_kernel, grid_for(n * c * hw), kThreads, 0, current_stream())(x, affine.data<float>(), n * c * hw, c, hw, y);
}

void batchnorm2d_invstd(const float* running_var, int64_t c, double eps, float* invstd) {
    if (c == 0) return;
    GANOPS_LAUNCH(invstd_kernel, grid_for(c), kThreads, 0, current_stream())(running_var, c, eps, invstd);
}

void batchnorm2d_backward(const float* dy, const float* x, const float* weight, const float* mean,
                          const float* invstd, int64_t n, int64_t c, int64_t hw, bool training, float* dx,
                          float* dweight, float* dbias) {
    if (c == 0) return;  // every output is empty
    const int64_t total = n * c * hw;
    if (!training && !dweight && !dbias) {  // evaluation mode: dx needs no reduction
        if (dx) GANOPS_LAUNCH(dx_eval_kernel, grid_for(total), kThreads, 0, current_stream())(dy, weight, invstd, total, c, hw, dx);
        return;
    }
    const int splits = hw == 1 ? row_splits_for(n, c) : splits_for(n * hw, c);
    Tensor partials = Tensor::empty(Shape{c * splits * 2}, DType::F64, Device::CUDA);
    Tensor coeffs = Tensor::empty(Shape{3 * c}, DType::F32, Device::CUDA);
    auto* sums = reinterpret_cast<GradSums*>(partials.data<double>());
    if (hw == 1)
        GANOPS_LAUNCH(grad_sums_rows_kernel, row_grid(c, splits), kThreads, 0, current_stream())(dy, x, mean, n, c, sums);
    else
        GANOPS_LAUNCH(grad_sums_kernel, dim3(unsigned(c), unsigned(splits)), kThreads, 0, current_stream())(dy, x, mean, n, c, hw,
                                                                                                       sums);
    GANOPS_LAUNCH(finish_grad_kernel, channel_blocks(c), kThreads, 0, current_stream())(sums, splits, c, double(n * hw), weight, invstd,
                                                                             training, dweight, dbias, coeffs.data<float>());
    if (dx) {
        GANOPS_LAUNCH(dx_kernel, grid_for(total), kThreads, 0, current_stream())(dy, x, mean, coeffs.data<float>(), total, c, hw, dx);
    }
}

}  // namespace ganops::cuda
