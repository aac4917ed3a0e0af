// Conv2d -> LeakyReLU (slope >= 0) or ReLU inside a Sequential, run as one op
// (nn/functional.h conv2d_leaky_relu) where its fused kernel applies (float32 channels-last
// CUDA, TF32 / BF16): the DCGAN discriminator's first layer, whose image has no batchnorm
// after the conv. Modules, names, parameters and checkpoints are unchanged: only how
// Sequential (and the DCGAN step's D) runs them.
#pragma once
#include "conv_bn_chain.h"  // Children

namespace ganops::nn {

// Runs children[i] and children[i + 1] as one op where children[i] is a Conv2d, children[i + 1]
// a ReLU or a LeakyReLU with slope >= 0, and the fused kernel takes h: returns 2. Else 0, and
// h is untouched. round_tf32: the output is rounded to TF32 where children[i + 2] reads it so
// (nn/tf32_between_layers.h; Sequential's round_tf32_between_layers).
size_t run_conv_activation(const Children& children, size_t i, Tensor& h, bool round_tf32 = false);

}  // namespace ganops::nn
