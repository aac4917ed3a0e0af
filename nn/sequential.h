// Runs its children in order; they are named "0", "1", ... as in torch.nn.Sequential.
#pragma once
#include <string>

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
    Tensor forward(const Tensor& x) override {
        Tensor h = x;
        for (const auto& [name, child] : named_children()) h = child->forward(h);
        return h;
    }
    Module& operator[](size_t i) const { return *named_children().at(i).second; }
    size_t size() const { return named_children().size(); }
};

}  // namespace ganops::nn
