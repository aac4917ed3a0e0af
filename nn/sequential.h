// Runs its children in order; they are named "0", "1", ... as in torch.nn.Sequential.
#pragma once
#include <string>

#include "activation.h"
#include "batchnorm2d.h"
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
    Tensor forward(const Tensor& x) override {
        Tensor h = x;
        const auto& children = named_children();
        for (size_t i = 0; i < children.size(); ++i) {
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
