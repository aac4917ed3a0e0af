// Channels-last grad-input for at most 4 input channels (conv_nhwc_narrow.h): what it
// computes, and why SIMT FP32 rather than the tensor cores, are said there.
//
// Why this shape. At DCGAN's G5 / D1 (dy 128x32x32x64, 4x4 stride 2 pad 1, dx 128x64x64x3)
// the useful work is 0.8 GFLOP (~12 us of H100 FP32 FMA) and the compulsory traffic dy
// (33.5 MB) + dx (6.3 MB), ~13 us of DRAM. A block computes a 4 x 64 tile of dx, one pixel
// (its C channels, in registers) per thread. Each dy pixel meets 16 dx pixels, and the
// threads of a warp read different dy pixels K_out floats apart: straight from global memory
// every LDG.128 of a warp would touch 32 lines (16 of 32 bytes per sector). So the block first
// copies the dy window its taps reach (for G5: 4 rows x 34 pixels) into shared memory with
// coalesced 16-byte loads, 32 channels at a time, together with those channels' weights (one
// float4 of the C channels per tap and channel, zero-padded). Then per tap and 4 channels a
// thread makes 1 LDS.128 of dy, 4 LDS.128 of weights and 4 C FFMA. A tile row's threads are
// ordered by stride phase (w = phase + j sw, j = lane): a warp's lanes take the same taps in
// the same order, so each weight read is one broadcast and the warp does not diverge inside
// the image; their dy pixels are consecutive window pixels, chunk + 4 floats apart, which
// puts a quarter-warp's 8 float4 in 8 different bank groups. Sums run in a fixed order
// (chunks, then taps r, s, then k; fmaf): deterministic, exact fp32.
//
// Indices are 32-bit (conv2d_nhwc.cu's check_size refuses tensors of 2^30 elements or more).
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "conv_nhwc_narrow.h"
#include "fast_divmod.h"
#include "launch.cuh"
#include "../../core/error.h"

// A tap's loop over the chunk's channels unrolled 4 times under nvcc (16 k per iteration: the
// loop's own instructions spread over 16 C FFMA); GCC's spelling in the emulated build (which
// warns about a pragma it does not know).
// The staging loops are kept rolled: unrolled, they cost registers (a spill at 64) for
// little (a few steps per thread and chunk).
#if defined(__CUDACC__)
#define GANOPS_NARROW_UNROLL _Pragma("unroll 4")
#define GANOPS_NARROW_ROLLED _Pragma("unroll 1")
#else
#define GANOPS_NARROW_UNROLL _Pragma("GCC unroll 4")
#define GANOPS_NARROW_ROLLED _Pragma("GCC unroll 1")
#endif

