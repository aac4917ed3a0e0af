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
// Requires conv2d_leaky_relu_fuses.
Tensor conv2d_leaky_relu_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dOptions& opt, double slope);

}  // namespace ganops::kernels
