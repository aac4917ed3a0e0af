// conv2d's three passes on the CPU as the library runs them: a few large matrix products
// over chunks of the batch, the chunks split over the thread pool (core/thread_pool.h).
// Same arguments and results as the Eigen reference (reference.h), which stays the oracle
// the tests compare these with. Results do not depend on the number of threads: the chunks
// are cut from the shapes alone and the weight gradient adds the chunks' parts in order.
#pragma once
#include "../conv_geometry.h"

namespace ganops::cpu {

template <class T>
void conv2d_forward_batched(const ConvGeometry& g, const T* x, const T* w, const T* bias, T* y);
template <class T>
void conv2d_backward_input_batched(const ConvGeometry& g, const T* dy, const T* w, T* dx);
template <class T>
void conv2d_backward_weight_batched(const ConvGeometry& g, const T* dy, const T* x, T* dw);

}  // namespace ganops::cpu
