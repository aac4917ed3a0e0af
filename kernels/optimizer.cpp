#include "optimizer.h"

#include <cmath>
#include <utility>

#include "checks.h"
#include "cpu/reference.h"
#include "cuda/kernels.h"

namespace ganops::kernels {

void check_adam_hyper(const AdamHyper& h) {
    GANOPS_CHECK(std::isfinite(h.lr) && h.lr >= 0, "Adam: learning rate must be >= 0, got ", h.lr);
    GANOPS_CHECK(h.beta1 >= 0 && h.beta1 < 1, "Adam: beta1 must be in [0, 1), got ", h.beta1);
    GANOPS_CHECK(h.beta2 >= 0 && h.beta2 < 1, "Adam: beta2 must be in [0, 1), got ", h.beta2);
    GANOPS_CHECK(h.eps >= 0, "Adam: eps must be >= 0, got ", h.eps);
    GANOPS_CHECK(h.weight_decay >= 0, "Adam: weight_decay must be >= 0, got ", h.weight_decay);
}

void check_sgd_hyper(const SgdHyper& h) {
    GANOPS_CHECK(std::isfinite(h.lr) && h.lr >= 0, "SGD: learning rate must be >= 0, got ", h.lr);
    GANOPS_CHECK(h.momentum >= 0, "SGD: momentum must be >= 0, got ", h.momentum);
    GANOPS_CHECK(h.weight_decay >= 0, "SGD: weight_decay must be >= 0, got ", h.weight_decay);
    GANOPS_CHECK(!h.nesterov || (h.momentum > 0 && h.dampening == 0),
                 "SGD: nesterov momentum requires momentum > 0 and dampening 0");
}

namespace {
// The update runs element by element over storage, in either memory format, as long as the
// parameter, its gradient and its state share one (a channels-last weight's gradient from
// the NHWC convolutions is channels-last, as is the state that Adam allocates beside it).
void check_slot(const char* op, const Tensor& param, const Tensor& grad, const Tensor& a, const Tensor& b) {
    check_compatible(op, {{"param", &param}, {"grad", &grad}, {"state", &a}, {"state", &b}}, Formats::Any);
    for (const auto& [name, t] : {std::pair{"grad", &grad}, std::pair{"state", &a}, std::pair{"state", &b}}) {
        if (!t->defined()) continue;
        check_same_shape(op, "param", param, name, *t);
        GANOPS_CHECK(t->memory_format() == param.memory_format() || (t->storage_is_nchw() && param.storage_is_nchw()), op,
                     ": param ", param.str(), " is ", memory_format_name(param.memory_format()), " but its ", name, " is ",
                     memory_format_name(t->memory_format()),
                     ": they must share a memory format (after Module::to(MemoryFormat), build the optimizer "
                     "then, or call Adam::follow_parameter_formats)");
    }
}
}  // namespace

void adam_step(const std::vector<AdamSlot>& slots, const AdamHyper& h, int64_t step) {
    check_adam_hyper(h);
    GANOPS_CHECK(step >= 1, "Adam: step counts from 1, got ", step);
    std::vector<cuda::AdamTensor> on_gpu;  // updated together, in one launch
    for (const AdamSlot& s : slots) {
        if (!s.grad.defined()) continue;
        check_slot("Adam", s.param, s.grad, s.exp_avg, s.exp_avg_sq);
        if (on_cuda("Adam", s.param)) {
            on_gpu.push_back({s.param.data<float>(), s.grad.data<float>(), s.exp_avg.data<float>(),
                              s.exp_avg_sq.data<float>(), s.param.numel()});
            continue;
        }
        on_cpu_float_type("Adam", s.param, [&](auto t) {
            using T = decltype(t);
            cpu::adam_update<T>(s.param.data<T>(), s.grad.data<T>(), s.exp_avg.data<T>(), s.exp_avg_sq.data<T>(),
                                s.param.numel(), h.lr, h.beta1, h.beta2, h.eps, h.weight_decay, step);
        });
    }
    if (!on_gpu.empty())
        cuda::adam_update(on_gpu.data(), static_cast<int>(on_gpu.size()), h.lr, h.beta1, h.beta2, h.eps, h.weight_decay,
                          step);
}

void sgd_step(const std::vector<SgdSlot>& slots, const SgdHyper& h) {
    check_sgd_hyper(h);
    std::vector<cuda::SgdTensor> on_gpu;
    for (const SgdSlot& s : slots) {
        if (!s.grad.defined()) continue;
        check_slot("SGD", s.param, s.grad, s.momentum_buffer, Tensor());
        GANOPS_CHECK(h.momentum == 0 || s.momentum_buffer.defined(), "SGD: momentum ", h.momentum,
                     " needs a momentum buffer for parameter ", s.param.str());
        if (on_cuda("SGD", s.param)) {
            on_gpu.push_back({s.param.data<float>(), s.grad.data<float>(), f32_or_null(s.momentum_buffer),
                              s.param.numel(), s.buffer_empty});
            continue;
        }
        on_cpu_float_type("SGD", s.param, [&](auto t) {
            using T = decltype(t);
            cpu::sgd_update<T>(s.param.data<T>(), s.grad.data<T>(),
                               s.momentum_buffer.defined() ? s.momentum_buffer.data<T>() : nullptr, s.param.numel(),
                               h.lr, h.momentum, h.dampening, h.weight_decay, h.nesterov, s.buffer_empty);
        });
    }
    if (!on_gpu.empty())
        cuda::sgd_update(on_gpu.data(), static_cast<int>(on_gpu.size()), h.lr, h.momentum, h.dampening, h.weight_decay,
                         h.nesterov);
}

}  // namespace ganops::kernels
