#include "concat.h"

#include "checks.h"
#include "cpu/reference.h"
#include "cuda/kernels.h"

namespace ganops::kernels {

namespace {
int64_t inner_of(const Tensor& t) {
    int64_t inner = 1;
    for (int d = 2; d < t.ndim(); ++d) inner *= t.size(d);
    return inner;
}
}  // namespace

Tensor concat_channels(const Tensor& a, const Tensor& b) {
    const char* op = "concat";
    check_defined(op, "first input", a);
    check_defined(op, "second input", b);
    check_compatible(op, {{"first input", &a}, {"second input", &b}});
    GANOPS_CHECK(a.ndim() >= 2 && a.ndim() == b.ndim() && a.size(0) == b.size(0) &&
                     a.shape().with(1, 0) == b.shape().with(1, 0),
                 op, ": ", a.str(), " and ", b.str(), " must agree in every dimension but 1");
    const int64_t n = a.size(0), ca = a.size(1), cb = b.size(1), inner = inner_of(a);
    Tensor out = Tensor::empty(a.shape().with(1, ca + cb), a.dtype(), a.device());
    if (on_cuda(op, a)) {
        cuda::concat_channels(a.data<float>(), b.data<float>(), n, ca, cb, inner, out.data<float>());
        return out;
    }
    on_cpu_float_type(op, a, [&](auto t) {
        using T = decltype(t);
        cpu::concat_channels<T>(a.data<T>(), b.data<T>(), n, ca, cb, inner, out.data<T>());
    });
    return out;
}

void split_channels(const Tensor& in, int64_t ca, Tensor* a, Tensor* b) {
    const char* op = "split_channels";
    check_defined(op, "input", in);
    GANOPS_CHECK(in.ndim() >= 2 && ca >= 0 && ca <= in.size(1), op, ": cannot take ", ca, " channels from ", in.str());
    const int64_t n = in.size(0), cb = in.size(1) - ca, inner = inner_of(in);
    if (a) *a = Tensor::empty(in.shape().with(1, ca), in.dtype(), in.device());
    if (b) *b = Tensor::empty(in.shape().with(1, cb), in.dtype(), in.device());
    if (on_cuda(op, in)) {
        cuda::split_channels(in.data<float>(), n, ca, cb, inner, a ? a->data<float>() : nullptr, b ? b->data<float>() : nullptr);
        return;
    }
    on_cpu_float_type(op, in, [&](auto t) {
        using T = decltype(t);
        cpu::split_channels<T>(in.data<T>(), n, ca, cb, inner, a ? a->data<T>() : nullptr, b ? b->data<T>() : nullptr);
    });
}

}  // namespace ganops::kernels
