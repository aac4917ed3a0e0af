// The CPU reference: every op written plainly with Eigen, templated on the element type
// (float for training, double for gradient checks). Pointers are to contiguous NCHW data
// that the dispatch layer (kernels/*.cpp) has already validated and allocated; outputs are
// fully overwritten unless a comment says "accumulates".
#pragma once
#include <cstdint>

#include "../conv_geometry.h"

namespace ganops::cpu {

// conv2d, in conv2d's terms (see conv_geometry.h); bias may be null.
template <class T>
void conv2d_forward(const ConvGeometry& g, const T* x, const T* w, const T* bias, T* y);
template <class T>
void conv2d_backward_input(const ConvGeometry& g, const T* dy, const T* w, T* dx);
template <class T>
void conv2d_backward_weight(const ConvGeometry& g, const T* dy, const T* x, T* dw);

// x viewed as [outer, channels, inner]: out[c] = sum over outer and inner.
template <class T>
void channel_sum(const T* x, int64_t outer, int64_t channels, int64_t inner, T* out);
// y[o, c, i] += bias[c] (accumulates)
template <class T>
void add_channel_bias(T* y, const T* bias, int64_t outer, int64_t channels, int64_t inner);

// batchnorm2d over x [n, c, hw]. Training: biased batch variance for normalising; `mean`
// and `invstd` (1/sqrt(var + eps)) are written for the backward pass. weight/bias may be null.
template <class T>
void batchnorm2d_forward_train(const T* x, const T* weight, const T* bias, int64_t n, int64_t c, int64_t hw,
                               double eps, T* y, T* mean, T* invstd, T* batch_var);
template <class T>
void batchnorm2d_forward_eval(const T* x, const T* weight, const T* bias, const T* running_mean,
                              const T* running_var, int64_t n, int64_t c, int64_t hw, double eps, T* y);
// running = (1 - momentum) * running + momentum * batch statistic (variance unbiased).
template <class T>
void batchnorm2d_update_running(T* running_mean, T* running_var, const T* mean, const T* batch_var,
                                int64_t c, int64_t count, double momentum);
// `training` selects whether mean/invstd came from the batch (and so depend on x).
// dx, dweight, dbias may be null when not wanted.
template <class T>
void batchnorm2d_backward(const T* dy, const T* x, const T* weight, const T* mean, const T* invstd, int64_t n,
                          int64_t c, int64_t hw, bool training, T* dx, T* dweight, T* dbias);

enum class Activation { ReLU, LeakyReLU, Tanh, Sigmoid };
template <class T>
void activation_forward(Activation a, double slope, const T* x, T* y, int64_t n);
// relu and leaky_relu read x; tanh and sigmoid read their output y (`saved`).
template <class T>
void activation_backward(Activation a, double slope, const T* dy, const T* saved, T* dx, int64_t n);

// Mean binary cross entropy; PyTorch semantics (each log clamped at -100).
template <class T>
T bce_forward(const T* p, const T* target, int64_t n);
template <class T>
void bce_backward(T dloss, const T* p, const T* target, T* dp, int64_t n);
template <class T>
T bce_with_logits_forward(const T* x, const T* target, int64_t n);
template <class T>
void bce_with_logits_backward(T dloss, const T* x, const T* target, T* dx, int64_t n);

// linear: y [rows, out] = x [rows, in] * w[out, in]^T (+ bias)
template <class T>
void linear_forward(const T* x, const T* w, const T* bias, int64_t rows, int64_t in, int64_t out, T* y);
template <class T>
void linear_backward_input(const T* dy, const T* w, int64_t rows, int64_t in, int64_t out, T* dx);
template <class T>
void linear_backward_weight(const T* dy, const T* x, int64_t rows, int64_t in, int64_t out, T* dw);

enum class Binary { Add, Sub, Mul };
template <class T>
void binary(Binary op, const T* a, const T* b, T* out, int64_t n);
template <class T>
void scale(const T* a, double s, T* out, int64_t n);
template <class T>
T sum(const T* a, int64_t n);
// out[i, j] = row[j] * factor for i < n
template <class T>
void repeat_rows(const T* row, int64_t n, int64_t width, double factor, T* out);

// Optimizer updates of one parameter tensor, in place; PyTorch semantics.
template <class T>
void adam_update(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, int64_t n, double lr, double beta1,
                 double beta2, double eps, double weight_decay, int64_t step);
template <class T>
void sgd_update(T* param, const T* grad, T* momentum_buffer, int64_t n, double lr, double momentum,
                double dampening, double weight_decay, bool nesterov, bool first_step);

}  // namespace ganops::cpu

namespace ganops::cpu {

// Softmax over the last dimension of x [rows, classes].
template <class T>
void softmax_forward(const T* x, int64_t rows, int64_t classes, T* y);
template <class T>
void softmax_backward(const T* dy, const T* y, int64_t rows, int64_t classes, T* dx);
// Mean over rows of -log softmax(logits)[label]; labels hold class indices as numbers.
template <class T>
T softmax_cross_entropy_forward(const T* logits, const T* labels, int64_t rows, int64_t classes);
template <class T>
void softmax_cross_entropy_backward(T dloss, const T* logits, const T* labels, int64_t rows, int64_t classes, T* dlogits);

// out [n, ca + cb, inner] = a [n, ca, inner] followed by b [n, cb, inner] along dimension 1;
// the backward pass is the two slices.
template <class T>
void concat_channels(const T* a, const T* b, int64_t n, int64_t ca, int64_t cb, int64_t inner, T* out);
template <class T>
void split_channels(const T* in, int64_t n, int64_t ca, int64_t cb, int64_t inner, T* a, T* b);

// Adaptive max pooling of x [planes, h, w] to [planes, oh, ow] with PyTorch's windows
// (rows floor(i h / oh) to ceil((i + 1) h / oh)); the gradient goes to the first maximum.
template <class T>
void adaptive_max_pool2d_forward(const T* x, int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow, T* y);
template <class T>
void adaptive_max_pool2d_backward(const T* dy, const T* x, int64_t planes, int64_t h, int64_t w, int64_t oh,
                                  int64_t ow, T* dx);

}  // namespace ganops::cpu
