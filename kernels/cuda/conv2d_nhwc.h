// Convolution on channels-last activations, for the tensor-core kernels.
#pragma once
#include "../conv_geometry.h"

namespace ganops::cuda {

// Activations NHWC (x[n][h][w][c]), weights KRSC (w[k][r][s][c]); ConvGeometry as for the NCHW passes.
void conv2d_forward_nhwc(const ConvGeometry& g, const float* x, const float* w_krsc, const float* bias, float* y);
void conv2d_backward_input_nhwc(const ConvGeometry& g, const float* dy, const float* w_krsc, float* dx);
void conv2d_backward_weight_nhwc(const ConvGeometry& g, const float* dy, const float* x, float* dw_krsc);

}  // namespace ganops::cuda
