// The mask of inverted dropout: each element is 0 with probability p and 1 / (1 - p)
// otherwise, drawn from the Philox stream so a seed fixes it on every device. The forward
// and backward passes are then one multiplication each (kernels/elementwise.h).
#pragma once
#include "../core/tensor.h"

namespace ganops {
struct Generator;
}

namespace ganops::kernels {

Tensor dropout_mask(const Shape& shape, double p, Generator& gen, DType dtype, Device device);

}  // namespace ganops::kernels
