// Adaptive max pooling of x [N, C, H, W] to [N, C, oh, ow] with PyTorch's windows: the
// DCGAN paper's feature extractor pools every discriminator layer to 4x4 this way.
#pragma once
#include "../core/tensor.h"

namespace ganops::kernels {

Tensor adaptive_max_pool2d_forward(const Tensor& x, int64_t oh, int64_t ow);
Tensor adaptive_max_pool2d_backward(const Tensor& dy, const Tensor& x);

}  // namespace ganops::kernels
