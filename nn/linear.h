// Linear as torch.nn.Linear: weight [out, in], optional bias [out], PyTorch's default
// initialisation U(-1/sqrt(in), 1/sqrt(in)).
#pragma once
#include "module.h"

namespace ganops::nn {

class Linear : public Module {
public:
    Linear(int64_t in_features, int64_t out_features, bool bias = true);
    Tensor forward(const Tensor& x) override;

    Tensor weight, bias;
};

}  // namespace ganops::nn
