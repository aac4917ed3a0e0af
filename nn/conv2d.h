// Conv2d as torch.nn.Conv2d: weight [out, in, k, k], optional bias [out], both initialised
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)) from the default generator (PyTorch's default).
#pragma once
#include "../kernels/conv_geometry.h"
#include "module.h"

namespace ganops::nn {

class Conv2d : public Module {
public:
    Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size,
           const Conv2dOptions& options = Conv2dOptions(), bool bias = true);
    Tensor forward(const Tensor& x) override;

    Tensor weight, bias;
    Conv2dOptions options;
};

}  // namespace ganops::nn
