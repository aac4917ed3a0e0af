#include "conv2d_leaky_relu.h"

#include "../core/precision.h"
#include "checks.h"
#include "cuda/conv2d_nhwc_activation.h"
#include "layout.h"

namespace ganops::kernels {

namespace {
bool float32_cuda(const Tensor& t) { return t.device() == Device::CUDA && t.dtype() == DType::F32; }
}  // namespace

bool conv2d_leaky_relu_fuses(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dOptions& opt, double slope) {
    if (!(slope >= 0) || !x.defined() || !w.defined() || x.ndim() != 4 || w.ndim() != 4 || !x.is_channels_last()) return false;
    if (!float32_cuda(x) || !float32_cuda(w) || (bias.defined() && !float32_cuda(bias))) return false;
    if (bias.defined() && (bias.ndim() != 1 || bias.size(0) != w.size(0))) return false;  // conv2d names it
    // Bad shapes or options throw here, naming conv2d, as the unfused conv2d would.
    return cuda::conv2d_forward_nhwc_leaky_relu_applies(conv2d_geometry("conv2d", x.shape(), w.shape(), opt));
}

Tensor conv2d_leaky_relu_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dOptions& opt, double slope,
                                 bool round_tf32) {
    GANOPS_CHECK(conv2d_leaky_relu_fuses(x, w, bias, opt, slope), "conv2d_leaky_relu: input ", x.defined() ? x.str() : "undefined",
                 ", weight ", w.defined() ? w.str() : "undefined", ", slope ", slope,
                 " take no fused kernel (ask conv2d_leaky_relu_fuses; run conv2d and leaky_relu instead)");
    const ConvGeometry g = conv2d_geometry("conv2d", x.shape(), w.shape(), opt);
    Tensor y = Tensor::empty(g.y_shape(), DType::F32, Device::CUDA, MemoryFormat::ChannelsLast);
    const Tensor w_krsc = convert_memory_format(w, MemoryFormat::ChannelsLast);
    cuda::conv2d_forward_nhwc_leaky_relu(g, x.const_data<float>(), w_krsc.const_data<float>(), f32_or_null(bias), float(slope),
                                         y.data<float>(), round_tf32);
    // The kernel rounds in the TF32 mode only (the fused path runs in TF32 or BF16).
    if (round_tf32 && matmul_precision() == Precision::TF32) y.mark_values_tf32();
    return y;
}

}  // namespace ganops::kernels
