#include "tf32_between_layers.h"

#include "../kernels/conv2d.h"
#include "../kernels/conv_transpose2d.h"
#include "conv2d.h"
#include "conv_transpose2d.h"

namespace ganops::nn {

namespace {

bool channels_last_cuda_f32(const Tensor& t) {
    return t.defined() && t.device() == Device::CUDA && t.dtype() == DType::F32 && t.is_channels_last();
}

// The convolution's answer for an input of shape x_shape; {} where `m` is no convolution.
kernels::ConvReadsTf32 reads_of(const Module& m, const Shape& x_shape) {
    if (auto* conv = dynamic_cast<const Conv2d*>(&m)) return kernels::conv2d_reads_tf32(x_shape, conv->weight, conv->options);
    if (auto* conv = dynamic_cast<const ConvTranspose2d*>(&m))
        return kernels::conv_transpose2d_reads_tf32(x_shape, conv->weight, conv->options);
    return {};
}

const Tensor* bias_of(const Module& m) {
    if (auto* conv = dynamic_cast<const Conv2d*>(&m)) return &conv->bias;
    if (auto* conv = dynamic_cast<const ConvTranspose2d*>(&m)) return &conv->bias;
    return nullptr;
}

}  // namespace

bool reads_input_as_tf32(const Module& reader, const Shape& x_shape, const Tensor& like) {
    return channels_last_cuda_f32(like) && reads_of(reader, x_shape).input;
}

bool reads_grad_output_as_tf32(const Module& conv, const Tensor& x) {
    const Tensor* bias = bias_of(conv);
    if (!bias || (bias->defined() && bias->requires_grad())) return false;
    return channels_last_cuda_f32(x) && reads_of(conv, x.shape()).grad_output;
}

RoundToTf32 batchnorm_activation_rounding(const Children& children, size_t i, const Tensor& h, const Tensor& conv_input) {
    RoundToTf32 round;
    if (i + 2 < children.size()) round.output = reads_input_as_tf32(*children[i + 2].second, h.shape(), h);
    if (i > 0 && conv_input.defined()) round.grad_input = reads_grad_output_as_tf32(*children[i - 1].second, conv_input);
    return round;
}

}  // namespace ganops::nn
