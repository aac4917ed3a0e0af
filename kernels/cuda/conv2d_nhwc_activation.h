// A channels-last convolution whose output goes through LeakyReLU (ReLU at slope 0) in the
// GEMM's store: y = leaky_relu(conv(x, w) + bias), no activation pass over y in memory. The
// discriminator's first layer (a 3-channel image, no batchnorm) is the one the DCGAN runs
// this way (nn::Sequential, the step's D); its backward is the LeakyReLU's (the sign of the
// saved output: slope >= 0 keeps it) and then the convolution's.
// The tensor-core modes TF32 and BF16 only (the cp.async loop, with the 3-channel image
// padded to 4 as conv2d_nhwc.cu pads it); elsewhere the caller composes the two ops.
#pragma once
#include "../conv_geometry.h"

namespace ganops::cuda {

// Whether conv2d_forward_nhwc_leaky_relu runs this geometry in the current precision mode.
bool conv2d_forward_nhwc_leaky_relu_applies(const ConvGeometry& g);
// y = leaky_relu(conv(x, w_krsc) + bias, slope), bit for bit what conv2d_forward_nhwc and then
// the LeakyReLU kernel write. Pointers: device memory, layouts as conv2d_nhwc.h; bias may be null.
// round_tf32 (off by default; TF32 mode only, ignored in BF16): y stored as cvt.rna of those
// bits (tiny positives kept for the backward's sign test: tf32_store.h), for a caller whose only
// readers of y are TF32 convolutions, which may then skip rounding it (mma_plan.h's OperandsTf32).
void conv2d_forward_nhwc_leaky_relu(const ConvGeometry& g, const float* x, const float* w_krsc, const float* bias,
                                    float slope, float* y, bool round_tf32 = false);

}  // namespace ganops::cuda
