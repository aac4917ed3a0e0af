#include "adam.h"

#include "../core/autograd.h"

namespace ganops::nn {

namespace {
void check_params(const char* op, const std::vector<Tensor>& params) {
    for (size_t i = 0; i < params.size(); ++i)
        GANOPS_CHECK(params[i].defined() && params[i].is_leaf() && params[i].requires_grad(), op, ": parameter ", i,
                     " (", params[i].str(), ") is not a leaf tensor that requires grad");
}
}  // namespace

Adam::Adam(std::vector<Tensor> params, const AdamOptions& opt) : options(opt), params_(std::move(params)) {
    kernels::check_adam_hyper(options);
    check_params("Adam", params_);
    for (const Tensor& p : params_) {
        exp_avg_.push_back(Tensor::zeros(p.shape(), p.dtype(), p.device()));
        exp_avg_sq_.push_back(Tensor::zeros(p.shape(), p.dtype(), p.device()));
    }
}

void Adam::step() {
    NoGradGuard no_grad;
    std::vector<kernels::AdamSlot> slots;
    for (size_t i = 0; i < params_.size(); ++i)
        slots.push_back({params_[i], params_[i].grad(), exp_avg_[i], exp_avg_sq_[i]});
    kernels::adam_step(slots, options, steps_taken + 1);
    ++steps_taken;
}

void Adam::zero_grad() {
    for (const Tensor& p : params_) p.set_grad(Tensor());
}

}  // namespace ganops::nn
