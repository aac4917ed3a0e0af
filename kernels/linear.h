// A fully connected layer: x [N, in], w [out, in], bias [out] or undefined -> y [N, out].
#pragma once
#include "../core/tensor.h"

namespace ganops::kernels {

Tensor linear_forward(const Tensor& x, const Tensor& w, const Tensor& bias);
Tensor linear_backward_input(const Tensor& dy, const Tensor& w);
Tensor linear_backward_weight(const Tensor& dy, const Tensor& x);
// The bias gradient is channel_sum(dy) (kernels/reduce.h).

}  // namespace ganops::kernels
