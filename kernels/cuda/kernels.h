// CUDA kernels, launched on the current stream (core/cuda_device.h). Declared without CUDA
// types so host code can call them; each mirrors the CPU reference function of the same
// name in kernels/cpu/reference.h and takes device pointers to contiguous NCHW float32
// data that the dispatch layer (kernels/*.cpp) has validated and allocated. Nothing here
// synchronises with the host: scalars that a kernel needs from an earlier kernel (a loss
// gradient) are read from device memory.
#pragma once
#include <cstdint>

#include "../conv_geometry.h"

namespace ganops::cuda {

// ---- fills and random numbers (fill.cu, random.cu) ----
void fill(float* out, int64_t n, float value);
void fill(double* out, int64_t n, double value);
// The Philox streams of core/philox.h, bit for bit the CPU's philox::uniform_fill and
// philox::normal_fill.
void uniform_fill(float* out, int64_t n, uint64_t seed, uint64_t offset, float low, float high);
void uniform_fill(double* out, int64_t n, uint64_t seed, uint64_t offset, float low, float high);
void normal_fill(float* out, int64_t n, uint64_t seed, uint64_t offset, float mean, float stddev);
void normal_fill(double* out, int64_t n, uint64_t seed, uint64_t offset, float mean, float stddev);
// out[i] = 0 where the stream's uniform u_i < p, keep_scale elsewhere (dropout.cu).
void dropout_mask(float* out, int64_t n, uint64_t seed, uint64_t offset, double p, float keep_scale);

// ---- element-wise (elementwise.cu) ----
enum class Binary { Add, Sub, Mul };
void binary(Binary op, const float* a, const float* b, float* out, int64_t n);
void scale(const float* a, float s, float* out, int64_t n);
// out[i] = (*scalar) * factor
void expand_scalar(const float* scalar, float factor, float* out, int64_t n);

// ---- reductions (reduce.cu); sums run in double, in a fixed order: bit-reproducible ----
void sum(const float* a, int64_t n, float* out);  // out: one element
void channel_sum(const float* x, int64_t outer, int64_t channels, int64_t inner, float* out);
void add_channel_bias(float* y, const float* bias, int64_t outer, int64_t channels, int64_t inner);
void repeat_rows(const float* row, int64_t n, int64_t width, float factor, float* out);

// ---- activations (activation.cu) ----
enum class Activation { ReLU, LeakyReLU, Tanh, Sigmoid };
void activation_forward(Activation a, float slope, const float* x, float* y, int64_t n);
void activation_backward(Activation a, float slope, const float* dy, const float* saved, float* dx, int64_t n);

// ---- binary cross entropy, mean (bce.cu); dloss and the loss are device scalars ----
void bce_forward(const float* p, const float* target, int64_t n, float* loss);
void bce_backward(const float* dloss, const float* p, const float* target, float* dp, int64_t n);
void bce_with_logits_forward(const float* x, const float* target, int64_t n, float* loss);
void bce_with_logits_backward(const float* dloss, const float* x, const float* target, float* dx, int64_t n);

// ---- batchnorm2d (batchnorm2d.cu), x viewed as [n, c, hw] ----
// Batch statistics by Welford per thread and Chan's merge across threads and blocks.
// Writes y, mean, invstd; updates running_mean/var (when not null) with the unbiased variance.
void batchnorm2d_forward_train(const float* x, const float* weight, const float* bias, int64_t n, int64_t c,
                               int64_t hw, double eps, double momentum, float* y, float* mean, float* invstd,
                               float* running_mean, float* running_var);
void batchnorm2d_forward_eval(const float* x, const float* weight, const float* bias, const float* running_mean,
                              const float* running_var, int64_t n, int64_t c, int64_t hw, double eps, float* y);
void batchnorm2d_invstd(const float* running_var, int64_t c, double eps, float* invstd);
// dx, dweight, dbias may be null when not wanted.
void batchnorm2d_backward(const float* dy, const float* x, const float* weight, const float* mean,
                          const float* invstd, int64_t n, int64_t c, int64_t hw, bool training, float* dx,
                          float* dweight, float* dbias);

// ---- convolution as implicit GEMM (conv2d.cu), in conv2d's terms (conv_geometry.h) ----
void conv2d_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias, float* y);
void conv2d_backward_input(const ConvGeometry& g, const float* dy, const float* w, float* dx);
void conv2d_backward_weight(const ConvGeometry& g, const float* dy, const float* x, float* dw);

// ---- linear (linear.cu): y [rows, out] = x [rows, in] w[out, in]^T + bias ----
void linear_forward(const float* x, const float* w, const float* bias, int64_t rows, int64_t in, int64_t out,
                    float* y);
void linear_backward_input(const float* dy, const float* w, int64_t rows, int64_t in, int64_t out, float* dx);
void linear_backward_weight(const float* dy, const float* x, int64_t rows, int64_t in, int64_t out, float* dw);

// ---- optimizers (optimizer.cu): one launch updates every tensor of the list ----
struct AdamTensor {
    float* param;
    const float* grad;
    float* exp_avg;
    float* exp_avg_sq;
    int64_t n;
};
void adam_update(const AdamTensor* tensors, int count, double lr, double beta1, double beta2, double eps,
                 double weight_decay, int64_t step);
struct SgdTensor {
    float* param;
    const float* grad;
    float* momentum_buffer;  // null without momentum
    int64_t n;
    bool buffer_empty;
};
void sgd_update(const SgdTensor* tensors, int count, double lr, double momentum, double dampening,
                double weight_decay, bool nesterov);

// ---- softmax, softmax cross entropy (softmax.cu), x [rows, classes] ----
void softmax_forward(const float* x, int64_t rows, int64_t classes, float* y);
void softmax_backward(const float* dy, const float* y, int64_t rows, int64_t classes, float* dx);
// Labels are class indices stored as floats; one outside [0, classes) gives a NaN loss.
void softmax_cross_entropy_forward(const float* logits, const float* labels, int64_t rows, int64_t classes, float* loss);
void softmax_cross_entropy_backward(const float* dloss, const float* logits, const float* labels, int64_t rows,
                                    int64_t classes, float* dlogits);

// ---- channel concatenation (concat.cu) ----
void concat_channels(const float* a, const float* b, int64_t n, int64_t ca, int64_t cb, int64_t inner, float* out);
void split_channels(const float* in, int64_t n, int64_t ca, int64_t cb, int64_t inner, float* a, float* b);

// ---- adaptive max pooling (adaptive_max_pool2d.cu), x [planes, h, w] ----
void adaptive_max_pool2d_forward(const float* x, int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow, float* y);
void adaptive_max_pool2d_backward(const float* dy, const float* x, int64_t planes, int64_t h, int64_t w, int64_t oh,
                                  int64_t ow, float* dx);

}  // namespace ganops::cuda
