// Differentiable ops: each computes its result with the kernels (kernels/) and records how
// to differentiate it (core/autograd.h). This is the layer models are written in.
#pragma once
#include "../core/autograd.h"
#include "../core/tensor.h"
#include "../kernels/conv_geometry.h"

namespace ganops {

struct Generator;
namespace kernels {
struct BatchnormOnLoad;
struct FusedConv;
}  // namespace kernels

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
              const Conv2dOptions& opt = Conv2dOptions());
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
                        const ConvTranspose2dOptions& opt = ConvTranspose2dOptions());

// Training: normalise with batch statistics and update running_mean/var (when defined) in
// place. Evaluation: normalise with the running statistics.
Tensor batchnorm2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                   const Tensor& running_var, bool training, double momentum = 0.1, double eps = 1e-5);
// Which tensors a fused op stores rounded to TF32 and marks so (Tensor::values_are_tf32): its
// output, the gradient it returns for its input. Off by default (the values change); for a
// caller whose only readers of them are convolutions that round them the same way
// (kernels/conv2d.h's conv2d_reads_tf32), which then skip their own rounding pass: the DCGAN
// step in the TF32 mode (nn::Sequential's round_tf32_between_layers).
struct RoundToTf32 {
    bool output = false;
    bool grad_input = false;
};

// leaky_relu(batchnorm2d(x, ..., training = true, ...), slope) in one pass each way: the
// same results and gradients; CPU tensors and slope >= 0 only (relu is slope 0).
// round (CUDA only): see RoundToTf32.
Tensor batchnorm2d_leaky_relu(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                              const Tensor& running_var, double negative_slope, double momentum = 0.1,
                              double eps = 1e-5, RoundToTf32 round = {});

// conv(act(bn(x))) or conv(x) (+ bias), conv2d or conv_transpose2d (kernels/conv_bn_fusion.h):
// with `in`, a training batchnorm + ReLU/LeakyReLU applied to x while the conv loads it; with
// `out`, the statistics of the batchnorm that reads y gathered by this conv (for the next
// conv_fused's `in`). Same results and gradients as the unfused ops, which it composes where
// the fused kernels do not apply (not float32 channels-last CUDA).
Tensor conv_fused(const Tensor& x, kernels::BatchnormOnLoad* in, const Tensor& weight, const Tensor& bias,
                  const kernels::FusedConv& conv, kernels::BatchnormOnLoad* out);

// leaky_relu(conv2d(x, weight, bias, opt), slope) as one op: one kernel forward on float32
// channels-last CUDA in the TF32 / BF16 modes with slope >= 0 (kernels/conv2d_leaky_relu.h),
// the two ops elsewhere; the same values and gradients either way.
// round.output: the fused kernel's y in TF32 (RoundToTf32; the TF32 mode, where it fuses).
Tensor conv2d_leaky_relu(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& opt, double slope,
                         RoundToTf32 round = {});

Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());
// Inverted dropout in training (zero with probability p, scale the rest by 1 / (1 - p));
// the identity in evaluation.
Tensor dropout(const Tensor& x, double p, bool training, Generator& gen);

// Mean losses, 0-d results.
Tensor binary_cross_entropy(const Tensor& p, const Tensor& target);
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target);

// Softmax over the classes of x [rows, classes]; mean cross entropy of softmax(logits)
// against labels [rows] holding class indices.
Tensor softmax(const Tensor& x);
Tensor softmax_cross_entropy(const Tensor& logits, const Tensor& labels);

// a [N, Ca, ...] and b [N, Cb, ...] joined along dimension 1.
Tensor concat_channels(const Tensor& a, const Tensor& b);
// Max over PyTorch's adaptive windows, x [N, C, H, W] -> [N, C, oh, ow].
Tensor adaptive_max_pool2d(const Tensor& x, int64_t oh, int64_t ow);

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, double s);
Tensor sum(const Tensor& x);   // over all elements, 0-d
Tensor mean(const Tensor& x);  // over all elements, 0-d
Tensor mean_rows(const Tensor& x);  // x [N, ...] -> [...], the mean over dimension 0

}  // namespace ganops
