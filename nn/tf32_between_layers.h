// Layers that round their outputs to TF32 for the convolution after them, so that its TF32
// loop skips its own rounding pass (kernels/cuda/mma_plan.h's OperandsTf32): an opt-in of
// nn::Sequential (round_tf32_between_layers) that the DCGAN step turns on. The rule: a fused
// op rounds a tensor only where every reader of it rounds it the same way (then no result
// changes by a bit), i.e. where
//  - its output goes to a Conv2d / ConvTranspose2d whose every pass reading it (forward and
//    grad-weight) is a TF32 tensor-core pass (kernels/conv2d.h's conv2d_reads_tf32), besides
//    the op's own backward, which reads only its sign (kept: kernels/cuda/tf32_store.h);
//  - the gradient of its input goes to the convolution that produced that input, whose
//    grad-input and grad-weight are such passes and which takes no bias gradient (a sum of
//    that gradient in fp32).
// So nothing rounds in strict fp32, fp32-accurate or BF16 (no TF32 reader), before a SIMT
// pass (the discriminator's last layer, a strict-fp32 GEMV; the generator's 3-channel last
// layer) or at the end of a run (an output the caller reads).
#pragma once
#include "conv_bn_chain.h"  // Children
#include "functional.h"     // RoundToTf32

namespace ganops::nn {

// Whether `reader` (a Conv2d or ConvTranspose2d; anything else: false) reads an input of shape
// x_shape, held as `like` is (float32 channels-last CUDA: else false), rounded to TF32 in every
// pass that reads it.
bool reads_input_as_tf32(const Module& reader, const Shape& x_shape, const Tensor& like);
// Whether `conv` (a Conv2d or ConvTranspose2d, run on x) reads its output's gradient rounded
// to TF32 in every pass that reads it, and takes no bias gradient.
bool reads_grad_output_as_tf32(const Module& conv, const Tensor& x);

// What the fused batchnorm + activation at children[i], children[i + 1], run on h, rounds:
// its output where children[i + 2] reads it so; its input's gradient where children[i - 1]
// is a convolution that ran alone on conv_input (undefined where that is not so) and reads it so.
RoundToTf32 batchnorm_activation_rounding(const Children& children, size_t i, const Tensor& h, const Tensor& conv_input);

}  // namespace ganops::nn
