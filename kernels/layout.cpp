#include "layout.h"

#include "checks.h"
#include "cpu/layout.h"
#include "cuda/layout.h"

namespace ganops::kernels {

Tensor convert_memory_format(const Tensor& x, MemoryFormat format) {
    check_defined("to_memory_format", "input", x);
    if (x.memory_format() == format) return x;
    GANOPS_CHECK(x.ndim() == 4, "to_memory_format: ", memory_format_name(format), " needs a 4-d [N, C, H, W] tensor, got ",
                 x.str());
    Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device(), format);
    const int64_t n = x.size(0), c = x.size(1), hw = x.size(2) * x.size(3);
    // NCHW -> NHWC transposes each sample's [C][HW] matrix; NHWC -> NCHW its [HW][C] one.
    const int64_t rows = format == MemoryFormat::ChannelsLast ? c : hw;
    const int64_t cols = format == MemoryFormat::ChannelsLast ? hw : c;
    if (on_cuda("to_memory_format", x)) {
        cuda::batched_transpose(x.data<float>(), n, rows, cols, out.data<float>());
        return out;
    }
    on_cpu_float_type("to_memory_format", x, [&](auto t) {
        using T = decltype(t);
        cpu::batched_transpose<T>(x.data<T>(), n, rows, cols, out.data<T>());
    });
    return out;
}

Tensor in_format_of(const Tensor& like, const Tensor& t) {
    if (!like.defined() || !t.defined() || like.memory_format() == t.memory_format()) return t;
    if (like.shape() == t.shape() && t.storage_is_nchw() && like.storage_is_nchw()) return t;
    return convert_memory_format(t, like.memory_format());
}

}  // namespace ganops::kernels
