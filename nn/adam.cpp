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
    for (const Tensor& p : params_)
        for (auto* moments : {&exp_avg_, &exp_avg_sq_}) {
            moments->push_back(Tensor::empty(p.shape(), p.dtype(), p.device(), p.memory_format()));
            moments->back().fill(0);
        }
}

void Adam::follow_parameter_formats() {
    for (size_t i = 0; i < params_.size(); ++i) {
        exp_avg_[i].change_memory_format_in_place(params_[i].memory_format());
        exp_avg_sq_[i].change_memory_format_in_place(params_[i].memory_format());
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
