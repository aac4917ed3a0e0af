#include "sgd.h"

#include "../core/autograd.h"

namespace ganops::nn {

SGD::SGD(std::vector<Tensor> params, const SgdOptions& opt) : options(opt), params_(std::move(params)) {
    kernels::check_sgd_hyper(options);
    for (size_t i = 0; i < params_.size(); ++i) {
        const Tensor& p = params_[i];
        GANOPS_CHECK(p.defined() && p.is_leaf() && p.requires_grad(), "SGD: parameter ", i, " (", p.str(),
                     ") is not a leaf tensor that requires grad");
        buffers_.push_back(options.momentum != 0 ? Tensor::empty(p.shape(), p.dtype(), p.device(), p.memory_format()) : Tensor());
        if (buffers_.back().defined()) buffers_.back().fill(0);  // in the parameter's format (kernels/optimizer.cpp)
        buffer_started_.push_back(false);
    }
}

void SGD::step() {
    NoGradGuard no_grad;
    std::vector<kernels::SgdSlot> slots;
    for (size_t i = 0; i < params_.size(); ++i) {
        slots.push_back({params_[i], params_[i].grad(), buffers_[i], !buffer_started_[i]});
        // As in PyTorch, a parameter's buffer starts on the first step that gives it a gradient.
        if (params_[i].grad().defined()) buffer_started_[i] = true;
    }
    kernels::sgd_step(slots, options);
    ++steps_taken;
}

void SGD::zero_grad() {
    for (const Tensor& p : params_) p.set_grad(Tensor());
}

}  // namespace ganops::nn
