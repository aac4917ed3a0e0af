// conv2d: forward, and the gradients with respect to input and weight.
// x [N, C, H, W], w [K, C, R, S], bias [K] or undefined -> y [N, K, P, Q].
// Shapes and options are checked here; bad ones throw ganops::Error naming "conv2d".
// Activations may be contiguous or channels-last (core/memory_format.h): the output takes
// the format of the activation it is computed from (x forward, dy backward); weights are
// [K, C, R, S] parameters in either format.
#pragma once
#include "../core/tensor.h"
#include "conv_geometry.h"

namespace ganops::kernels {

Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dOptions& opt);
Tensor conv2d_backward_input(const Tensor& dy, const Tensor& w, const Shape& x_shape, const Conv2dOptions& opt);
// The weight gradient comes in `w_format`, the weight's memory format (a parameter's
// gradient shares its format: nn/adam.h); a channels-last one is what the NHWC kernels write.
Tensor conv2d_backward_weight(const Tensor& dy, const Tensor& x, const Shape& w_shape, const Conv2dOptions& opt,
                              MemoryFormat w_format = MemoryFormat::Contiguous);

// The three passes for an already validated geometry, shared with conv_transpose2d, whose
// forward is conv2d's input gradient and vice versa.
void conv2d_forward(const ConvGeometry& g, const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& y);
void conv2d_backward_input(const ConvGeometry& g, const Tensor& dy, const Tensor& w, const Tensor& dx);
void conv2d_backward_weight(const ConvGeometry& g, const Tensor& dy, const Tensor& x, const Tensor& dw);

}  // namespace ganops::kernels
