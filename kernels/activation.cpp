#include "activation.h"

#include "checks.h"
#include "cpu/reference.h"
#include "cuda/kernels.h"
#include "layout.h"

namespace ganops::kernels {

namespace {
using cpu::Activation;

Tensor forward(const char* op, Activation a, double slope, const Tensor& x) {
    check_defined(op, "input", x);
    check_compatible(op, {{"input", &x}}, Formats::Any);  // element-wise: the output keeps x's format
    Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device(), x.memory_format());
    if (on_cuda(op, x)) {
        cuda::activation_forward(static_cast<cuda::Activation>(a), static_cast<float>(slope), x.data<float>(),
                                 y.data<float>(), x.numel());
        return y;
    }
    on_cpu_float_type(op, x, [&](auto t) {
        using T = decltype(t);
        cpu::activation_forward<T>(a, slope, x.data<T>(), y.data<T>(), x.numel());
    });
    return y;
}

// The input gradient comes out in the saved tensor's (the forward input's or output's)
// format, so a channels-last network gets channels-last gradients.
Tensor backward(const char* op, Activation a, double slope, const Tensor& dy_any, const Tensor& saved) {
    check_defined(op, "grad_output", dy_any);
    check_defined(op, "saved tensor", saved);
    check_compatible(op, {{"grad_output", &dy_any}, {"saved tensor", &saved}}, Formats::Any);
    check_same_shape(op, "grad_output", dy_any, "saved tensor", saved);
    const Tensor dy = in_format_of(saved, dy_any);
    Tensor dx = Tensor::empty(dy.shape(), dy.dtype(), dy.device(), saved.memory_format());
    if (on_cuda(op, dy)) {
        cuda::activation_backward(static_cast<cuda::Activation>(a), static_cast<float>(slope), dy.data<float>(),
                                  saved.data<float>(), dx.data<float>(), dy.numel());
        return dx;
    }
    on_cpu_float_type(op, dy, [&](auto t) {
        using T = decltype(t);
        cpu::activation_backward<T>(a, slope, dy.data<T>(), saved.data<T>(), dx.data<T>(), dy.numel());
    });
    return dx;
}
}  // namespace

Tensor relu_forward(const Tensor& x) { return forward("relu", Activation::ReLU, 0, x); }
Tensor relu_backward(const Tensor& dy, const Tensor& x) { return backward("relu_backward", Activation::ReLU, 0, dy, x); }
Tensor leaky_relu_forward(const Tensor& x, double slope) {
    return forward("leaky_relu", Activation::LeakyReLU, slope, x);
}
Tensor leaky_relu_backward(const Tensor& dy, const Tensor& x, double slope) {
    return backward("leaky_relu_backward", Activation::LeakyReLU, slope, dy, x);
}
Tensor tanh_forward(const Tensor& x) { return forward("tanh", Activation::Tanh, 0, x); }
Tensor tanh_backward(const Tensor& dy, const Tensor& y) { return backward("tanh_backward", Activation::Tanh, 0, dy, y); }
Tensor sigmoid_forward(const Tensor& x) { return forward("sigmoid", Activation::Sigmoid, 0, x); }
Tensor sigmoid_backward(const Tensor& dy, const Tensor& y) {
    return backward("sigmoid_backward", Activation::Sigmoid, 0, dy, y);
}

}  // namespace ganops::kernels
