// ReLU, LeakyReLU, tanh and sigmoid, forward and backward, element-wise on any shape.
#pragma once
#include "../core/tensor.h"

namespace ganops::kernels {

Tensor relu_forward(const Tensor& x);
// `x` is the input or, as autograd passes it, the output: the backward reads only whether
// it is > 0, which y = relu(x) and y = leaky_relu(x, slope >= 0) say exactly where x does.
Tensor relu_backward(const Tensor& dy, const Tensor& x);
Tensor leaky_relu_forward(const Tensor& x, double slope);
Tensor leaky_relu_backward(const Tensor& dy, const Tensor& x, double slope);
Tensor tanh_forward(const Tensor& x);
Tensor tanh_backward(const Tensor& dy, const Tensor& y);  // y = tanh(x)
Tensor sigmoid_forward(const Tensor& x);
Tensor sigmoid_backward(const Tensor& dy, const Tensor& y);  // y = sigmoid(x)

}  // namespace ganops::kernels
