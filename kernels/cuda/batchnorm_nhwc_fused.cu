// The batchnorm kernels of the conv -> batchnorm -> activation -> conv fusion (conv_bn_fusion.h):
//   batchnorm_nhwc_finish            the epilogue's TileMoments -> mean, invstd, running
//                                    statistics and the prologue's (centre, scale, shift);
//   batchnorm_nhwc_moments_from_rows the same TileMoments from an output in memory (where no
//                                    epilogue gathered them);
//   batchnorm_act_nhwc_apply         act(bn(x)) element-wise (the unfused form, for the tests
//                                    and for a batchnorm whose consumer is not a conv);
//   batchnorm_act_nhwc_backward      the activation's mask recomputed from x, then batchnorm2d's
//                                    backward.
// Merging: a block takes 32 channels (lane = channel: a warp reads 32 consecutive TileMoments
// of one group) and a share of the groups, its warps merge groups in turn (Chan's formula in
// double, welford.h), then warp 0 merges the warps in a fixed order; one thread per channel
// merges the blocks' results in order. Every order is fixed: bit-reproducible.
#include "../../core/tensor.h"
#include "conv_bn_fusion.h"
#include "kernels.h"
#include "launch.cuh"
#include "welford.h"

namespace ganops::cuda {

namespace {

constexpr int kWarps = kThreads / 32;

// Splits of the groups: ~16 groups per warp at least, ~512 blocks in all, at most 256.
int group_splits_for(int64_t groups, int64_t channels) {
    const int64_t chunks = (channels + 31) / 32;
    const int64_t by_work = (groups + 16 * kWarps - 1) / (16 * kWarps);
    const int64_t by_fill = (512 + chunks - 1) / chunks;
    return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(std::min(by_work, by_fill), 256)));
}

__global__ void merge_tile_moments_kernel(const TileMoments* groups, int64_t group_count, int64_t channels, Moments* partials) {
    __shared__ double count[kWarps][32], mean[kWarps][32], m2[kWarps][32];
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const int64_t c = blockIdx.x * int64_t(32) + lane;
    const int64_t per_split = (group_count + gridDim.y - 1) / gridDim.y;
    const int64_t begin = blockIdx.y * per_split, end = min(group_count, begin + per_split);
    Moments m{0, 0, 0};
    if (c < channels)
        for (int64_t g = begin + warp; g < end; g += kWarps) {
            const TileMoments t = groups[g * channels + c];
            m = merge(m, Moments{t.count, t.mean, t.m2});
        }
    count[warp][lane] = m.count;
    mean[warp][lane] = m.mean;
    m2[warp][lane] = m.m2;
    __syncthreads();
    if (warp == 0 && c < channels) {
        for (int w = 1; w < kWarps; ++w) m = merge(m, Moments{count[w][lane], mean[w][lane], m2[w][lane]});
        partials[blockIdx.y * channels + c] = m;
    }
}

// As batchnorm2d.cu's finishing step (same statistics, same running update), writing the
// prologue's centred affine instead of the normalising pass's.
__global__ void finish_kernel(const Moments* partials, int splits, int64_t channels, BatchnormOfOutput bn) {
    const int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
    if (c >= channels) return;
    Moments m{0, 0, 0};
    for (int s = 0; s < splits; ++s) m = merge(m, partials[s * channels + c]);
    const double var = m.m2 / m.count, inv = 1.0 / sqrt(var + bn.eps);
    bn.mean[c] = static_cast<float>(m.mean);
    bn.invstd[c] = static_cast<float>(inv);
    if (bn.running_mean) {
        bn.running_mean[c] = static_cast<float>((1 - bn.momentum) * bn.running_mean[c] + bn.momentum * m.mean);
        bn.running_var[c] =
            static_cast<float>((1 - bn.momentum) * bn.running_var[c] + bn.momentum * var * m.count / (m.count - 1));
    }
    if (bn.norm_act) {
        const double scale = bn.weight ? bn.weight[c] * inv : inv;
        const float centre = static_cast<float>(m.mean), scale_f = static_cast<float>(scale);
        bn.norm_act[c] = centre;
        bn.norm_act[channels + c] = scale_f;
        bn.norm_act[2 * channels + c] =
            static_cast<float>((bn.bias ? double(bn.bias[c]) : 0.0) - (m.mean - double(centre)) * scale_f);
    }
}

