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

// Which activation operands every pass of this convolution reads rounded to TF32, for a float32
// channels-last CUDA input of shape x_shape: the NHWC passes in the TF32 mode, except the SIMT
// paths (cuda/conv2d_nhwc.h's conv2d_nhwc_rounds_to_tf32). input: the forward and grad-weight
// read x that way; grad_output: grad-input and grad-weight read dy that way. A producer whose
// output only such passes read may round it to TF32 (and mark it: Tensor::mark_values_tf32)
// without changing a bit of the convolution's results, which then skip their rounding pass.
// Anything else (a CPU or float64 weight): neither.
struct ConvReadsTf32 {
    bool input = false;
    bool grad_output = false;
};
ConvReadsTf32 conv2d_reads_tf32(const Shape& x_shape, const Tensor& w, const Conv2dOptions& opt);

// The three passes for an already validated geometry, shared with conv_transpose2d, whose
// forward is conv2d's input gradient and vice versa.
void conv2d_forward(const ConvGeometry& g, const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& y);
void conv2d_backward_input(const ConvGeometry& g, const Tensor& dy, const Tensor& w, const Tensor& dx);
void conv2d_backward_weight(const ConvGeometry& g, const Tensor& dy, const Tensor& x, const Tensor& dw);

}  // namespace ganops::kernels
