// Runs its children in order; they are named "0", "1", ... as in torch.nn.Sequential.
#pragma once
#include <string>

#include "activation.h"
#include "batchnorm2d.h"
#include "conv_activation.h"
#include "conv_bn_chain.h"
#include "module.h"

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
    Tensor forward(const Tensor& x) override {
        Tensor h = x;
        const auto& children = named_children();
        std::optional<kernels::BatchnormOnLoad> pending;  // the batchnorm the next conv applies on load
        for (size_t i = 0; i < children.size(); ++i) {
            if (const size_t ran = run_conv_bn_chain(children, i, h, pending)) {
                i += ran - 1;
                continue;
            }
            if (const size_t ran = run_conv_activation(children, i, h)) {
                i += ran - 1;
                continue;
            }
            Module* child = children[i].second.get();
            if (auto* bn = dynamic_cast<BatchNorm2d*>(child); bn && i + 1 < children.size()) {
                Module* next = children[i + 1].second.get();
                if (dynamic_cast<ReLU*>(next)) {
                    h = bn->forward_leaky_relu(h, 0.0);
                    ++i;
                    continue;
                }
                if (auto* leaky = dynamic_cast<LeakyReLU*>(next)) {
                    h = bn->forward_leaky_relu(h, leaky->negative_slope);
                    ++i;
                    continue;
                }
            }
            h = child->forward(h);
        }
        return h;
    }
    Module& operator[](size_t i) const { return *named_children().at(i).second; }
    size_t size() const { return named_children().size(); }
};

}  // namespace ganops::nn
