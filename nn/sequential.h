// Runs its children in order; they are named "0", "1", ... as in torch.nn.Sequential.
#pragma once
#include <string>
#include <utility>

#include "activation.h"
#include "batchnorm2d.h"
#include "conv_activation.h"
#include "conv_bn_chain.h"
#include "module.h"
#include "tf32_between_layers.h"

namespace ganops::nn {

class Sequential : public Module {
public:
    Sequential() = default;
    template <class M>
    std::shared_ptr<M> add(std::shared_ptr<M> module) {
        return register_module(std::to_string(named_children().size()), std::move(module));
    }
    template <class M, class... Args>
    std::shared_ptr<M> emplace(Args&&... args) {
        return add(std::make_shared<M>(std::forward<Args>(args)...));
    }
    // A BatchNorm2d followed by ReLU or LeakyReLU runs as one fused op (BatchNorm2d::
    // forward_leaky_relu: one pass over the data each way instead of two); the modules, their
    // names and their parameters stay as they are.
    // On CUDA channels-last in training, Conv -> BatchNorm2d -> ReLU/LeakyReLU -> Conv runs as
    // two fused convolutions (conv_bn_chain.h). On CUDA channels-last in TF32 / BF16, a Conv2d
    // followed by ReLU or LeakyReLU runs as one op (conv_activation.h).
    // With round_tf32_between_layers, the fused batchnorm + activation and conv + activation
    // store their outputs (and the batchnorm its input's gradient) rounded to TF32 where the
    // convolutions reading them round them so anyway (nn/tf32_between_layers.h): the same
    // results, and those convolutions skip their rounding pass. Off by default.
    bool round_tf32_between_layers = false;

    Tensor forward(const Tensor& x) override {
        Tensor h = x;
        const auto& children = named_children();
        std::optional<kernels::BatchnormOnLoad> pending;  // the batchnorm the next conv applies on load
        Tensor alone_input;  // the input of children[i - 1] where it ran alone (else undefined)
        for (size_t i = 0; i < children.size(); ++i) {
            const Tensor previous_input = std::exchange(alone_input, Tensor());
            if (const size_t ran = run_conv_bn_chain(children, i, h, pending)) {
                i += ran - 1;
                continue;
            }
            if (const size_t ran = run_conv_activation(children, i, h, round_tf32_between_layers)) {
                i += ran - 1;
                continue;
            }
            Module* child = children[i].second.get();
            if (auto* bn = dynamic_cast<BatchNorm2d*>(child); bn && i + 1 < children.size()) {
                Module* next = children[i + 1].second.get();
                auto* leaky = dynamic_cast<LeakyReLU*>(next);
                if (leaky || dynamic_cast<ReLU*>(next)) {
                    const RoundToTf32 round = round_tf32_between_layers
                                                  ? batchnorm_activation_rounding(children, i, h, previous_input)
                                                  : RoundToTf32{};
                    h = bn->forward_leaky_relu(h, leaky ? leaky->negative_slope : 0.0, round);
                    ++i;
                    continue;
                }
            }
            alone_input = h;
            h = child->forward(h);
        }
        return h;
    }
    Module& operator[](size_t i) const { return *named_children().at(i).second; }
    size_t size() const { return named_children().size(); }
};

}  // namespace ganops::nn
