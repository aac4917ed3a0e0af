// The thin channels-last convolutions (conv2d_nhwc.h) and which path each geometry takes.
// The general NHWC paths (conv_nhwc_problems.h) tile the GEMM for many channels on both
// sides; the DCGAN's first, last and latent layers are thin on one side, and there the
// general loaders waste sectors (issue 11's coalescing target). Three paths take them:
//
//  - Gemv: the window covers the whole input (output 1x1, no padding, no dilation, R = H,
//    S = W) and K_out <= kGemvMaxOutChannels: the DCGAN discriminator's last layer (512 -> 1,
//    4x4 -> 1x1). Then x[n] and w[k] are contiguous vectors of L = H*W*C floats, and
//      forward      y[n][k]  = bias[k] + x[n] . w[k]        (a dot product of L per output)
//      grad-input   dx[n][l] = sum over k of dy[n][k] w[k][l]  (an outer product)
//      grad-weight  dw[k][l] = sum over n of dy[n][k] x[n][l]  (a sum over the batch)
//    Dedicated SIMT reduction kernels (conv_nhwc_thin.cu), NOT tensor-core kernels: a GEMV
//    has one output column, so an mma tile would compute 15 of 16 columns (or more) as
//    padding, and the work is a few MFLOP bound by reading x. They run strict fp32 (fmaf,
//    fixed reduction order: deterministic) in EVERY precision mode: more accurate than TF32
//    or BF16 asks, and what fp32-accurate asks.
//  - PixelProduct: grad-input (every transposed convolution's forward) when that same
//    whole-window geometry has more output channels: the generator's first layer (100 -> 512,
//    1x1 -> 4x4). Every input pixel meets the one output pixel through exactly one tap, so
//    dx[n][(h, w, c)] = sum over k of dy[n][k] w_krsc[k][(h, w, c)]: a dense GEMM whose A
//    operand is the KRSC weight itself, contiguous along m (conv_nhwc_thin_problems.h). It
//    runs on the GEMM loops of its precision (no weight transpose needed).
//  - PaddedChannels: forward and grad-weight on the tensor cores when C is not a multiple of
//    4 (the 3-channel image: the discriminator's first layer's forward and grad-weight, the
//    generator's last layer's grad-input and grad-weight). x is copied per call into a
//    scratch image with C rounded up to 4 (zero channels) and the convolution's zero padding
//    written out (then a stride-2 window starts on an even column: 32-byte aligned with
//    16-byte pixels), and for the forward the weights to C rounded up to 4; the general
//    problems then run on those: the cp.async forward (16-byte chunks, one pixel each), and
//    grad-weight on sector-aligned 64-byte filter rows, its store keeping the real channels
//    (conv_nhwc_thin_problems.h). Strict fp32 (the SIMT loop) keeps the unpadded path.
//    Zero channels add zero products: the sums are the unpadded ones.
//  - Narrow: grad-input (every transposed convolution's forward) when the input has at most
//    4 channels and a tile's dy window fits the kernel's shared memory (conv_nhwc_narrow.h;
//    any K_out: dy and the weights are staged 32 channels at a time): the
//    discriminator's first layer's grad-input and the generator's last layer's forward. As a
//    GEMM its N is C, so the tensor cores' 16-wide tile would compute 13 of 16 columns as
//    padding; a SIMT kernel does only the useful FP32 FMAs. It is exact fp32 in EVERY precision
//    mode, strict fp32 included (same path): more accurate than TF32 or BF16 asks, and what
//    fp32-accurate asks. Any stride and padding; a window too wide (a large dilated filter)
//    takes General.
//  - General: everything else (conv_nhwc_problems.h).
#pragma once
#include "conv_nhwc_narrow.h"  // narrow_fits
#include "conv_problems.h"      // Dims

namespace ganops::cuda::conv::nhwc {

enum class NhwcPass { Forward, BackwardInput, BackwardWeight };
enum class NhwcPath { General, Gemv, PixelProduct, PaddedChannels, Narrow };

constexpr int kGemvMaxOutChannels = 4;  // beyond that a tensor-core GEMM reuses x better

// The output is one pixel that sees the whole input: no padding, no dilation, R = H, S = W.
inline bool whole_window(const Dims& d) {
    return d.p == 1 && d.q == 1 && d.ph == 0 && d.pw == 0 && d.dh == 1 && d.dw == 1 && d.r == d.h && d.s == d.w;
}

// Which path a pass of geometry d takes; tensor_cores: the precision runs on the tensor cores
// (TF32, BF16, fp32-accurate), not the strict-fp32 SIMT loop.
inline NhwcPath nhwc_path(NhwcPass pass, const Dims& d, bool tensor_cores) {
    if (whole_window(d) && d.k <= kGemvMaxOutChannels) return NhwcPath::Gemv;
    if (pass == NhwcPass::BackwardInput && whole_window(d)) return NhwcPath::PixelProduct;
    if (pass == NhwcPass::BackwardInput && narrow_fits(d)) return NhwcPath::Narrow;
    if (tensor_cores && pass != NhwcPass::BackwardInput && d.c % 4 != 0) return NhwcPath::PaddedChannels;
    return NhwcPath::General;
}

}  // namespace ganops::cuda::conv::nhwc

namespace ganops::cuda::thin {

// The Gemv path's three passes (pointers: device memory, layouts as conv2d_nhwc.h).
void gemv_forward(const conv::Dims& d, const float* x, const float* w_krsc, const float* bias, float* y);
void gemv_backward_input(const conv::Dims& d, const float* dy, const float* w_krsc, float* dx);
void gemv_backward_weight(const conv::Dims& d, const float* dy, const float* x, float* dw_krsc);

// PaddedChannels: dst[n][h + 2 pad_h][w + 2 pad_w][c_padded] from src[n][h][w][c], zeros in
// the border and in channels c..c_padded-1.
void pad_channels(const float* src, float* dst, int n, int h, int w, int c, int c_padded, int pad_h, int pad_w);

}  // namespace ganops::cuda::thin
