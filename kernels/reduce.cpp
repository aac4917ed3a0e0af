#include "reduce.h"

#include "checks.h"
#include "cpu/reference.h"

namespace ganops::kernels {

namespace {
// [outer, channels, inner] view of an [n, c, ...] tensor.
struct ChannelView {
    int64_t outer, channels, inner;
};

ChannelView channel_view(const char* op, const Tensor& x) {
    GANOPS_CHECK(x.ndim() >= 2, op, ": expects at least 2 dimensions [batch, channels, ...], got ", x.str());
    const int64_t outer = x.size(0), channels = x.size(1);
    return {outer, channels, outer * channels == 0 ? 0 : x.numel() / (outer * channels)};
}
}  // namespace

Tensor sum_all(const Tensor& x) {
    check_defined("sum", "input", x);
    check_compatible("sum", {{"input", &x}});
    Tensor out = Tensor::empty(Shape{}, x.dtype(), x.device());
    if (x.device() == Device::CUDA) no_cuda_kernel("sum", x);
    on_cpu_float_type("sum", x, [&](auto t) {
        using T = decltype(t);
        *out.data<T>() = cpu::sum<T>(x.data<T>(), x.numel());
    });
    return out;
}

Tensor expand_scalar(const Tensor& scalar, const Shape& shape, double factor) {
    check_defined("expand_scalar", "scalar", scalar);
    GANOPS_CHECK(scalar.numel() == 1, "expand_scalar: expects one element, got ", scalar.str());
    if (scalar.device() == Device::CUDA) no_cuda_kernel("expand_scalar", scalar);
    return Tensor::full(shape, scalar.item() * factor, scalar.dtype(), scalar.device());
}

Tensor channel_sum(const Tensor& x) {
    check_defined("channel_sum", "input", x);
    check_compatible("channel_sum", {{"input", &x}});
    const ChannelView v = channel_view("channel_sum", x);
    Tensor out = Tensor::empty({v.channels}, x.dtype(), x.device());
    if (x.device() == Device::CUDA) no_cuda_kernel("channel_sum", x);
    on_cpu_float_type("channel_sum", x, [&](auto t) {
        using T = decltype(t);
        cpu::channel_sum<T>(x.data<T>(), v.outer, v.channels, v.inner, out.data<T>());
    });
    return out;
}

void add_channel_bias(const Tensor& y, const Tensor& bias) {
    check_compatible("add_channel_bias", {{"output", &y}, {"bias", &bias}});
    const ChannelView v = channel_view("add_channel_bias", y);
    GANOPS_CHECK(bias.ndim() == 1 && bias.size(0) == v.channels, "add_channel_bias: bias ", bias.str(),
                 " for output ", y.str());
    if (y.device() == Device::CUDA) no_cuda_kernel("add_channel_bias", y);
    on_cpu_float_type("add_channel_bias", y, [&](auto t) {
        using T = decltype(t);
        cpu::add_channel_bias<T>(y.data<T>(), bias.data<T>(), v.outer, v.channels, v.inner);
    });
}

}  // namespace ganops::kernels
