#include "bce.h"

#include "checks.h"
#include "cpu/reference.h"
#include "cuda/kernels.h"

namespace ganops::kernels {

namespace {
void check_pair(const char* op, const char* input_name, const Tensor& input, const Tensor& target) {
    check_defined(op, input_name, input);
    check_defined(op, "target", target);
    check_compatible(op, {{input_name, &input}, {"target", &target}});
    check_same_shape(op, input_name, input, "target", target);
    GANOPS_CHECK(input.numel() > 0, op, ": empty ", input_name, " ", input.str());
}

void check_dloss(const char* op, const Tensor& dloss, const Tensor& input) {
    check_defined(op, "grad_output", dloss);
    check_compatible(op, {{"grad_output", &dloss}, {"input", &input}});
    GANOPS_CHECK(dloss.numel() == 1, op, ": grad_output of a mean loss has one element, got ", dloss.str());
}

// Probabilities outside [0, 1] would give NaN losses; say so instead.
template <class T>
void check_probabilities(const T* p, int64_t n, const Tensor& t) {
    for (int64_t i = 0; i < n; ++i)
        GANOPS_CHECK(p[i] >= T(0) && p[i] <= T(1), "binary_cross_entropy: input ", t.str(),
                     " holds ", p[i], " at element ", i, "; probabilities must lie in [0, 1]");
}
}  // namespace

Tensor bce_forward(const Tensor& p, const Tensor& target) {
    check_pair("binary_cross_entropy", "input", p, target);
    Tensor loss = Tensor::empty(Shape{}, p.dtype(), p.device());
    if (on_cuda("binary_cross_entropy", p)) {
        cuda::bce_forward(p.data<float>(), target.data<float>(), p.numel(), loss.data<float>());
        return loss;
    }
    on_cpu_float_type("binary_cross_entropy", p, [&](auto t) {
        using T = decltype(t);
        check_probabilities(p.data<T>(), p.numel(), p);
        *loss.data<T>() = cpu::bce_forward<T>(p.data<T>(), target.data<T>(), p.numel());
    });
    return loss;
}

Tensor bce_backward(const Tensor& dloss, const Tensor& p, const Tensor& target) {
    check_pair("binary_cross_entropy_backward", "input", p, target);
    check_dloss("binary_cross_entropy_backward", dloss, p);
    Tensor dp = Tensor::empty(p.shape(), p.dtype(), p.device());
    if (on_cuda("binary_cross_entropy_backward", p)) {
        cuda::bce_backward(dloss.data<float>(), p.data<float>(), target.data<float>(), dp.data<float>(), p.numel());
        return dp;
    }
    on_cpu_float_type("binary_cross_entropy_backward", p, [&](auto t) {
        using T = decltype(t);
        cpu::bce_backward<T>(*dloss.data<T>(), p.data<T>(), target.data<T>(), dp.data<T>(), p.numel());
    });
    return dp;
}

Tensor bce_with_logits_forward(const Tensor& logits, const Tensor& target) {
    check_pair("binary_cross_entropy_with_logits", "input", logits, target);
    Tensor loss = Tensor::empty(Shape{}, logits.dtype(), logits.device());
    if (on_cuda("binary_cross_entropy_with_logits", logits)) {
        cuda::bce_with_logits_forward(logits.data<float>(), target.data<float>(), logits.numel(), loss.data<float>());
        return loss;
    }
    on_cpu_float_type("binary_cross_entropy_with_logits", logits, [&](auto t) {
        using T = decltype(t);
        *loss.data<T>() = cpu::bce_with_logits_forward<T>(logits.data<T>(), target.data<T>(), logits.numel());
    });
    return loss;
}

Tensor bce_with_logits_backward(const Tensor& dloss, const Tensor& logits, const Tensor& target) {
    const char* op = "binary_cross_entropy_with_logits_backward";
    check_pair(op, "input", logits, target);
    check_dloss(op, dloss, logits);
    Tensor dx = Tensor::empty(logits.shape(), logits.dtype(), logits.device());
    if (on_cuda(op, logits)) {
        cuda::bce_with_logits_backward(dloss.data<float>(), logits.data<float>(), target.data<float>(), dx.data<float>(),
                                       logits.numel());
        return dx;
    }
    on_cpu_float_type(op, logits, [&](auto t) {
        using T = decltype(t);
        cpu::bce_with_logits_backward<T>(*dloss.data<T>(), logits.data<T>(), target.data<T>(), dx.data<T>(),
                                         logits.numel());
    });
    return dx;
}

}  // namespace ganops::kernels
