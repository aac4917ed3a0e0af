#include "linear.h"

#include "checks.h"
#include "cpu/reference.h"
#include "cuda/kernels.h"

namespace ganops::kernels {

Tensor linear_forward(const Tensor& x, const Tensor& w, const Tensor& bias) {
    const char* op = "linear";
    check_ndim(op, "input", x, 2);
    check_ndim(op, "weight", w, 2);
    check_compatible(op, {{"input", &x}, {"weight", &w}, {"bias", &bias}});
    GANOPS_CHECK(x.size(1) == w.size(1), op, ": input ", x.str(), " has ", x.size(1), " features but weight ",
                 w.str(), " expects ", w.size(1));
    if (bias.defined())
        GANOPS_CHECK(bias.ndim() == 1 && bias.size(0) == w.size(0), op, ": bias ", bias.str(),
                     " does not match weight ", w.str());
    Tensor y = Tensor::empty({x.size(0), w.size(0)}, x.dtype(), x.device());
    if (on_cuda(op, x)) {
        cuda::linear_forward(x.data<float>(), w.data<float>(), f32_or_null(bias), x.size(0), x.size(1), w.size(0),
                             y.data<float>());
        return y;
    }
    on_cpu_float_type(op, x, [&](auto t) {
        using T = decltype(t);
        cpu::linear_forward<T>(x.data<T>(), w.data<T>(), bias.defined() ? bias.data<T>() : nullptr, x.size(0),
                               x.size(1), w.size(0), y.data<T>());
    });
    return y;
}

Tensor linear_backward_input(const Tensor& dy, const Tensor& w) {
    const char* op = "linear_backward_input";
    check_ndim(op, "grad_output", dy, 2);
    check_ndim(op, "weight", w, 2);
    check_compatible(op, {{"grad_output", &dy}, {"weight", &w}});
    GANOPS_CHECK(dy.size(1) == w.size(0), op, ": grad_output ", dy.str(), " does not match weight ", w.str());
    Tensor dx = Tensor::empty({dy.size(0), w.size(1)}, dy.dtype(), dy.device());
    if (on_cuda(op, dy)) {
        cuda::linear_backward_input(dy.data<float>(), w.data<float>(), dy.size(0), w.size(1), w.size(0), dx.data<float>());
        return dx;
    }
    on_cpu_float_type(op, dy, [&](auto t) {
        using T = decltype(t);
        cpu::linear_backward_input<T>(dy.data<T>(), w.data<T>(), dy.size(0), w.size(1), w.size(0), dx.data<T>());
    });
    return dx;
}

Tensor linear_backward_weight(const Tensor& dy, const Tensor& x) {
    const char* op = "linear_backward_weight";
    check_ndim(op, "grad_output", dy, 2);
    check_ndim(op, "input", x, 2);
    check_compatible(op, {{"grad_output", &dy}, {"input", &x}});
    GANOPS_CHECK(dy.size(0) == x.size(0), op, ": grad_output ", dy.str(), " and input ", x.str(),
                 " have different batch sizes");
    Tensor dw = Tensor::empty({dy.size(1), x.size(1)}, dy.dtype(), dy.device());
    if (on_cuda(op, dy)) {
        cuda::linear_backward_weight(dy.data<float>(), x.data<float>(), dy.size(0), x.size(1), dy.size(1), dw.data<float>());
        return dw;
    }
    on_cpu_float_type(op, dy, [&](auto t) {
        using T = decltype(t);
        cpu::linear_backward_weight<T>(dy.data<T>(), x.data<T>(), dy.size(0), x.size(1), dy.size(1), dw.data<T>());
    });
    return dw;
}

}  // namespace ganops::kernels
