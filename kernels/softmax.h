// Softmax over the classes of x [rows, classes], and the mean softmax cross entropy against
// labels [rows] that hold class indices (0 .. classes-1) as numbers. Losses are 0-d.
#pragma once
#include "../core/tensor.h"

namespace ganops::kernels {

Tensor softmax_forward(const Tensor& x);
Tensor softmax_backward(const Tensor& dy, const Tensor& y);  // y = softmax(x)
Tensor softmax_cross_entropy_forward(const Tensor& logits, const Tensor& labels);
Tensor softmax_cross_entropy_backward(const Tensor& dloss, const Tensor& logits, const Tensor& labels);

}  // namespace ganops::kernels