// One thread per (group of 32 rows, channel): the epilogue's two passes, from memory.
__global__ void moments_from_rows_kernel(const float* y, int64_t rows, int64_t channels, TileMoments* groups) {
    GANOPS_GRID_STRIDE(i, batchnorm_nhwc_row_groups(rows) * channels) {
        const int64_t c = i % channels, g = i / channels;
        const int64_t begin = g * 32, end = min(rows, begin + 32);
        float sum = 0.0f;
        for (int64_t r = begin; r < end; ++r) sum = __fadd_rn(sum, y[r * channels + c]);
        const float count = float(end - begin), mean = __fdiv_rn(sum, count);
        float m2 = 0.0f;
        for (int64_t r = begin; r < end; ++r) {
            const float d = __fsub_rn(y[r * channels + c], mean);
            m2 = __fmaf_rn(d, d, m2);
        }
        groups[i] = {count, mean, m2};
    }
}

__global__ void apply_kernel(const float* x, int64_t total, int64_t channels, NormAct na, float* y) {
    GANOPS_GRID_STRIDE(i, total) { y[i] = na.apply(x[i], int(i % channels)); }
}

// dL/d(pre-activation) = dL/dy * act'(bn(x)), the mask recomputed from x.
__global__ void activation_mask_kernel(const float* dy, const float* x, int64_t total, int64_t channels, NormAct na,
                                       float* dz) {
    GANOPS_GRID_STRIDE(i, total) {
        const float v = na.pre_activation(x[i], int(i % channels));
        dz[i] = v > 0.0f ? dy[i] : __fmul_rn(dy[i], na.negative_slope);
    }
}

}  // namespace

void batchnorm_nhwc_finish(const TileMoments* groups, int64_t group_count, int64_t channels, const BatchnormOfOutput& bn) {
    if (channels == 0) return;
    const int splits = group_splits_for(group_count, channels);
    Tensor partials = Tensor::empty(Shape{channels * splits * 3}, DType::F64, Device::CUDA);
    auto* moments = reinterpret_cast<Moments*>(partials.data<double>());
    GANOPS_LAUNCH(merge_tile_moments_kernel, dim3(unsigned((channels + 31) / 32), unsigned(splits)), kThreads, 0,
                  current_stream())(groups, group_count, channels, moments);
    GANOPS_LAUNCH(finish_kernel, int((channels + kThreads - 1) / kThreads), kThreads, 0, current_stream())(moments, splits,
                                                                                                      channels, bn);
}

void batchnorm_nhwc_moments_from_rows(const float* y, int64_t rows, int64_t channels, TileMoments* groups) {
    const int64_t total = batchnorm_nhwc_row_groups(rows) * channels;
    if (total == 0) return;
    GANOPS_LAUNCH(moments_from_rows_kernel, grid_for(total), kThreads, 0, current_stream())(y, rows, channels, groups);
}

void batchnorm_act_nhwc_apply(const float* x, int64_t rows, int64_t channels, const NormAct& na, float* y) {
    const int64_t total = rows * channels;
    if (total == 0) return;
    GANOPS_LAUNCH(apply_kernel, grid_for(total), kThreads, 0, current_stream())(x, total, channels, na, y);
}

void batchnorm_act_nhwc_backward(const float* dy, const float* x, const NormAct& na, const float* weight, const float* mean,
                                 const float* invstd, int64_t rows, int64_t channels, float* dx, float* dweight,
                                 float* dbias) {
    const int64_t total = rows * channels;
    if (total == 0) return;
    Tensor dz = Tensor::empty(Shape{total}, DType::F32, Device::CUDA);
    GANOPS_LAUNCH(activation_mask_kernel, grid_for(total), kThreads, 0, current_stream())(dy, x, total, channels, na,
                                                                                        dz.data<float>());
    batchnorm2d_backward(dz.data<float>(), x, weight, mean, invstd, rows, channels, 1, true, dx, dweight, dbias);
}

}  // namespace ganops::cuda
