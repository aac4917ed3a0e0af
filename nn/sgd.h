// SGD as torch.optim.SGD: momentum (buffer starts at the first gradient), dampening,
// Nesterov, L2 weight decay added to the gradient.
#pragma once
#include <vector>

#include "../kernels/optimizer.h"

namespace ganops::nn {

using SgdOptions = kernels::SgdHyper;

class SGD {
public:
    SGD(std::vector<Tensor> params, const SgdOptions& options = SgdOptions());
    void step();
    void zero_grad();

    SgdOptions options;
    int64_t steps_taken = 0;
    const std::vector<Tensor>& momentum_buffers() const { return buffers_; }

private:
    std::vector<Tensor> params_, buffers_;
    std::vector<bool> buffer_started_;
};

}  // namespace ganops::nn
