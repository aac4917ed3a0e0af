// batchnorm2d over x [N, C, H, W] (or [N, C]): per channel, normalise by the batch's mean and
// biased variance in training, by the running statistics in evaluation; then scale by
// weight and shift by bias (both [C], or both undefined when not affine).
#pragma once
#include "../core/tensor.h"

namespace ganops::kernels {

struct BatchNormStats {
    Tensor y;
    Tensor mean;    // [C], what the backward pass needs
    Tensor invstd;  // [C], 1 / sqrt(var + eps)
};

// Training forward. When running_mean/running_var are defined they are updated in place:
// running = (1 - momentum) * running + momentum * batch statistic, with the unbiased
// variance, as PyTorch does.
BatchNormStats batchnorm2d_forward_train(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                         const Tensor& running_mean, const Tensor& running_var,
                                         double momentum, double eps);
Tensor batchnorm2d_forward_eval(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                const Tensor& running_mean, const Tensor& running_var, double eps);
// Evaluation-mode statistics in the form the backward pass takes.
Tensor batchnorm2d_invstd(const Tensor& running_var, double eps);

struct BatchNormGrads {
    Tensor dx, dweight, dbias;
};
// `training` says whether mean/invstd were the batch's (and so depend on x). Gradients not
// asked for are left undefined.
BatchNormGrads batchnorm2d_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& mean,
                                    const Tensor& invstd, bool training, bool want_dx, bool want_dweight,
                                    bool want_dbias);

// batchnorm2d_forward_train followed by leaky_relu (slope >= 0; relu is slope 0) in one pass
// over the data each way (kernels/cpu/batchnorm2d_activation.cpp; on CUDA a statistics pass
// and one normalise-and-activate pass, kernels/cuda/batchnorm2d_activation.cu, NCHW or
// channels-last). `y` is the activation's output, in x's memory format; running statistics
// are updated as batchnorm2d_forward_train does.
// round_tf32 (CUDA only; off by default: the values change): y stored rounded to TF32
// (cuda/batchnorm2d_activation.h) and marked so (Tensor::values_are_tf32), for a caller whose
// only readers of y are convolutions that round it the same way (conv2d_reads_tf32) and the
// backward's sign test, which the rounding keeps (cuda/tf32_store.h).
BatchNormStats batchnorm2d_leaky_relu_forward_train(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                                    const Tensor& running_mean, const Tensor& running_var,
                                                    double momentum, double eps, double slope, bool round_tf32 = false);
// Its gradients from dy, given the input x and the forward's output y. round_tf32: dx as the
// forward's y (CUDA only), for a dx whose only readers round it so (the grad-input and
// grad-weight of the convolution that produced x, which has no bias to take a gradient of).
BatchNormGrads batchnorm2d_leaky_relu_backward(const Tensor& dy, const Tensor& x, const Tensor& y,
                                               const Tensor& weight, const Tensor& mean, const Tensor& invstd,
                                               double slope, bool want_dx, bool want_dweight, bool want_dbias,
                                               bool round_tf32 = false);

}  // namespace ganops::kernels
