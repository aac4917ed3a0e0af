// TEMPORARY: the NHWC convolution API (conv2d_nhwc.h) on top of the NCHW kernels
// (conv2d.cu), so that channels-last tensors work end to end before the NHWC tensor-core
// kernels land; this file is deleted when they do. Each pass converts its NHWC/KRSC
// operands to NCHW/KCRS in scratch buffers (the caching allocator: no cudaMalloc once warm),
// runs the NCHW pass, and converts the result back. That is 8 bytes of DRAM traffic per
// element of every operand and result: it costs time, never accuracy (transposes are exact).
#include "../../core/tensor.h"
#include "conv2d_nhwc.h"
#include "kernels.h"
#include "layout.h"

namespace ganops::cuda {

namespace {
Tensor scratch(int64_t n) { return Tensor::empty(Shape{n}, DType::F32, Device::CUDA); }

// [batch][pixels][channels] <-> [batch][channels][pixels]; KRSC <-> KCRS is the same with
// batch = K and pixels = R*S.
Tensor to_nchw(const float* nhwc, int64_t batch, int64_t channels, int64_t pixels) {
    Tensor out = scratch(batch * channels * pixels);
    batched_transpose(nhwc, batch, pixels, channels, out.data<float>());
    return out;
}

void to_nhwc(const Tensor& nchw, int64_t batch, int64_t channels, int64_t pixels, float* nhwc) {
    batched_transpose(nchw.data<float>(), batch, channels, pixels, nhwc);
}
}  // namespace

void conv2d_forward_nhwc(const ConvGeometry& g, const float* x, const float* w_krsc, const float* bias, float* y) {
    const int64_t in_pixels = g.in_h * g.in_w, out_pixels = g.out_h * g.out_w, taps = g.kernel_h * g.kernel_w;
    const Tensor x_nchw = to_nchw(x, g.batch, g.in_channels, in_pixels);
    const Tensor w_kcrs = to_nchw(w_krsc, g.out_channels, g.in_channels, taps);
    const Tensor y_nchw = scratch(g.batch * g.out_channels * out_pixels);
    conv2d_forward(g, x_nchw.data<float>(), w_kcrs.data<float>(), bias, y_nchw.data<float>());
    to_nhwc(y_nchw, g.batch, g.out_channels, out_pixels, y);
}

void conv2d_backward_input_nhwc(const ConvGeometry& g, const float* dy, const float* w_krsc, float* dx) {
    const int64_t in_pixels = g.in_h * g.in_w, out_pixels = g.out_h * g.out_w, taps = g.kernel_h * g.kernel_w;
    const Tensor dy_nchw = to_nchw(dy, g.batch, g.out_channels, out_pixels);
    const Tensor w_kcrs = to_nchw(w_krsc, g.out_channels, g.in_channels, taps);
    const Tensor dx_nchw = scratch(g.batch * g.in_channels * in_pixels);
    conv2d_backward_input(g, dy_nchw.data<float>(), w_kcrs.data<float>(), dx_nchw.data<float>());
    to_nhwc(dx_nchw, g.batch, g.in_channels, in_pixels, dx);
}

void conv2d_backward_weight_nhwc(const ConvGeometry& g, const float* dy, const float* x, float* dw_krsc) {
    const int64_t in_pixels = g.in_h * g.in_w, out_pixels = g.out_h * g.out_w, taps = g.kernel_h * g.kernel_w;
    const Tensor dy_nchw = to_nchw(dy, g.batch, g.out_channels, out_pixels);
    const Tensor x_nchw = to_nchw(x, g.batch, g.in_channels, in_pixels);
    const Tensor dw_kcrs = scratch(g.out_channels * g.in_channels * taps);
    conv2d_backward_weight(g, dy_nchw.data<float>(), x_nchw.data<float>(), dw_kcrs.data<float>());
    to_nhwc(dw_kcrs, g.out_channels, g.in_channels, taps, dw_krsc);
}

}  // namespace ganops::cuda
