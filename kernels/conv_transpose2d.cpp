#include "conv_transpose2d.h"

#include "checks.h"
#include "conv2d.h"
#include "cuda/conv2d_nhwc.h"
#include "reduce.h"

namespace ganops::kernels {

Tensor conv_transpose2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias,
                                const ConvTranspose2dOptions& opt) {
    check_defined("conv_transpose2d", "input", x);
    check_defined("conv_transpose2d", "weight", w);
    check_compatible("conv_transpose2d", {{"input", &x}, {"weight", &w}, {"bias", &bias}}, Formats::Any);
    const ConvGeometry g = conv_transpose2d_geometry("conv_transpose2d", x.shape(), w.shape(), opt);
    if (bias.defined())
        GANOPS_CHECK(bias.ndim() == 1 && bias.size(0) == g.in_channels, "conv_transpose2d: bias ",
                     bias.str(), " does not match weight ", w.str(), " (expected [", g.in_channels, "])");
    Tensor y = Tensor::empty(g.x_shape(), x.dtype(), x.device(), x.memory_format());
    conv2d_backward_input(g, x, w, y);
    if (bias.defined()) add_channel_bias(y, bias);
    return y;
}

ConvReadsTf32 conv_transpose2d_reads_tf32(const Shape& x_shape, const Tensor& w, const ConvTranspose2dOptions& opt) {
    if (!w.defined() || w.device() != Device::CUDA || w.dtype() != DType::F32 || x_shape.ndim() != 4 || w.ndim() != 4)
        return {};
    const ConvGeometry g = conv_transpose2d_geometry("conv_transpose2d", x_shape, w.shape(), opt);
    const cuda::ActivationsTf32 r = cuda::conv2d_nhwc_rounds_to_tf32(g);
    return {r.dy, r.x};  // in conv2d's terms the transposed input is dy, its output gradient x
}

Tensor conv_transpose2d_backward_input(const Tensor& dy, const Tensor& w, const Shape& x_shape,
                                       const ConvTranspose2dOptions& opt) {
    check_defined("conv_transpose2d_backward_input", "grad_output", dy);
    check_compatible("conv_transpose2d_backward_input", {{"grad_output", &dy}, {"weight", &w}}, Formats::Any);
    const ConvGeometry g = conv_transpose2d_geometry("conv_transpose2d_backward_input", x_shape, w.shape(), opt);
    GANOPS_CHECK(dy.shape() == g.x_shape(), "conv_transpose2d_backward_input: grad_output ", dy.str(),
                 " does not match the output ", g.x_shape(), " of input ", x_shape, " and weight ", w.str());
    Tensor dx = Tensor::empty(x_shape, dy.dtype(), dy.device(), dy.memory_format());
    conv2d_forward(g, dy, w, Tensor(), dx);
    return dx;
}

Tensor conv_transpose2d_backward_weight(const Tensor& dy, const Tensor& x, const Shape& w_shape,
                                        const ConvTranspose2dOptions& opt, MemoryFormat w_format) {
    check_defined("conv_transpose2d_backward_weight", "grad_output", dy);
    check_compatible("conv_transpose2d_backward_weight", {{"grad_output", &dy}, {"input", &x}}, Formats::Any);
    const ConvGeometry g = conv_transpose2d_geometry("conv_transpose2d_backward_weight", x.shape(), w_shape, opt);
    GANOPS_CHECK(dy.shape() == g.x_shape(), "conv_transpose2d_backward_weight: grad_output ", dy.str(),
                 " does not match the output ", g.x_shape(), " of input ", x.str(), " and weight ", w_shape);
    // The weight [C_in, C_out, R, S] is conv2d's [K, C, R, S]: channels-last stores it KRSC,
    // the order the NHWC kernels read and write, as for conv2d.
    Tensor dw = Tensor::empty(w_shape, dy.dtype(), dy.device(), w_format);
    // In conv2d's terms the transposed input x is the output gradient and dy the input.
    conv2d_backward_weight(g, x, dy, dw);
    return dw;
}

}  // namespace ganops::kernels
