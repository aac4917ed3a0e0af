// Optimizer updates over a whole parameter list in one call (one launch on the GPU), with
// PyTorch's formulas (torch.optim.Adam and SGD, weight decay added to the gradient).
#pragma once
#include <cstdint>
#include <vector>

#include "../core/tensor.h"

namespace ganops::kernels {

struct AdamHyper {
    double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
};
struct AdamSlot {
    Tensor param, grad, exp_avg, exp_avg_sq;  // param and both moments are updated in place
};
// `step` counts from 1 (bias correction). Slots whose grad is undefined are skipped.
void adam_step(const std::vector<AdamSlot>& slots, const AdamHyper& h, int64_t step);
void check_adam_hyper(const AdamHyper& h);

struct SgdHyper {
    double lr = 1e-2, momentum = 0, dampening = 0, weight_decay = 0;
    bool nesterov = false;
};
struct SgdSlot {
    Tensor param, grad, momentum_buffer;
    bool buffer_empty = true;  // the buffer holds nothing yet and starts at this gradient
};
void sgd_step(const std::vector<SgdSlot>& slots, const SgdHyper& h);
void check_sgd_hyper(const SgdHyper& h);

}  // namespace ganops::kernels
