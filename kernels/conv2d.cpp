#include "conv2d.h"

#include "checks.h"
#include "cpu/conv2d_batched.h"
#include "cuda/kernels.h"

namespace ganops::kernels {

void conv2d_forward(const ConvGeometry& g, const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& y) {
    if (on_cuda("conv2d_forward", x)) {
        cuda::conv2d_forward(g, x.data<float>(), w.data<float>(), f32_or_null(bias), y.data<float>());
        return;
    }
    on_cpu_float_type("conv2d_forward", x, [&](auto t) {
        using T = decltype(t);
        cpu::conv2d_forward_batched<T>(g, x.data<T>(), w.data<T>(), bias.defined() ? bias.data<T>() : nullptr, y.data<T>());
    });
}

void conv2d_backward_input(const ConvGeometry& g, const Tensor& dy, const Tensor& w, const Tensor& dx) {
    if (on_cuda("conv2d_backward_input", dy)) {
        cuda::conv2d_backward_input(g, dy.data<float>(), w.data<float>(), dx.data<float>());
        return;
    }
    on_cpu_float_type("conv2d_backward_input", dy, [&](auto t) {
        using T = decltype(t);
        cpu::conv2d_backward_input_batched<T>(g, dy.data<T>(), w.data<T>(), dx.data<T>());
    });
}

void conv2d_backward_weight(const ConvGeometry& g, const Tensor& dy, const Tensor& x, const Tensor& dw) {
    if (on_cuda("conv2d_backward_weight", dy)) {
        cuda::conv2d_backward_weight(g, dy.data<float>(), x.data<float>(), dw.data<float>());
        return;
    }
    on_cpu_float_type("conv2d_backward_weight", dy, [&](auto t) {
        using T = decltype(t);
        cpu::conv2d_backward_weight_batched<T>(g, dy.data<T>(), x.data<T>(), dw.data<T>());
    });
}

Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dOptions& opt) {
    check_defined("conv2d", "input", x);
    check_defined("conv2d", "weight", w);
    check_compatible("conv2d", {{"input", &x}, {"weight", &w}, {"bias", &bias}});
    const ConvGeometry g = conv2d_geometry("conv2d", x.shape(), w.shape(), opt);
    if (bias.defined())
        GANOPS_CHECK(bias.ndim() == 1 && bias.size(0) == g.out_channels, "conv2d: bias ", bias.str(),
                     " does not match weight ", w.str(), " (expected [", g.out_channels, "])");
    Tensor y = Tensor::empty(g.y_shape(), x.dtype(), x.device());
    conv2d_forward(g, x, w, bias, y);
    return y;
}

Tensor conv2d_backward_input(const Tensor& dy, const Tensor& w, const Shape& x_shape, const Conv2dOptions& opt) {
    check_defined("conv2d_backward_input", "grad_output", dy);
    check_compatible("conv2d_backward_input", {{"grad_output", &dy}, {"weight", &w}});
    const ConvGeometry g = conv2d_geometry("conv2d_backward_input", x_shape, w.shape(), opt);
    GANOPS_CHECK(dy.shape() == g.y_shape(), "conv2d_backward_input: grad_output ", dy.str(),
                 " does not match the output ", g.y_shape(), " of input ", x_shape, " and weight ", w.str());
    Tensor dx = Tensor::empty(x_shape, dy.dtype(), dy.device());
    conv2d_backward_input(g, dy, w, dx);
    return dx;
}

Tensor conv2d_backward_weight(const Tensor& dy, const Tensor& x, const Shape& w_shape, const Conv2dOptions& opt) {
    check_defined("conv2d_backward_weight", "grad_output", dy);
    check_compatible("conv2d_backward_weight", {{"grad_output", &dy}, {"input", &x}});
    const ConvGeometry g = conv2d_geometry("conv2d_backward_weight", x.shape(), w_shape, opt);
    GANOPS_CHECK(dy.shape() == g.y_shape(), "conv2d_backward_weight: grad_output ", dy.str(),
                 " does not match the output ", g.y_shape(), " of input ", x.str(), " and weight ", w_shape);
    Tensor dw = Tensor::empty(w_shape, dy.dtype(), dy.device());
    conv2d_backward_weight(g, dy, x, dw);
    return dw;
}

}  // namespace ganops::kernels
