// batchnorm2d (training, batch statistics) fused with leaky_relu (slope >= 0; relu is slope 0)
// on the GPU (batchnorm2d_activation.cu): the CUDA twin of kernels/cpu/batchnorm2d_activation.h.
// x is viewed as [n, c, hw]: NCHW, or channels-last [N, H, W, C] as n = N*H*W rows of c
// channels with hw = 1. Device pointers, float32, on the current stream; deterministic (partial
// sums per block, merged in a fixed order; no float atomics).
//
// Forward: one statistics pass over x, a per-channel finish, one normalise-and-activate pass.
// Backward: one pass of sums over dy, x and y (the activation's derivative from the sign of
// y), a per-channel finish, one dx pass. Unfused, batchnorm and the activation take a pass
// more each way and write and read the normalised tensor in between.
//
// round_tf32 (off by default): the output y / dx stored as TF32 values (cvt.rna, exactly as the
// TF32 tensor-core loop rounds its operands), for a caller whose only reader of that tensor
// is a TF32 convolution: that convolution's loop may then skip rounding it (mma_plan.h's
// OperandsTf32) and gives the same bits. Other readers would see the rounding: leave it off.
// (The backward's use of y is its sign, which the rounding keeps: a positive value below 2^-137,
// which cvt.rna takes to +0, is stored as it is; tf32_store.h.)
#pragma once
#include <cstdint>

namespace ganops::cuda {

// y = leaky_relu(batchnorm(x)); writes mean and invstd [c] and updates running_mean/var (when
// not null) with the unbiased variance, as batchnorm2d_forward_train. weight/bias may be null.
void batchnorm2d_leaky_relu_forward_train(const float* x, const float* weight, const float* bias, int64_t n, int64_t c,
                                          int64_t hw, double eps, double momentum, float slope, float* y, float* mean,
                                          float* invstd, float* running_mean, float* running_var, bool round_tf32 = false);

// The normalise-and-activate pass alone, from statistics computed elsewhere (a convolution's
// epilogue): y = leaky_relu((x - mean) * invstd * weight + bias).
void batchnorm2d_leaky_relu_apply(const float* x, const float* weight, const float* bias, const float* mean,
                                  const float* invstd, int64_t n, int64_t c, int64_t hw, float slope, float* y,
                                  bool round_tf32 = false);

// Gradients from dy, the input x and the forward's output y; mean/invstd are the batch's (from
// the forward, or precomputed). dx, dweight, dbias may be null when not wanted.
void batchnorm2d_leaky_relu_backward(const float* dy, const float* x, const float* y, const float* weight,
                                     const float* mean, const float* invstd, int64_t n, int64_t c, int64_t hw,
                                     float slope, float* dx, float* dweight, float* dbias, bool round_tf32 = false);

}  // namespace ganops::cuda
