#include "adaptive_max_pool2d.h"

#include "checks.h"
#include "cpu/reference.h"
#include "cuda/kernels.h"

namespace ganops::kernels {

Tensor adaptive_max_pool2d_forward(const Tensor& x, int64_t oh, int64_t ow) {
    const char* op = "adaptive_max_pool2d";
    check_ndim(op, "input", x, 4);
    check_compatible(op, {{"input", &x}});
    GANOPS_CHECK(oh >= 1 && ow >= 1 && x.size(2) >= 1 && x.size(3) >= 1, op, ": cannot pool input ", x.str(), " to ",
                 oh, "x", ow);
    const int64_t planes = x.size(0) * x.size(1), h = x.size(2), w = x.size(3);
    Tensor y = Tensor::empty({x.size(0), x.size(1), oh, ow}, x.dtype(), x.device());
    if (on_cuda(op, x)) {
        cuda::adaptive_max_pool2d_forward(x.data<float>(), planes, h, w, oh, ow, y.data<float>());
        return y;
    }
    on_cpu_float_type(op, x, [&](auto t) {
        using T = decltype(t);
        cpu::adaptive_max_pool2d_forward<T>(x.data<T>(), planes, h, w, oh, ow, y.data<T>());
    });
    return y;
}

Tensor adaptive_max_pool2d_backward(const Tensor& dy, const Tensor& x) {
    const char* op = "adaptive_max_pool2d_backward";
    check_ndim(op, "grad_output", dy, 4);
    check_ndim(op, "input", x, 4);
    check_compatible(op, {{"grad_output", &dy}, {"input", &x}});
    GANOPS_CHECK(dy.size(0) == x.size(0) && dy.size(1) == x.size(1), op, ": grad_output ", dy.str(),
                 " does not match input ", x.str());
    const int64_t planes = x.size(0) * x.size(1), h = x.size(2), w = x.size(3), oh = dy.size(2), ow = dy.size(3);
    Tensor dx = Tensor::empty(x.shape(), x.dtype(), x.device());
    if (on_cuda(op, x)) {
        cuda::adaptive_max_pool2d_backward(dy.data<float>(), x.data<float>(), planes, h, w, oh, ow, dx.data<float>());
        return dx;
    }
    on_cpu_float_type(op, x, [&](auto t) {
        using T = decltype(t);
        cpu::adaptive_max_pool2d_backward<T>(dy.data<T>(), x.data<T>(), planes, h, w, oh, ow, dx.data<T>());
    });
    return dx;
}

}  // namespace ganops::kernels
