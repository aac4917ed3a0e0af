// Concatenation of a [N, Ca, ...] and b [N, Cb, ...] along dimension 1 (class maps joined to
// images or noise in a conditional GAN), and its inverse.
#pragma once
#include "../core/tensor.h"

namespace ganops::kernels {

Tensor concat_channels(const Tensor& a, const Tensor& b);
// The parts of `in` that came from a and from b; undefined where not wanted.
void split_channels(const Tensor& in, int64_t ca, Tensor* a, Tensor* b);

}  // namespace ganops::kernels
