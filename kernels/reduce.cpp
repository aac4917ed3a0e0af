#include "reduce.h"

#include "checks.h"
#include "elementwise.h"
#include "cpu/reference.h"
#include "cuda/kernels.h"

namespace ganops::kernels {

namespace {
// [outer, channels, inner] view of an [n, c, ...] tensor's storage. Channels-last storage
// [n, h, w, c] is [n*h*w, c, 1]: the channel of element i is i % c.
struct ChannelView {
    int64_t outer, channels, inner;
};

ChannelView channel_view(const char* op, const Tensor& x) {
    GANOPS_CHECK(x.ndim() >= 2, op, ": expects at least 2 dimensions [batch, channels, ...], got ", x.str());
    const int64_t outer = x.size(0), channels = x.size(1);
    if (x.is_channels_last()) return {outer * x.size(2) * x.size(3), channels, 1};
    return {outer, channels, outer * channels == 0 ? 0 : x.numel() / (outer * channels)};
}
}  // namespace

Tensor sum_all(const Tensor& x) {
    check_defined("sum", "input", x);
    check_compatible("sum", {{"input", &x}}, Formats::Any);  // every element, in any order
    Tensor out = Tensor::empty(Shape{}, x.dtype(), x.device());
    if (on_cuda("sum", x)) {
        cuda::sum(x.data<float>(), x.numel(), out.data<float>());
        return out;
    }
    on_cpu_float_type("sum", x, [&](auto t) {
        using T = decltype(t);
        *out.data<T>() = cpu::sum<T>(x.data<T>(), x.numel());
    });
    return out;
}

Tensor expand_scalar(const Tensor& scalar, const Shape& shape, double factor) {
    check_defined("expand_scalar", "scalar", scalar);
    GANOPS_CHECK(scalar.numel() == 1, "expand_scalar: expects one element, got ", scalar.str());
    if (on_cuda("expand_scalar", scalar)) {
        Tensor out = Tensor::empty(shape, scalar.dtype(), scalar.device());
        cuda::expand_scalar(scalar.data<float>(), static_cast<float>(factor), out.data<float>(), out.numel());
        return out;
    }
    return Tensor::full(shape, scalar.item() * factor, scalar.dtype(), scalar.device());
}

Tensor channel_sum(const Tensor& x) {
    check_defined("channel_sum", "input", x);
    check_compatible("channel_sum", {{"input", &x}}, Formats::Any);
    const ChannelView v = channel_view("channel_sum", x);
    Tensor out = Tensor::empty({v.channels}, x.dtype(), x.device());
    if (on_cuda("channel_sum", x)) {
        cuda::channel_sum(x.data<float>(), v.outer, v.channels, v.inner, out.data<float>());
        return out;
    }
    on_cpu_float_type("channel_sum", x, [&](auto t) {
        using T = decltype(t);
        cpu::channel_sum<T>(x.data<T>(), v.outer, v.channels, v.inner, out.data<T>());
    });
    return out;
}

Tensor mean_rows(const Tensor& x) {
    check_defined("mean_rows", "input", x);
    GANOPS_CHECK(x.ndim() >= 1 && x.size(0) > 0, "mean_rows: expects [N, ...] with N > 0, got ", x.str());
    const int64_t n = x.size(0), width = x.numel() / n;
    // Viewed as [n, width, 1], channel_sum adds over n alone.
    return scale(channel_sum(x.detach().reshape({n, width, 1})), 1.0 / double(n)).reshape(x.shape().drop_front());
}

Tensor repeat_rows(const Tensor& row, int64_t n, double factor) {
    check_defined("repeat_rows", "row", row);
    check_compatible("repeat_rows", {{"row", &row}});
    GANOPS_CHECK(n >= 0 && row.ndim() <= 3, "repeat_rows: cannot repeat ", row.str(), " ", n, " times");
    Tensor out = Tensor::empty(row.shape().prepend(n), row.dtype(), row.device());
    if (on_cuda("repeat_rows", row)) {
        cuda::repeat_rows(row.data<float>(), n, row.numel(), static_cast<float>(factor), out.data<float>());
        return out;
    }
    on_cpu_float_type("repeat_rows", row, [&](auto t) {
        using T = decltype(t);
        cpu::repeat_rows<T>(row.data<T>(), n, row.numel(), factor, out.data<T>());
    });
    return out;
}

void add_channel_bias(const Tensor& y, const Tensor& bias) {
    check_compatible("add_channel_bias", {{"output", &y}, {"bias", &bias}}, Formats::Any);
    const ChannelView v = channel_view("add_channel_bias", y);
    GANOPS_CHECK(bias.ndim() == 1 && bias.size(0) == v.channels, "add_channel_bias: bias ", bias.str(),
                 " for output ", y.str());
    if (on_cuda("add_channel_bias", y)) {
        cuda::add_channel_bias(y.data<float>(), bias.data<float>(), v.outer, v.channels, v.inner);
        return;
    }
    on_cpu_float_type("add_channel_bias", y, [&](auto t) {
        using T = decltype(t);
        cpu::add_channel_bias<T>(y.data<T>(), bias.data<T>(), v.outer, v.channels, v.inner);
    });
}

}  // namespace ganops::kernels
