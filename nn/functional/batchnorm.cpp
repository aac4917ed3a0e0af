// batchnorm2d with autograd, in training and evaluation mode.
#include "../../kernels/batchnorm2d.h"
#include "../functional.h"

namespace ganops {

Tensor batchnorm2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                   const Tensor& running_var, bool training, double momentum, double eps) {
    Tensor y, mean, invstd;
    if (training) {
        kernels::BatchNormStats s =
            kernels::batchnorm2d_forward_train(x, weight, bias, running_mean, running_var, momentum, eps);
        y = s.y;
        mean = s.mean;
        invstd = s.invstd;
    } else {
        y = kernels::batchnorm2d_forward_eval(x, weight, bias, running_mean, running_var, eps);
        // Only the backward pass needs these; keep the graph-free path free of the work.
        if (grad_mode_enabled() && (x.requires_grad() || (weight.defined() && weight.requires_grad()) ||
                                    (bias.defined() && bias.requires_grad()))) {
            mean = running_mean.clone();
            invstd = kernels::batchnorm2d_invstd(running_var, eps);
        }
    }
    return record("batchnorm2d", y, {x, weight, bias},
                  [x, weight, mean, invstd, training](const Tensor& dy, const std::vector<bool>& needs) {
                      kernels::BatchNormGrads g = kernels::batchnorm2d_backward(
                          dy, x, weight, mean, invstd, training, needs[0], needs[1], needs[2]);
                      return std::vector<Tensor>{g.dx, g.dweight, g.dbias};
                  });
}

Tensor batchnorm2d_leaky_relu(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                              const Tensor& running_var, double slope, double momentum, double eps, RoundToTf32 round) {
    kernels::BatchNormStats s = kernels::batchnorm2d_leaky_relu_forward_train(x, weight, bias, running_mean, running_var,
                                                                              momentum, eps, slope, round.output);
    // The output is saved detached, so the node does not keep itself alive through it.
    return record("batchnorm2d_leaky_relu", s.y, {x, weight, bias},
                  [x, weight, mean = s.mean, invstd = s.invstd, y = s.y.detach(), slope, round](
                      const Tensor& dy, const std::vector<bool>& needs) {
                      kernels::BatchNormGrads g = kernels::batchnorm2d_leaky_relu_backward(
                          dy, x, y, weight, mean, invstd, slope, needs[0], needs[1], needs[2], round.grad_input);
                      return std::vector<Tensor>{g.dx, g.dweight, g.dbias};
                  });
}

}  // namespace ganops
