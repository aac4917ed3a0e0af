// Binary cross entropy with mean reduction, on probabilities (PyTorch's BCELoss: each log
// clamped at -100) and on logits (BCEWithLogitsLoss: finite for any logit). The loss is a
// 0-d tensor; the backward takes the loss's gradient as a 0-d tensor too.
#pragma once
#include "../core/tensor.h"

namespace ganops::kernels {

Tensor bce_forward(const Tensor& p, const Tensor& target);
Tensor bce_backward(const Tensor& dloss, const Tensor& p, const Tensor& target);
Tensor bce_with_logits_forward(const Tensor& logits, const Tensor& target);
Tensor bce_with_logits_backward(const Tensor& dloss, const Tensor& logits, const Tensor& target);

}  // namespace ganops::kernels
