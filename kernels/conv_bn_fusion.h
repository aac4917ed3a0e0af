// Conv -> batchnorm (training) -> ReLU/LeakyReLU -> conv with the batchnorm fused into the two
// convolutions (issue 13): the first conv's epilogue gathers the statistics, the second conv
// applies batchnorm + activation to its input while loading it, so the normalised activation
// is never written. Tensors: float32 channels-last on CUDA (fusion_applies); the functional op
// (nn/functional.h, conv_fused) composes the unfused ops everywhere else.
//
// A conv here is conv2d or conv_transpose2d (the DCGAN's discriminator and generator chains).
#pragma once
#include <vector>

#include "../core/tensor.h"
#include "conv_geometry.h"

namespace ganops::kernels {

// A conv2d or a conv_transpose2d, with its geometry in conv2d's terms (conv_geometry.h).
struct FusedConv {
    bool transposed = false;
    Conv2dOptions conv_opt;            // when !transposed
    ConvTranspose2dOptions tconv_opt;  // when transposed
    ConvGeometry geometry(const Tensor& x, const Tensor& w) const;
    Shape output_shape(const Tensor& x, const Tensor& w) const;
};

// A training batchnorm whose input is a fused conv's output: its parameters and running
// statistics (updated in place), and what the conv's epilogue computed for it.
struct BatchnormOnLoad {
    Tensor weight, bias, running_mean, running_var;  // running_* may be undefined
    double momentum = 0.1, eps = 1e-5;
    double negative_slope = 0.0;  // the activation after it: 0 ReLU, else LeakyReLU
    Tensor mean, invstd, norm_act;  // written by the producing conv (3 * C floats for norm_act)
};

// Whether the fused kernels take these tensors (CUDA, float32, channels-last activations).
bool fusion_applies(const Tensor& x);

// The statistics of x for `bn` (and its running update) by a pass over x, for an input whose
// producer did not gather them.
void batchnorm_on_load_statistics(const Tensor& x, BatchnormOnLoad& bn);

// y = conv(in ? act(bn(x)) : x, w) + bias; when out is given, y's batchnorm statistics go to
// out->mean / invstd / norm_act and its running statistics are updated (out's tensors are
// allocated here).
Tensor fused_conv_forward(const FusedConv& conv, const Tensor& x, const BatchnormOnLoad* in, const Tensor& w,
                          const Tensor& bias, BatchnormOnLoad* out);

// Gradients of fused_conv_forward's y with respect to x, in.weight, in.bias, w and bias
// (undefined where !needs[i] or the input is absent). The activation's mask and the
// normalised input are recomputed from x.
std::vector<Tensor> fused_conv_backward(const FusedConv& conv, const Tensor& dy, const Tensor& x, const BatchnormOnLoad* in,
                                        const Tensor& w, const Tensor& bias, const std::vector<bool>& needs);

}  // namespace ganops::kernels
