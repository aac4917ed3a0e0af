#include "softmax.h"

#include <cmath>

#include "checks.h"
#include "cpu/reference.h"
#include "cuda/kernels.h"

namespace ganops::kernels {

namespace {
void check_logits(const char* op, const Tensor& x) {
    check_ndim(op, "input", x, 2);
    check_compatible(op, {{"input", &x}});
    GANOPS_CHECK(x.size(0) > 0 && x.size(1) > 0, op, ": empty input ", x.str());
}

void check_labels(const char* op, const Tensor& logits, const Tensor& labels) {
    check_logits(op, logits);
    check_defined(op, "labels", labels);
    check_compatible(op, {{"input", &logits}, {"labels", &labels}});
    GANOPS_CHECK(labels.ndim() == 1 && labels.size(0) == logits.size(0), op, ": labels ", labels.str(),
                 " must be [", logits.size(0), "] for input ", logits.str());
    if (labels.device() != Device::CPU) return;  // the GPU kernels answer a bad label with NaN
    const std::vector<double> v = labels.to_double_vector();
    for (size_t i = 0; i < v.size(); ++i)
        GANOPS_CHECK(v[i] >= 0 && v[i] < double(logits.size(1)) && v[i] == std::floor(v[i]), op, ": label ", v[i],
                     " at row ", i, " is not a class index of input ", logits.str());
}
}  // namespace

Tensor softmax_forward(const Tensor& x) {
    check_logits("softmax", x);
    Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
    if (on_cuda("softmax", x)) {
        cuda::softmax_forward(x.data<float>(), x.size(0), x.size(1), y.data<float>());
        return y;
    }
    on_cpu_float_type("softmax", x, [&](auto t) {
        using T = decltype(t);
        cpu::softmax_forward<T>(x.data<T>(), x.size(0), x.size(1), y.data<T>());
    });
    return y;
}

Tensor softmax_backward(const Tensor& dy, const Tensor& y) {
    check_logits("softmax_backward", y);
    check_compatible("softmax_backward", {{"grad_output", &dy}, {"output", &y}});
    check_same_shape("softmax_backward", "grad_output", dy, "output", y);
    Tensor dx = Tensor::empty(y.shape(), y.dtype(), y.device());
    if (on_cuda("softmax_backward", y)) {
        cuda::softmax_backward(dy.data<float>(), y.data<float>(), y.size(0), y.size(1), dx.data<float>());
        return dx;
    }
    on_cpu_float_type("softmax_backward", y, [&](auto t) {
        using T = decltype(t);
        cpu::softmax_backward<T>(dy.data<T>(), y.data<T>(), y.size(0), y.size(1), dx.data<T>());
    });
    return dx;
}

Tensor softmax_cross_entropy_forward(const Tensor& logits, const Tensor& labels) {
    const char* op = "softmax_cross_entropy";
    check_labels(op, logits, labels);
    Tensor loss = Tensor::empty(Shape{}, logits.dtype(), logits.device());
    if (on_cuda(op, logits)) {
        cuda::softmax_cross_entropy_forward(logits.data<float>(), labels.data<float>(), logits.size(0), logits.size(1),
                                            loss.data<float>());
        return loss;
    }
    on_cpu_float_type(op, logits, [&](auto t) {
        using T = decltype(t);
        *loss.data<T>() = cpu::softmax_cross_entropy_forward<T>(logits.data<T>(), labels.data<T>(), logits.size(0), logits.size(1));
    });
    return loss;
}

Tensor softmax_cross_entropy_backward(const Tensor& dloss, const Tensor& logits, const Tensor& labels) {
    const char* op = "softmax_cross_entropy_backward";
    check_labels(op, logits, labels);
    check_compatible(op, {{"grad_output", &dloss}, {"input", &logits}});
    GANOPS_CHECK(dloss.numel() == 1, op, ": grad_output of a mean loss has one element, got ", dloss.str());
    Tensor dlogits = Tensor::empty(logits.shape(), logits.dtype(), logits.device());
    if (on_cuda(op, logits)) {
        cuda::softmax_cross_entropy_backward(dloss.data<float>(), logits.data<float>(), labels.data<float>(),
                                             logits.size(0), logits.size(1), dlogits.data<float>());
        return dlogits;
    }
    on_cpu_float_type(op, logits, [&](auto t) {
        using T = decltype(t);
        cpu::softmax_cross_entropy_backward<T>(*dloss.data<T>(), logits.data<T>(), labels.data<T>(), logits.size(0),
                                               logits.size(1), dlogits.data<T>());
    });
    return dlogits;
}

}  // namespace ganops::kernels
