// Memory-format conversion (core/memory_format.h) for tensors: the one place that moves a
// 4-d tensor's storage between NCHW and NHWC order, on the CPU (kernels/cpu/layout.h) or
// the GPU (kernels/cuda/layout.cu). Not recorded by autograd: Tensor::to_memory_format is
// the differentiable wrapper.
#pragma once
#include "../core/tensor.h"

namespace ganops::kernels {

// x itself when its storage is already in `format`, else a new tensor with the same shape,
// dtype and device, stored in `format`. ChannelsLast needs a 4-d tensor (named in the error).
Tensor convert_memory_format(const Tensor& x, MemoryFormat format);

// `t` stored in the format of `like` (itself when they agree): for ops that take two
// tensors of the same shape element by element and must read them in the same order.
Tensor in_format_of(const Tensor& like, const Tensor& t);

}  // namespace ganops::kernels