namespace ganops::cuda::narrow {

namespace {

using conv::nhwc::kNarrowThreads;
// The plan (conv_nhwc_narrow.h, host code without launch.cuh) sizes tiles for the block the
// launches pass: launch.cuh's kThreads (tools/sass_report reads the launch lines).
static_assert(kNarrowThreads == kThreads);
using conv::nhwc::kNarrowWeightVectors;
using conv::nhwc::kNarrowWindowFloats;

// The launch's sizes (conv::nhwc::NarrowPlan's, and the geometry's).
struct NarrowShape {
    int k, r, s, h, w, p, q;
    int ph, pw, dh, dw;
    int tile_w, tile_h, window_rows, window_cols, chunk;
    int tiles_h, tiles_w;
    bool dy_vectors;  // dy's pixels start on 16 bytes (K_out % 4 == 0, dy aligned): float4 loads
    FastDivmod slots_div, columns_div, sh_div, sw_div, rs_div, window_cols_div;
};

// 16 bytes in one access (LDG.128, LDS.128, STS.128 on the GPU). In the emulated build a
// float4 copy becomes four 4-byte accesses (the profiling build turns GCC's vectoriser and
// store merging off), which the profiling mode would count as four instructions with a
// 16-byte stride; a 16-byte integer is one access there too.
#if defined(GANOPS_EMULATED)
typedef unsigned __int128 __attribute__((may_alias)) NarrowBits128;
#endif
__device__ __forceinline__ float4 load16(const float4* p) {
#if defined(GANOPS_EMULATED)
    const NarrowBits128 bits = *reinterpret_cast<const NarrowBits128*>(p);
    float4 v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
#else
    return *p;
#endif
}
__device__ __forceinline__ void store16(float4* p, const float4& v) {
#if defined(GANOPS_EMULATED)
    NarrowBits128 bits;
    std::memcpy(&bits, &v, sizeof bits);
    *reinterpret_cast<NarrowBits128*>(p) = bits;
#else
    *p = v;
#endif
}

// acc[c] += v * w.c for the C real channels (the weights' channels C..3 are zeros, unused).
template <int C>
__device__ __forceinline__ void fma_channels(float (&acc)[C], float v, const float4& w) {
    acc[0] = fmaf(v, w.x, acc[0]);
    if constexpr (C > 1) acc[1] = fmaf(v, w.y, acc[1]);
    if constexpr (C > 2) acc[2] = fmaf(v, w.z, acc[2]);
    if constexpr (C > 3) acc[3] = fmaf(v, w.w, acc[3]);
}

// No minimum of blocks per SM in the bound: asked for 3 or 4, ptxas spilled C = 3's registers
// (sm_90); left alone it takes 50 (4 blocks, 32 warps per SM) and C = 1, 2, 4 about 40 (6).
template <int C>
__global__ void __launch_bounds__(kNarrowThreads) narrow_conv_backward_input_kernel(NarrowShape s, const float* __restrict__ dy, const float* __restrict__ w_krsc,
                                                  float* __restrict__ dx) {
    // window[(row * window_cols + col) * (chunk + 4) + kk] = dy[n][p0 + row][q0 + col][k0 + kk]
    // (zero outside dy); weights[rs * chunk + kk] = w_krsc[k0 + kk][r][s][0..C-1], zero-padded.
    __shared__ float4 window4[kNarrowWindowFloats / 4];
    __shared__ float4 weights[kNarrowWeightVectors];
    const float* window = reinterpret_cast<const float*>(window4);

    // The block's tile: image nb, dx rows h0.., columns w0..
    const int tile = int(blockIdx.x), tiles_per_image = s.tiles_h * s.tiles_w;
    const int nb = tile / tiles_per_image, tile_in_image = tile - nb * tiles_per_image;
    const int h0 = (tile_in_image / s.tiles_w) * s.tile_h, w0 = (tile_in_image % s.tiles_w) * s.tile_w;
    // The window's first dy row and column: the first any tap of the tile reaches (or 0).
    const int sh = s.sh_div.divisor, sw = s.sw_div.divisor;
    const int first_row = h0 + s.ph - (s.r - 1) * s.dh, first_col = w0 + s.pw - (s.s - 1) * s.dw;
    const int p0 = first_row > 0 ? (first_row + sh - 1) / sh : 0, q0 = first_col > 0 ? (first_col + sw - 1) / sw : 0;

    // This thread's pixel: tile row `row`, slot (phase, j) -> column phase + j sw.
    int row, slot, phase, j;
    s.slots_div.divmod(int(threadIdx.x), row, slot);
    s.columns_div.divmod(slot, phase, j);
    const int h = h0 + row, w = w0 + phase + j * sw;
    const bool active = row < s.tile_h && phase + j * sw < s.tile_w && h < s.h && w < s.w;

    float acc[C];
    for (int c = 0; c < C; ++c) acc[c] = 0.0f;
    const int stride = s.chunk + 4, chunk_vectors = s.chunk / 4, rs_count = s.r * s.s;
    const int window_pixels = s.window_rows * s.window_cols;
    const int vector = int(threadIdx.x) % chunk_vectors, first_pixel = int(threadIdx.x) / chunk_vectors;
    const int pixel_step = kNarrowThreads / chunk_vectors;
    for (int k0 = 0; k0 < s.k; k0 += s.chunk) {
        if (k0 > 0) __syncthreads();  // the previous chunk is read
        // dy's window, 16 bytes per thread and step: the chunk's vectors of one pixel go to
        // consecutive threads (whole sectors), then the next pixel's. chunk / 4 divides the
        // block, so each thread keeps its vector and steps over pixels.
        GANOPS_NARROW_ROLLED
        for (int pixel = first_pixel; pixel < window_pixels; pixel += pixel_step) {
            int window_row, window_col;
            s.window_cols_div.divmod(pixel, window_row, window_col);
            const int p = p0 + window_row, q = q0 + window_col;
            float4 value = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            if (p < s.p && q < s.q) {
                const float* src = dy + ((nb * s.p + p) * s.q + q) * s.k + k0 + 4 * vector;
                if (s.dy_vectors && k0 + 4 * vector + 4 <= s.k) {
                    value = load16(reinterpret_cast<const float4*>(src));
                } else {  // K_out not a multiple of 4 (or dy not 16-byte aligned), or past K_out
                    const int left = s.k - k0 - 4 * vector;
                    value.x = left > 0 ? src[0] : 0.0f;
                    value.y = left > 1 ? src[1] : 0.0f;
                    value.z = left > 2 ? src[2] : 0.0f;
                    value.w = left > 3 ? src[3] : 0.0f;
                }
            }
            store16(window4 + pixel * (stride / 4) + vector, value);
        }
        // The chunk's weights: consecutive threads take consecutive taps of one channel k.
        GANOPS_NARROW_ROLLED
        for (int i = int(threadIdx.x); i < rs_count * s.chunk; i += kNarrowThreads) {
            int kk, rs;
            s.rs_div.divmod(i, kk, rs);
            float4 value = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            if (k0 + kk < s.k) {
                const float* src = w_krsc + ((k0 + kk) * rs_count + rs) * C;
                value.x = src[0];
                if constexpr (C > 1) value.y = src[1];
                if constexpr (C > 2) value.z = src[2];
                if constexpr (C > 3) value.w = src[3];
            }
            store16(weights + rs * s.chunk + kk, value);
        }
        __syncthreads();
        if (!active) continue;
        // Tap r reaches dy row p = (h + ph - r dh) / sh where that divides and lies in [0, P).
        for (int r = 0; r < s.r; ++r) {
            const int hr = h + s.ph - r * s.dh;
            if (hr < 0) break;  // only smaller for larger r
            int p, h_rem;
            s.sh_div.divmod(hr, p, h_rem);
            if (h_rem != 0 || p >= s.p) continue;
            for (int t = 0; t < s.s; ++t) {
                const int wr = w + s.pw - t * s.dw;
                if (wr < 0) break;
                int q, w_rem;
                s.sw_div.divmod(wr, q, w_rem);
                if (w_rem != 0 || q >= s.q) continue;
                const float4* dy4 = reinterpret_cast<const float4*>(window + ((p - p0) * s.window_cols + (q - q0)) * stride);
                const float4* w_k = weights + (r * s.s + t) * s.chunk;
                GANOPS_NARROW_UNROLL
                for (int i = 0; i < chunk_vectors; ++i) {
                    const float4 d4 = load16(dy4 + i);
                    const float4* w4 = w_k + 4 * i;
                    fma_channels<C>(acc, d4.x, load16(w4));
                    fma_channels<C>(acc, d4.y, load16(w4 + 1));
                    fma_channels<C>(acc, d4.z, load16(w4 + 2));
                    fma_channels<C>(acc, d4.w, load16(w4 + 3));
                }
            }
        }
    }
    if (!active) return;
    float* out = dx + ((nb * s.h + h) * s.w + w) * C;
    for (int c = 0; c < C; ++c) out[c] = acc[c];
}

}  // namespace

void conv2d_backward_input_narrow(const conv::Dims& d, const float* dy, const float* w_krsc, float* dx) {
    const conv::nhwc::NarrowPlan plan = conv::nhwc::narrow_plan(d);
    if (!plan.fits)
        fail("conv2d NHWC narrow grad-input (CUDA): ", d.c, " input channels with ", d.k, "x", d.r, "x", d.s,
             " (K_out x R x S) filter taps, stride ", d.sh, "x", d.sw, ", dilation ", d.dh, "x", d.dw,
             "; the narrow kernel takes 1 to ", conv::nhwc::kNarrowMaxChannels,
             " channels and a dy window and weights that fit its shared memory (conv_nhwc_narrow.h)");
    NarrowShape s{};
    s.k = d.k, s.r = d.r, s.s = d.s, s.h = d.h, s.w = d.w, s.p = d.p, s.q = d.q;
    s.ph = d.ph, s.pw = d.pw, s.dh = d.dh, s.dw = d.dw;
    s.tile_w = plan.tile_w, s.tile_h = plan.tile_h, s.window_rows = plan.window_rows, s.window_cols = plan.window_cols;
    s.chunk = plan.chunk;
    s.dy_vectors = d.k % 4 == 0 && reinterpret_cast<uintptr_t>(dy) % 16 == 0;
    s.tiles_h = (d.h + plan.tile_h - 1) / plan.tile_h, s.tiles_w = (d.w + plan.tile_w - 1) / plan.tile_w;
    const int64_t tiles = int64_t(d.n) * s.tiles_h * s.tiles_w;  // <= N H W < 2^30 (check_size)
    if (tiles == 0) return;
    s.slots_div = FastDivmod(plan.slots_per_row), s.columns_div = FastDivmod(plan.columns_per_phase);
    s.sh_div = FastDivmod(d.sh), s.sw_div = FastDivmod(d.sw), s.rs_div = FastDivmod(d.r * d.s);
    s.window_cols_div = FastDivmod(plan.window_cols);
    const int grid = int(tiles);
    switch (d.c) {
        case 1: GANOPS_LAUNCH(narrow_conv_backward_input_kernel<1>, grid, kThreads, 0, current_stream())(s, dy, w_krsc, dx); break;
        case 2: GANOPS_LAUNCH(narrow_conv_backward_input_kernel<2>, grid, kThreads, 0, current_stream())(s, dy, w_krsc, dx); break;
        case 3: GANOPS_LAUNCH(narrow_conv_backward_input_kernel<3>, grid, kThreads, 0, current_stream())(s, dy, w_krsc, dx); break;
        default: GANOPS_LAUNCH(narrow_conv_backward_input_kernel<4>, grid, kThreads, 0, current_stream())(s, dy, w_krsc, dx); break;
    }
}

}  // namespace ganops::cuda::narrow
