// Channels-last convolution on the GPU: activations NHWC (x[n][h][w][c], y and dy
// [n][p][q][k]), weights KRSC (w[k][r][s][c]); ConvGeometry as for the NCHW passes
// (kernels.h), its sizes naming the same dimensions. Pointers are device memory.
// Precision as conv2d's (core/precision.h): strict fp32 on the SIMT loop, TF32 / BF16 /
// fp32-accurate on the tensor cores, through a 3-stage cp.async pipeline where the channels
// along k come in multiples of 4 (conv_nhwc_problems.h), the register-staged loop otherwise.
// Grad-input (and with it every transposed convolution's forward) runs in stride phases.
// Thin layers (whole-window outputs, 1x1-input transposed layers, 3-channel images) take the
// paths of conv_nhwc_thin.h.
#pragma once
#include "../conv_geometry.h"
#include "conv_bn_fusion.h"

namespace ganops::cuda {

// Which activation operands hold TF32 values already (Tensor::values_are_tf32, written by a
// producer that rounded): the TF32 loop then skips its rounding pass over them, with the same
// bits (mma_plan.h's OperandsTf32). Read in the TF32 mode only; other modes ignore it.
struct ActivationsTf32 {
    bool x = false;
    bool dy = false;
};

// y = conv(x, w) + bias (bias may be null).
void conv2d_forward_nhwc(const ConvGeometry& g, const float* x, const float* w_krsc, const float* bias, float* y,
                         ActivationsTf32 tf32 = {});
// dx = the gradient of conv2d with respect to x, from dy.
void conv2d_backward_input_nhwc(const ConvGeometry& g, const float* dy, const float* w_krsc, float* dx,
                                ActivationsTf32 tf32 = {});
// dw (KRSC) = the gradient with respect to the weights, from dy and x (overwritten, not added to).
void conv2d_backward_weight_nhwc(const ConvGeometry& g, const float* dy, const float* x, float* dw_krsc,
                                 ActivationsTf32 tf32 = {});
// Whether every pass of geometry g that reads x (forward, grad-weight) / dy (grad-input,
// grad-weight) rounds it to TF32 in the current mode: the TF32 mode, on a tensor-core path (not
// the SIMT Gemv or Narrow paths, which read fp32 exactly). Where true, a producer of that
// operand may store it rounded to TF32 and nothing reading it through these passes can tell.
ActivationsTf32 conv2d_nhwc_rounds_to_tf32(const ConvGeometry& g);

// The same passes fused with a batchnorm + activation around them (conv_bn_fusion.h):
//  - in_norm_act (may be null): the pass's activation operand is act(bn(...)) of what is
//    passed: forward's x, grad-input's dy (the transposed conv's input), grad-weight's x or dy;
//  - bn_of_output (may be null): the forward / grad-input output feeds a batchnorm in training,
//    whose statistics (and running statistics, and the next prologue's affine) this call
//    writes, from the GEMM's accumulators where the tensor-core epilogue runs unsplit.
void conv2d_forward_nhwc_fused(const ConvGeometry& g, const float* x, const NormAct* x_norm_act, const float* w_krsc,
                               const float* bias, float* y, const BatchnormOfOutput* bn_of_y);
void conv2d_backward_input_nhwc_fused(const ConvGeometry& g, const float* dy, const NormAct* dy_norm_act, const float* w_krsc,
                                      float* dx, const BatchnormOfOutput* bn_of_dx);
void conv2d_backward_weight_nhwc_fused(const ConvGeometry& g, const float* dy, const NormAct* dy_norm_act, const float* x,
                                       const NormAct* x_norm_act, float* dw_krsc);
// Whether the statistics of bn_of_output come from the epilogue (else from a pass over the
// output): for the tests and the step's launch model.
bool conv2d_forward_nhwc_moments_fused(const ConvGeometry& g);
bool conv2d_backward_input_nhwc_moments_fused(const ConvGeometry& g);

}  // namespace ganops::cuda
