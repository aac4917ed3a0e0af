// Reductions over whole tensors and over every dimension but the channel one.
#pragma once
#include "../core/tensor.h"

namespace ganops::kernels {

Tensor sum_all(const Tensor& x);  // a 0-d tensor
// A tensor of `shape` whose every element is scalar * factor (the gradient of sum and mean).
Tensor expand_scalar(const Tensor& scalar, const Shape& shape, double factor);
// x [n, c] or [n, c, h, w] -> [c], summed over every other dimension (bias gradients).
Tensor channel_sum(const Tensor& x);
// x [n, ...] -> [...]: the mean over dimension 0 (batch statistics of features).
Tensor mean_rows(const Tensor& x);
// row [...] -> [n, ...]: every row a copy of `row` times factor (mean_rows' gradient).
Tensor repeat_rows(const Tensor& row, int64_t n, double factor);
// y [n, c, ...] += bias[c], in place.
void add_channel_bias(const Tensor& y, const Tensor& bias);

}  // namespace ganops::kernels
