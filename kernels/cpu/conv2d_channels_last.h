// conv2d's three passes through a channels-last copy of each chunk of the batch, for layers
// with many input channels (DCGAN's D2, D3 and the generator's G2, G3 as transposed
// convolutions). conv2d_batched.cpp calls these when channels_last_pays(g); same arguments
// and results as the Eigen reference (reference.h), which the tests compare them with.
#pragma once
#include "../conv_geometry.h"

namespace ganops::cpu {

// True when the input has enough channels that a kernel tap's run of channels is a long
// contiguous copy, and the kernel does not cover the whole input (that case is a plain
// fully connected product in conv2d_batched.cpp).
bool channels_last_pays(const ConvGeometry& g);

template <class T>
void conv2d_forward_channels_last(const ConvGeometry& g, const T* x, const T* w, const T* bias, T* y);
template <class T>
void conv2d_backward_input_channels_last(const ConvGeometry& g, const T* dy, const T* w, T* dx);
template <class T>
void conv2d_backward_weight_channels_last(const ConvGeometry& g, const T* dy, const T* x, T* dw);

}  // namespace ganops::cpu
