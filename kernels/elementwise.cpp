#include "elementwise.h"

#include "checks.h"
#include "cpu/reference.h"
#include "cuda/kernels.h"
#include "layout.h"

namespace ganops::kernels {

namespace {
// Element-wise ops work on either memory format: the result takes a's, and b is read in
// the same order (converted when it differs).
Tensor binary(const char* op, cpu::Binary kind, const Tensor& a, const Tensor& b_any) {
    check_defined(op, "a", a);
    check_defined(op, "b", b_any);
    check_compatible(op, {{"a", &a}, {"b", &b_any}}, Formats::Any);
    check_same_shape(op, "a", a, "b", b_any);
    const Tensor b = in_format_of(a, b_any);
    Tensor out = Tensor::empty(a.shape(), a.dtype(), a.device(), a.memory_format());
    if (on_cuda(op, a)) {
        cuda::binary(static_cast<cuda::Binary>(kind), a.data<float>(), b.data<float>(), out.data<float>(), a.numel());
        return out;
    }
    on_cpu_float_type(op, a, [&](auto t) {
        using T = decltype(t);
        cpu::binary<T>(kind, a.data<T>(), b.data<T>(), out.data<T>(), a.numel());
    });
    return out;
}
}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return binary("add", cpu::Binary::Add, a, b); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary("sub", cpu::Binary::Sub, a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary("mul", cpu::Binary::Mul, a, b); }

Tensor scale(const Tensor& a, double s) {
    check_defined("scale", "input", a);
    check_compatible("scale", {{"input", &a}}, Formats::Any);
    Tensor out = Tensor::empty(a.shape(), a.dtype(), a.device(), a.memory_format());
    if (on_cuda("scale", a)) {
        cuda::scale(a.data<float>(), static_cast<float>(s), out.data<float>(), a.numel());
        return out;
    }
    on_cpu_float_type("scale", a, [&](auto t) {
        using T = decltype(t);
        cpu::scale<T>(a.data<T>(), s, out.data<T>(), a.numel());
    });
    return out;
}

}  // namespace ganops::kernels
