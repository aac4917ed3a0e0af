// The fused conv + batchnorm + activation passes on Tensors (conv_bn_fusion.h) over the device
// functions of cuda/conv2d_nhwc.h and cuda/conv_bn_fusion.h. The kernels read KRSC weights and
// write KRSC weight gradients: channels-last parameters are used as they are, KCRS ones are
// converted per pass, as kernels/conv2d.cpp does.
#include "conv_bn_fusion.h"

#include "checks.h"
#include "cuda/conv2d_nhwc.h"
#include "layout.h"
#include "reduce.h"

namespace ganops::kernels {

namespace {

Tensor channels_last(const Tensor& t) { return convert_memory_format(t, MemoryFormat::ChannelsLast); }

cuda::NormAct norm_act_of(const BatchnormOnLoad& bn) {
    GANOPS_CHECK(bn.norm_act.defined() && bn.mean.defined() && bn.invstd.defined(),
                 "fused conv: the batchnorm applied on load has no statistics (its producing conv did not run fused)");
    return cuda::NormAct::from_buffer(bn.norm_act.data<float>(), bn.weight.defined() ? bn.weight.numel() : bn.mean.numel(),
                                      float(bn.negative_slope));
}

cuda::BatchnormOfOutput outputs_of(BatchnormOnLoad& bn, int64_t channels, Device device) {
    bn.mean = Tensor::empty(Shape{channels}, DType::F32, device);
    bn.invstd = Tensor::empty(Shape{channels}, DType::F32, device);
    bn.norm_act = Tensor::empty(Shape{3 * channels}, DType::F32, device);
    cuda::BatchnormOfOutput o;
    o.weight = f32_or_null(bn.weight);
    o.bias = f32_or_null(bn.bias);
    o.eps = bn.eps;
    o.momentum = bn.momentum;
    o.mean = bn.mean.data<float>();
    o.invstd = bn.invstd.data<float>();
    o.running_mean = f32_or_null(bn.running_mean);
    o.running_var = f32_or_null(bn.running_var);
    o.norm_act = bn.norm_act.data<float>();
    return o;
}

}  // namespace

ConvGeometry FusedConv::geometry(const Tensor& x, const Tensor& w) const {
    return transposed ? conv_transpose2d_geometry("conv_transpose2d (fused)", x.shape(), w.shape(), tconv_opt)
                      : conv2d_geometry("conv2d (fused)", x.shape(), w.shape(), conv_opt);
}

Shape FusedConv::output_shape(const Tensor& x, const Tensor& w) const {
    const ConvGeometry g = geometry(x, w);
    return transposed ? g.x_shape() : g.y_shape();
}

bool fusion_applies(const Tensor& x) {
    return x.defined() && x.device() == Device::CUDA && x.dtype() == DType::F32 && x.ndim() == 4 && x.is_channels_last();
}

void batchnorm_on_load_statistics(const Tensor& x, BatchnormOnLoad& bn) {
    GANOPS_CHECK(fusion_applies(x), "batchnorm on load: input ", x.str(), " is not a float32 channels-last CUDA tensor");
    const int64_t c = x.size(1), rows = x.numel() / c, groups = cuda::batchnorm_nhwc_row_groups(rows);
    const cuda::BatchnormOfOutput o = outputs_of(bn, c, Device::CUDA);
    Tensor moments = Tensor::empty(Shape{groups * c * 3}, DType::F32, Device::CUDA);
    auto* m = reinterpret_cast<cuda::TileMoments*>(moments.data<float>());
    cuda::batchnorm_nhwc_moments_from_rows(x.data<float>(), rows, c, m);
    cuda::batchnorm_nhwc_finish(m, groups, c, o);
}

Tensor fused_conv_forward(const FusedConv& conv, const Tensor& x, const BatchnormOnLoad* in, const Tensor& w,
                          const Tensor& bias, BatchnormOnLoad* out) {
    GANOPS_CHECK(fusion_applies(x), "fused conv: input ", x.str(), " is not a float32 channels-last CUDA tensor");
    const ConvGeometry g = conv.geometry(x, w);
    const Tensor w_krsc = channels_last(w);
    Tensor y = Tensor::empty(conv.output_shape(x, w), DType::F32, Device::CUDA, MemoryFormat::ChannelsLast);
    cuda::NormAct na;
    if (in) na = norm_act_of(*in);
    const cuda::NormAct* na_ptr = in ? &na : nullptr;
    const int64_t out_channels = y.size(1);
    if (!conv.transposed) {
        cuda::BatchnormOfOutput o;
        if (out) o = outputs_of(*out, out_channels, Device::CUDA);
        cuda::conv2d_forward_nhwc_fused(g, x.data<float>(), na_ptr, w_krsc.data<float>(), f32_or_null(bias), y.data<float>(),
                                        out ? &o : nullptr);
        return y;
    }
    // conv_transpose2d adds its bias after the GEMM: then the statistics come after it too.
    cuda::BatchnormOfOutput o;
    if (out) o = outputs_of(*out, out_channels, Device::CUDA);
    const bool stats_in_epilogue = out && !bias.defined();
    cuda::conv2d_backward_input_nhwc_fused(g, x.data<float>(), na_ptr, w_krsc.data<float>(), y.data<float>(),
                                           stats_in_epilogue ? &o : nullptr);
    if (bias.defined()) add_channel_bias(y, bias);
    if (out && !stats_in_epilogue) {
        const int64_t rows = y.numel() / out_channels;
        Tensor groups = Tensor::empty(Shape{cuda::batchnorm_nhwc_row_groups(rows) * out_channels * 3}, DType::F32, Device::CUDA);
        auto* m = reinterpret_cast<cuda::TileMoments*>(groups.data<float>());
        cuda::batchnorm_nhwc_moments_from_rows(y.data<float>(), rows, out_channels, m);
        cuda::batchnorm_nhwc_finish(m, cuda::batchnorm_nhwc_row_groups(rows), out_channels, o);
    }
    return y;
}

std::vector<Tensor> fused_conv_backward(const FusedConv& conv, const Tensor& dy_any, const Tensor& x, const BatchnormOnLoad* in,
                                        const Tensor& w, const Tensor& bias, const std::vector<bool>& needs) {
    const ConvGeometry g = conv.geometry(x, w);
    const Tensor dy = channels_last(dy_any), w_krsc = channels_last(w);
    cuda::NormAct na;
    if (in) na = norm_act_of(*in);
    std::vector<Tensor> grads(5);
    // The gradient with respect to the conv's input: x itself, or act(bn(x)).
    const bool need_input = needs[0] || (in && (needs[1] || needs[2]));
    Tensor d_input;
    if (need_input) {
        d_input = Tensor::empty(x.shape(), DType::F32, Device::CUDA, MemoryFormat::ChannelsLast);
        if (conv.transposed)
            cuda::conv2d_forward_nhwc(g, dy.data<float>(), w_krsc.data<float>(), nullptr, d_input.data<float>());
        else
            cuda::conv2d_backward_input_nhwc(g, dy.data<float>(), w_krsc.data<float>(), d_input.data<float>());
    }
    if (needs[3]) {
        // Written KRSC: straight into the gradient of a channels-last weight, else reordered.
        const Tensor dw_krsc = Tensor::empty(w.shape(), DType::F32, Device::CUDA, MemoryFormat::ChannelsLast);
        // In conv2d's terms a transposed conv's input is the output gradient, and dy the input.
        if (conv.transposed)
            cuda::conv2d_backward_weight_nhwc_fused(g, x.data<float>(), in ? &na : nullptr, dy.data<float>(), nullptr,
                                                    dw_krsc.data<float>());
        else
            cuda::conv2d_backward_weight_nhwc_fused(g, dy.data<float>(), nullptr, x.data<float>(), in ? &na : nullptr,
                                                    dw_krsc.data<float>());
        grads[3] = convert_memory_format(dw_krsc, w.memory_format());
    }
    if (needs[4] && bias.defined()) grads[4] = channel_sum(dy);
    if (!in) {
        if (needs[0]) grads[0] = d_input;
        return grads;
    }
    const int64_t c = x.size(1), rows = x.numel() / c;
    if (needs[0]) grads[0] = Tensor::empty(x.shape(), DType::F32, Device::CUDA, MemoryFormat::ChannelsLast);
    if (needs[1] && in->weight.defined()) grads[1] = Tensor::empty(Shape{c}, DType::F32, Device::CUDA);
    if (needs[2] && in->bias.defined()) grads[2] = Tensor::empty(Shape{c}, DType::F32, Device::CUDA);
    if (d_input.defined())
        cuda::batchnorm_act_nhwc_backward(d_input.data<float>(), x.data<float>(), na, f32_or_null(in->weight),
                                          in->mean.data<float>(), in->invstd.data<float>(), rows, c, f32_or_null(grads[0]),
                                          f32_or_null(grads[1]), f32_or_null(grads[2]));
    return grads;
}

}  // namespace ganops::kernels
