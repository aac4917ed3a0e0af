// Channels-last grad-input for an input of at most 4 channels (conv_nhwc_thin.h's Narrow path):
// the DCGAN's 3-channel image, where conv2d's grad-input (D1's) and the transposed
// convolution's forward (G5's, 64 -> 3 channels, 4x4 stride 2) are the same computation:
//     dx[n][h][w][c] = sum over (r, s) with h = p sh - ph + r dh, w = q sw - pw + s dw
//                      of sum over k of dy[n][p][q][k] w_krsc[k][r][s][c].
// As an implicit GEMM its N is C: the tensor cores' narrowest tile (16 columns) would compute
// 13 of 16 columns as padding (4.3 GFLOP executed for 0.8 useful at batch 128). This kernel
// is SIMT FP32 FMA (fmaf) and does only the useful products: exact fp32 in every precision
// mode (more accurate than TF32 or BF16 asks; that is fine), in a fixed order (deterministic).
//
// A block computes a tile of one image's dx: tile_h rows x tile_w columns, one pixel per
// thread. It stages, chunk by chunk of `chunk` dy channels, the window of dy pixels that
// the tile's taps reach (window_rows x window_cols pixels) and the chunk's weights in shared
// memory; narrow_plan() sizes the tile and the chunk so that both fit, or says the geometry
// does not (then the general path runs).
#pragma once
#include <algorithm>
#include <cstdint>

#include "conv_problems.h"  // Dims

namespace ganops::cuda::conv::nhwc {

constexpr int kNarrowMaxChannels = 4;
constexpr int kNarrowThreads = 256;
constexpr int kNarrowMaxTileWidth = 64;
// Shared memory per block: the dy window (pixels of chunk + 4 floats: the 4 floats of padding
// put the 8 pixels a quarter-warp reads as float4 in different banks) and the chunk's weights
// (one float4 of C channels, zero-padded, per tap and channel k).
constexpr int kNarrowWindowFloats = 5120;  // 20 KB
constexpr int kNarrowWeightVectors = 1024;  // 16 KB

struct NarrowPlan {
    bool fits = false;
    int tile_w = 0, tile_h = 0;
    int phases = 1, columns_per_phase = 1, slots_per_row = 1;  // a tile row's threads: phase-major
    int window_rows = 0, window_cols = 0;
    int chunk = 0;  // dy channels staged at a time: 32, 16, 8 or 4
};

// The tile, window and chunk for grad-input of d, or fits = false.
inline NarrowPlan narrow_plan(const Dims& d) {
    NarrowPlan p;
    if (d.c < 1 || d.c > kNarrowMaxChannels || d.h < 1 || d.w < 1 || d.sh < 1 || d.sw < 1) return p;
    p.tile_w = std::min(d.w, kNarrowMaxTileWidth);
    // The tile row's columns ordered by stride phase (w = phase + j sw): a warp's lanes then
    // take the same taps, and every weight read is a broadcast.
    p.phases = std::min(d.sw, p.tile_w);
    p.columns_per_phase = (p.tile_w + d.sw - 1) / d.sw;
    p.slots_per_row = p.phases * p.columns_per_phase;
    p.tile_h = std::min(std::max(kNarrowThreads / p.slots_per_row, 1), d.h);
    const int64_t rows = (int64_t(p.tile_h) - 1 + int64_t(d.r - 1) * d.dh) / d.sh + 1;
    const int64_t cols = (int64_t(p.tile_w) - 1 + int64_t(d.s - 1) * d.dw) / d.sw + 1;
    for (int chunk : {32, 16, 8, 4}) {
        if (rows * cols * (chunk + 4) <= kNarrowWindowFloats && int64_t(d.r) * d.s * chunk <= kNarrowWeightVectors) {
            p.chunk = chunk;
            break;
        }
    }
    if (p.chunk == 0) return p;
    p.window_rows = int(rows), p.window_cols = int(cols);
    p.fits = true;
    return p;
}

// Whether grad-input of d takes the narrow kernel.
inline bool narrow_fits(const Dims& d) { return narrow_plan(d).fits; }

}  // namespace ganops::cuda::conv::nhwc

namespace ganops::cuda::narrow {

// dx (NHWC) from dy (NHWC) and the KRSC weights; pointers are device memory. Any stride,
// padding and dilation; fails by name unless conv::nhwc::narrow_fits(d).
void conv2d_backward_input_narrow(const conv::Dims& d, const float* dy, const float* w_krsc, float* dx);

}  // namespace ganops::cuda::narrow
