#include "conv2d.h"

#include "checks.h"
#include "cpu/conv2d_batched.h"
#include "cuda/conv2d_nhwc.h"
#include "cuda/kernels.h"
#include "layout.h"

namespace ganops::kernels {

// Memory formats. The pass's output tensor, allocated by the caller, decides: a
// channels-last output runs the channels-last pass, with the activation inputs converted to
// channels-last where they are not (a no-op in a network that is channels-last throughout).
// On the GPU that is the NHWC kernels (cuda/conv2d_nhwc.h), which read KRSC weights and
// write KRSC weight gradients. A channels-last [K, C, R, S] weight is stored exactly KRSC
// (core/memory_format.h), so a network that keeps its weight parameters channels-last
// (nn::Module::to(MemoryFormat::ChannelsLast), as the DCGAN step does with channels-last
// activations) converts no weight: its gradient comes in the weight's format
// (conv2d_backward_weight's w_format), written by the kernel in place, and Adam updates
// parameter, gradient and moments element by element in that format. A KCRS weight still
// works: each pass converts it into a KRSC scratch tensor (one batched transpose, 8 bytes of
// DRAM traffic per weight) and converts the gradient back. Checkpoints store KCRS whatever
// the format (nn/checkpoint.h). On the CPU a channels-last pass converts to NCHW, runs the
// NCHW code and converts back (the batched CPU kernels are written for NCHW).
namespace {
Tensor channels_last(const Tensor& t) { return convert_memory_format(t, MemoryFormat::ChannelsLast); }
Tensor contiguous(const Tensor& t) { return convert_memory_format(t, MemoryFormat::Contiguous); }
Tensor nchw_like(const Tensor& t) { return Tensor::empty(t.shape(), t.dtype(), t.device()); }
}  // namespace

ConvReadsTf32 conv2d_reads_tf32(const Shape& x_shape, const Tensor& w, const Conv2dOptions& opt) {
    if (!w.defined() || w.device() != Device::CUDA || w.dtype() != DType::F32 || x_shape.ndim() != 4 || w.ndim() != 4)
        return {};
    const cuda::ActivationsTf32 r = cuda::conv2d_nhwc_rounds_to_tf32(conv2d_geometry("conv2d", x_shape, w.shape(), opt));
    return {r.x, r.dy};
}

void conv2d_forward(const ConvGeometry& g, const Tensor& x_any, const Tensor& w_any, const Tensor& bias, const Tensor& y) {
    if (y.is_channels_last()) {
        if (on_cuda("conv2d_forward", y)) {
            // Operands read-only (const_data): a flag of values_are_tf32 outlives this pass.
            const Tensor x = channels_last(x_any);
            cuda::conv2d_forward_nhwc(g, x.const_data<float>(), channels_last(w_any).const_data<float>(),
                                      f32_or_null(bias), y.data<float>(), {x.values_are_tf32(), false});
        } else {
            const Tensor y_nchw = nchw_like(y);
            conv2d_forward(g, x_any, w_any, bias, y_nchw);
            y.copy_from(y_nchw);
        }
        return;
    }
    const Tensor x = contiguous(x_any), w = contiguous(w_any);
    if (on_cuda("conv2d_forward", x)) {
        cuda::conv2d_forward(g, x.data<float>(), w.data<float>(), f32_or_null(bias), y.data<float>());
        return;
    }
    on_cpu_float_type("conv2d_forward", x, [&](auto t) {
        using T = decltype(t);
        cpu::conv2d_forward_batched<T>(g, x.data<T>(), w.data<T>(), bias.defined() ? bias.data<T>() : nullptr, y.data<T>());
    });
}

void conv2d_backward_input(const ConvGeometry& g, const Tensor& dy_any, const Tensor& w_any, const Tensor& dx) {
    if (dx.is_channels_last()) {
        if (on_cuda("conv2d_backward_input", dx)) {
            const Tensor dy = channels_last(dy_any);
            cuda::conv2d_backward_input_nhwc(g, dy.const_data<float>(), channels_last(w_any).const_data<float>(),
                                             dx.data<float>(), {false, dy.values_are_tf32()});
        } else {
            const Tensor dx_nchw = nchw_like(dx);
            conv2d_backward_input(g, dy_any, w_any, dx_nchw);
            dx.copy_from(dx_nchw);
        }
        return;
    }
    const Tensor dy = contiguous(dy_any), w = contiguous(w_any);
    if (on_cuda("conv2d_backward_input", dy)) {
        cuda::conv2d_backward_input(g, dy.data<float>(), w.data<float>(), dx.data<float>());
        return;
    }
    on_cpu_float_type("conv2d_backward_input", dy, [&](auto t) {
        using T = decltype(t);
        cpu::conv2d_backward_input_batched<T>(g, dy.data<T>(), w.data<T>(), dx.data<T>());
    });
}

void conv2d_backward_weight(const ConvGeometry& g, const Tensor& dy_any, const Tensor& x_any, const Tensor& dw) {
    // dw is a parameter's gradient, in the parameter's format. The channels-last pass runs
    // when the activations are; it writes KRSC, straight into a channels-last dw.
    if ((dy_any.is_channels_last() || x_any.is_channels_last()) && on_cuda("conv2d_backward_weight", dy_any)) {
        const Tensor dw_krsc =
            dw.is_channels_last() ? dw : Tensor::empty(dw.shape(), dw.dtype(), dw.device(), MemoryFormat::ChannelsLast);
        const Tensor dy = channels_last(dy_any), x = channels_last(x_any);
        cuda::conv2d_backward_weight_nhwc(g, dy.const_data<float>(), x.const_data<float>(), dw_krsc.data<float>(),
                                          {x.values_are_tf32(), dy.values_are_tf32()});
        if (!dw.is_same(dw_krsc)) dw.copy_from(dw_krsc);
        return;
    }
    if (dw.is_channels_last()) {  // NCHW activations, or the CPU: the NCHW pass, then reordered
        const Tensor dw_kcrs = nchw_like(dw);
        conv2d_backward_weight(g, dy_any, x_any, dw_kcrs);
        dw.copy_from(dw_kcrs);
        return;
    }
    const Tensor dy = contiguous(dy_any), x = contiguous(x_any);
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
    check_compatible("conv2d", {{"input", &x}, {"weight", &w}, {"bias", &bias}}, Formats::Any);
    const ConvGeometry g = conv2d_geometry("conv2d", x.shape(), w.shape(), opt);
    if (bias.defined())
        GANOPS_CHECK(bias.ndim() == 1 && bias.size(0) == g.out_channels, "conv2d: bias ", bias.str(),
                     " does not match weight ", w.str(), " (expected [", g.out_channels, "])");
    Tensor y = Tensor::empty(g.y_shape(), x.dtype(), x.device(), x.memory_format());
    conv2d_forward(g, x, w, bias, y);
    return y;
}

Tensor conv2d_backward_input(const Tensor& dy, const Tensor& w, const Shape& x_shape, const Conv2dOptions& opt) {
    check_defined("conv2d_backward_input", "grad_output", dy);
    check_compatible("conv2d_backward_input", {{"grad_output", &dy}, {"weight", &w}}, Formats::Any);
    const ConvGeometry g = conv2d_geometry("conv2d_backward_input", x_shape, w.shape(), opt);
    GANOPS_CHECK(dy.shape() == g.y_shape(), "conv2d_backward_input: grad_output ", dy.str(),
                 " does not match the output ", g.y_shape(), " of input ", x_shape, " and weight ", w.str());
    Tensor dx = Tensor::empty(x_shape, dy.dtype(), dy.device(), dy.memory_format());
    conv2d_backward_input(g, dy, w, dx);
    return dx;
}

Tensor conv2d_backward_weight(const Tensor& dy, const Tensor& x, const Shape& w_shape, const Conv2dOptions& opt,
                              MemoryFormat w_format) {
    check_defined("conv2d_backward_weight", "grad_output", dy);
    check_compatible("conv2d_backward_weight", {{"grad_output", &dy}, {"input", &x}}, Formats::Any);
    const ConvGeometry g = conv2d_geometry("conv2d_backward_weight", x.shape(), w_shape, opt);
    GANOPS_CHECK(dy.shape() == g.y_shape(), "conv2d_backward_weight: grad_output ", dy.str(),
                 " does not match the output ", g.y_shape(), " of input ", x.str(), " and weight ", w_shape);
    Tensor dw = Tensor::empty(w_shape, dy.dtype(), dy.device(), w_format);
    conv2d_backward_weight(g, dy, x, dw);
    return dw;
}

}  // namespace ganops::kernels
