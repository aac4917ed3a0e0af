// ConvTranspose2d as torch.nn.ConvTranspose2d: weight [in, out, k, k], optional bias [out];
// PyTorch's default initialisation (fan_in taken from weight dimension 1, as PyTorch does).
#pragma once
#include "../kernels/conv_geometry.h"
#include "module.h"

namespace ganops::nn {

class ConvTranspose2d : public Module {
public:
    ConvTranspose2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size,
                    const ConvTranspose2dOptions& options = ConvTranspose2dOptions(), bool bias = true);
    Tensor forward(const Tensor& x) override;

    Tensor weight, bias;
    ConvTranspose2dOptions options;
};

}  // namespace ganops::nn
