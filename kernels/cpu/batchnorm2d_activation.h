// batchnorm2d in training mode fused with leaky_relu (slope >= 0; relu is slope 0) on the
// CPU, over x [n, c, hw]. Same statistics and outputs as batchnorm2d_forward_train followed
// by activation_forward (reference.h), which the tests compare it with.
#pragma once
#include <cstdint>

namespace ganops::cpu {

// y = leaky_relu(batchnorm(x)); mean, invstd, batch_var [c] as batchnorm2d_forward_train.
// weight/bias may be null.
template <class T>
void batchnorm2d_leaky_relu_forward_train(const T* x, const T* weight, const T* bias, int64_t n, int64_t c,
                                          int64_t hw, double eps, double slope, T* y, T* mean, T* invstd,
                                          T* batch_var);
// The gradients from dy at y = the forward's output (its sign gives the activation's
// derivative). dx, dweight, dbias may be null when not wanted.
template <class T>
void batchnorm2d_leaky_relu_backward(const T* dy, const T* x, const T* y, const T* weight, const T* mean,
                                     const T* invstd, int64_t n, int64_t c, int64_t hw, double slope, T* dx,
                                     T* dweight, T* dbias);

}  // namespace ganops::cpu
