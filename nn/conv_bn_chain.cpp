#include "conv_bn_chain.h"

#include "../nn/functional.h"
#include "activation.h"
#include "batchnorm2d.h"
#include "conv2d.h"
#include "conv_transpose2d.h"

namespace ganops::nn {

bool& conv_bn_fusion_enabled() {
    static bool on = false;
    return on;
}

namespace {

// A Conv2d or ConvTranspose2d as conv_fused takes it; false for any other module.
bool as_conv(Module* m, kernels::FusedConv& conv, Tensor& weight, Tensor& bias) {
    if (auto* c = dynamic_cast<Conv2d*>(m)) {
        conv.transposed = false;
        conv.conv_opt = c->options;
        weight = c->weight;
        bias = c->bias;
        return true;
    }
    if (auto* t = dynamic_cast<ConvTranspose2d*>(m)) {
        conv.transposed = true;
        conv.tconv_opt = t->options;
        weight = t->weight;
        bias = t->bias;
        return true;
    }
    return false;
}

// The batchnorm + activation at children[i], i + 1 if they can be fused; else null.
BatchNorm2d* fusable_batchnorm(const Children& children, size_t i, double& slope) {
    if (i + 2 >= children.size()) return nullptr;
    auto* bn = dynamic_cast<BatchNorm2d*>(children[i].second.get());
    if (!bn || !bn->is_training() || bn->stats_sync) return nullptr;
    Module* act = children[i + 1].second.get();
    if (dynamic_cast<ReLU*>(act))
        slope = 0.0;
    else if (auto* leaky = dynamic_cast<LeakyReLU*>(act); leaky && leaky->negative_slope >= 0)
        slope = leaky->negative_slope;
    else
        return nullptr;
    kernels::FusedConv next;
    Tensor w, b;
    return as_conv(children[i + 2].second.get(), next, w, b) ? bn : nullptr;
}

}  // namespace

size_t run_conv_bn_chain(const Children& children, size_t i, Tensor& h, std::optional<kernels::BatchnormOnLoad>& pending) {
    if (!conv_bn_fusion_enabled() || !kernels::fusion_applies(h)) return 0;
    kernels::FusedConv conv;
    Tensor weight, bias;
    if (!as_conv(children[i].second.get(), conv, weight, bias)) return 0;
    double slope = 0.0;
    BatchNorm2d* bn = fusable_batchnorm(children, i + 1, slope);
    if (!bn && !pending) return 0;
    std::optional<kernels::BatchnormOnLoad> next;
    if (bn) {
        next.emplace();
        next->weight = bn->weight;
        next->bias = bn->bias;
        next->running_mean = bn->running_mean;
        next->running_var = bn->running_var;
        next->momentum = bn->momentum;
        next->eps = bn->eps;
        next->negative_slope = slope;
        if (bn->running_mean.defined()) ++bn->num_batches_tracked;  // as BatchNorm2d::forward
    }
    h = conv_fused(h, pending ? &*pending : nullptr, weight, bias, conv, next ? &*next : nullptr);
    pending = std::move(next);
    return bn ? 3 : 1;
}

}  // namespace ganops::nn
