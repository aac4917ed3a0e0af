// conv_transpose2d (PyTorch's ConvTranspose2d): x [N, C_in, H, W], w [C_in, C_out, R, S],
// bias [C_out] or undefined. It is conv2d's input gradient, so it runs conv2d's kernels
// with the roles of input and output swapped; nothing is written twice.
#pragma once
#include "../core/tensor.h"
#include "conv2d.h"
#include "conv_geometry.h"

namespace ganops::kernels {

Tensor conv_transpose2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias,
                                const ConvTranspose2dOptions& opt);
Tensor conv_transpose2d_backward_input(const Tensor& dy, const Tensor& w, const Shape& x_shape,
                                       const ConvTranspose2dOptions& opt);
// The weight gradient comes in `w_format`, the weight's memory format (as conv2d's).
Tensor conv_transpose2d_backward_weight(const Tensor& dy, const Tensor& x, const Shape& w_shape,
                                        const ConvTranspose2dOptions& opt, MemoryFormat w_format = MemoryFormat::Contiguous);

// conv2d_reads_tf32 (conv2d.h) for the transposed convolution: its input is conv2d's dy.
ConvReadsTf32 conv_transpose2d_reads_tf32(const Shape& x_shape, const Tensor& w, const ConvTranspose2dOptions& opt);

}  // namespace ganops::kernels
