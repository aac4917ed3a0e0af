// conv_fused: a conv2d / conv_transpose2d that may apply a training batchnorm + activation to
// its input while loading it, and may gather the statistics of the batchnorm that follows it
// (kernels/conv_bn_fusion.h). Where the fused kernels do not apply (CPU, NCHW, float64) it
// composes the unfused ops, which then compute those statistics themselves.
#include "../../kernels/conv_bn_fusion.h"
#include "../functional.h"

namespace ganops {

namespace {

Tensor activation(const Tensor& h, double slope) { return slope == 0 ? relu(h) : leaky_relu(h, slope); }

Tensor plain_conv(const Tensor& h, const Tensor& weight, const Tensor& bias, const kernels::FusedConv& conv) {
    return conv.transposed ? conv_transpose2d(h, weight, bias, conv.tconv_opt) : conv2d(h, weight, bias, conv.conv_opt);
}

}  // namespace

Tensor conv_fused(const Tensor& x, kernels::BatchnormOnLoad* in, const Tensor& weight, const Tensor& bias,
                  const kernels::FusedConv& conv, kernels::BatchnormOnLoad* out) {
    if (!kernels::fusion_applies(x)) {
        if (out) out->norm_act = Tensor();  // the consumer normalises unfused
        Tensor h = x;
        if (in)
            h = activation(batchnorm2d(x, in->weight, in->bias, in->running_mean, in->running_var, true, in->momentum, in->eps),
                           in->negative_slope);
        return plain_conv(h, weight, bias, conv);
    }
    if (in && !in->norm_act.defined()) kernels::batchnorm_on_load_statistics(x, *in);
    Tensor y = kernels::fused_conv_forward(conv, x, in, weight, bias, out);
    const Tensor none;
    return record("conv_fused", y, {x, in ? in->weight : none, in ? in->bias : none, weight, bias},
                  [x, saved = in ? *in : kernels::BatchnormOnLoad{}, has_in = in != nullptr, weight, bias, conv](
                      const Tensor& dy, const std::vector<bool>& needs) {
                      return kernels::fused_conv_backward(conv, dy, x, has_in ? &saved : nullptr, weight, bias, needs);
                  });
}

}  // namespace ganops
