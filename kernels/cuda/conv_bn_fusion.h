// Batchnorm between two channels-last convolutions, fused into them (issue 13; the device side
// is conv_nhwc_fusion.h, the kernels batchnorm_nhwc_fused.cu): the first conv's epilogue
// gathers the statistics, the second conv's prologue applies the normalisation and the
// activation while loading. Host-safe declarations: pointers are device memory, tensors
// channels-last ([rows = N*H*W][C]).
#pragma once
#include <cmath>
#include <cstdint>

#include "../../core/philox.h"  // GANOPS_HD

namespace ganops::cuda {

// One warp tile's summary of one output channel: its row count, mean and centred sum of
// squares (the epilogue's two-pass statistics of up to WM = 32 rows).
struct TileMoments {
    float count, mean, m2;
};

// y = act((x - centre[c]) * scale[c] + shift[c]): batchnorm-apply + ReLU (negative_slope 0) or
// LeakyReLU, in the centred form of batchnorm2d.cu's affine: x - centre is exact where x is
// near the mean (Sterbenz), so an activation far from zero does not cancel; centre =
// float(mean), and shift = bias - (mean - centre) * scale carries the rest of the mean.
// The three arrays are one buffer of 3 * C floats (batchnorm_nhwc_finish writes it); the
// cp.async prologue reads each as 16-byte quads, so with C % 4 == 0 they must be 16-byte
// aligned (from_buffer on a tensor's storage is).
struct NormAct {
    const float* centre = nullptr;
    const float* scale = nullptr;
    const float* shift = nullptr;
    float negative_slope = 0.0f;

    static NormAct from_buffer(const float* norm_act, int64_t channels, float negative_slope) {
        return {norm_act, norm_act + channels, norm_act + 2 * channels, negative_slope};
    }
    GANOPS_HD float pre_activation(float x, int c) const {
#ifdef __CUDA_ARCH__
        return __fmaf_rn(__fsub_rn(x, centre[c]), scale[c], shift[c]);
#else
        return std::fma(x - centre[c], scale[c], shift[c]);
#endif
    }
    GANOPS_HD float apply(float x, int c) const {
        const float v = pre_activation(x, c);
        return v > 0.0f ? v : v * negative_slope;
    }
};

// The batchnorm (training mode) whose statistics a conv's epilogue gathers: as
// batchnorm2d_forward_train's arguments (running statistics updated alike, mean and invstd
// saved for the backward pass), and norm_act (3 * C floats) for the next conv's prologue.
struct BatchnormOfOutput {
    const float* weight = nullptr;  // may be null (1)
    const float* bias = nullptr;    // may be null (0)
    double eps = 1e-5, momentum = 0.1;
    float* mean = nullptr;
    float* invstd = nullptr;
    float* running_mean = nullptr;  // null: not tracked
    float* running_var = nullptr;
    float* norm_act = nullptr;
};

// Groups of rows [group][channel] -> the batchnorm's statistics: Chan's merge in double in a
// fixed order (bit-reproducible), then as batchnorm2d_forward_train's finishing step.
void batchnorm_nhwc_finish(const TileMoments* groups, int64_t group_count, int64_t channels, const BatchnormOfOutput& bn);
// The same groups (of 32 rows) from an output already in memory: the path for split-K, the
// SIMT loop and the one-pixel grad-input, whose epilogues gather nothing.
void batchnorm_nhwc_moments_from_rows(const float* y, int64_t rows, int64_t channels, TileMoments* groups);
GANOPS_HD int64_t batchnorm_nhwc_row_groups(int64_t rows) { return (rows + 31) / 32; }
// The unfused apply: y = act(bn(x)) element-wise (what the prologue computes on load).
void batchnorm_act_nhwc_apply(const float* x, int64_t rows, int64_t channels, const NormAct& na, float* y);
// Backward of y = act(bn(x)) given dL/dy (what the next conv's grad-input returns): the
// activation's mask is recomputed from x (y itself was never stored), then batchnorm2d's
// backward on x (mean and invstd as the forward saved them). Outputs may be null.
void batchnorm_act_nhwc_backward(const float* dy, const float* x, const NormAct& na, const float* weight, const float* mean,
                                 const float* invstd, int64_t rows, int64_t channels, float* dx, float* dweight,
                                 float* dbias);

}  // namespace ganops::cuda
