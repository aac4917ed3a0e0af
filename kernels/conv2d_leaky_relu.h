// conv2d followed by LeakyReLU (ReLU at slope 0) as one pass where a fused kernel runs it:
// a float32 channels-last CUDA input in the TF32 or BF16 mode, slope >= 0
// (cuda/conv2d_nhwc_activation.h). Elsewhere the caller runs the two ops (nn/functional.h
// conv2d_leaky_relu does). Shapes, options and bias are checked as conv2d_forward checks them.
#pragma once
#include "../core/tensor.h"
#include "conv_geometry.h"

namespace ganops::kernels {

bool conv2d_leaky_relu_fuses(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dOptions& opt, double slope);
// y = leaky_relu(conv2d(x, w) + bias, slope), channels-last, bit for bit the two ops' result.
// Requires conv2d_leaky_relu_fuses. round_tf32 (off by default: the values change): in the TF32
// mode, y stored rounded to TF32 and marked so (Tensor::values_are_tf32), for a caller whose
// only readers of y round it the same way (conv2d_reads_tf32) and the backward's sign test
// (kept: cuda/tf32_store.h); ignored in BF16.
Tensor conv2d_leaky_relu_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dOptions& opt, double slope,
                                 bool round_tf32 = false);

}  // namespace ganops::kernels
