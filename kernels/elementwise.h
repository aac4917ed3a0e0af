// Element-wise arithmetic on whole tensors of one shape (no broadcasting).
#pragma once
#include "../core/tensor.h"

namespace ganops::kernels {

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor scale(const Tensor& a, double s);

}  // namespace ganops::kernels
