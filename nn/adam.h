// Adam as torch.optim.Adam (bias correction, L2 weight decay added to the gradient).
// The moments are allocated up front, zero, beside each parameter and in its memory format:
// the update runs element by element over storage, so a parameter, its gradient and its
// moments must share the format (a mismatch is an error naming Adam and the tensors).
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
    // Stores each moment in its parameter's current memory format, values unchanged: call
    // it after Module::to(MemoryFormat) changed the parameters' format.
    void follow_parameter_formats();

    AdamOptions options;
    int64_t steps_taken = 0;
    const std::vector<Tensor>& params() const { return params_; }
    const std::vector<Tensor>& exp_avg() const { return exp_avg_; }
    const std::vector<Tensor>& exp_avg_sq() const { return exp_avg_sq_; }

private:
    std::vector<Tensor> params_, exp_avg_, exp_avg_sq_;
};

}  // namespace ganops::nn
