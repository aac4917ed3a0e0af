// Adam as torch.optim.Adam (bias correction, L2 weight decay added to the gradient).
// The moments are allocated up front, zero, beside each parameter.
#pragma once
#include <vector>

#include "../kernels/optimizer.h"

namespace ganops::nn {

using AdamOptions = kernels::AdamHyper;

class Adam {
public:
    Adam(std::vector<Tensor> params, const AdamOptions& options = AdamOptions());
    void step();       // parameters without a gradient are left alone
    void zero_grad();  // clears the gradients of this optimizer's parameters

    AdamOptions options;
    int64_t steps_taken = 0;
    const std::vector<Tensor>& params() const { return params_; }
    const std::vector<Tensor>& exp_avg() const { return exp_avg_; }
    const std::vector<Tensor>& exp_avg_sq() const { return exp_avg_sq_; }

private:
    std::vector<Tensor> params_, exp_avg_, exp_avg_sq_;
};

}  // namespace ganops::nn
