// The thin channels-last convolutions of conv_nhwc_thin.h: the whole-window GEMV kernels
// (strict fp32 in every precision mode, deterministic) and the channel padding that puts a
// 3-channel image on the tensor cores' 16-byte chunks. Every global access below is a warp
// reading or writing consecutive floats, or all lanes one float (a broadcast): whole sectors.
// Indices are 32-bit (conv2d_nhwc.cu refuses tensors of 2^30 elements or more).
#include <algorithm>

#include "conv_nhwc_thin.h"
#include "fast_divmod.h"
#include "launch.cuh"

namespace ganops::cuda::thin {

namespace {

constexpr int kWarps = kThreads / 32;

// y[nb][k] = bias[k] + x[nb] . w[k], one block per output: the block's threads stride along
// the L contiguous floats of both vectors (a warp reads 128 contiguous bytes of each), each
// with an fmaf chain; block_sum adds the 256 partial sums in a fixed tree (in double, then
// rounded once).
__global__ void gemv_forward_kernel(const float* x, const float* w, const float* bias, float* y, int outputs, int k_out,
                                    int length) {
    for (int o = int(blockIdx.x); o < outputs; o += int(gridDim.x)) {
        const int nb = o / k_out, k = o - nb * k_out;
        const float* xv = x + nb * length;
        const float* wv = w + k * length;
        float acc = 0.0f;
        for (int l = int(threadIdx.x); l < length; l += kThreads) acc = fmaf(xv[l], wv[l], acc);
        const double sum = block_sum(double(acc));
        if (threadIdx.x == 0) {
            const float v = float(sum);
            y[o] = bias ? __fadd_rn(v, bias[k]) : v;
        }
    }
}

// dx[nb][l] = sum over k of dy[nb][k] w[k][l], one thread per element of dx: consecutive
// threads take consecutive l (w and dx coalesced), dy[nb][k] is one float for the warp.
__global__ void gemv_backward_input_kernel(const float* dy, const float* w, float* dx, int total, int k_out, int length) {
    for (int i = int(blockIdx.x * blockDim.x + threadIdx.x); i < total; i += int(gridDim.x * blockDim.x)) {
        const int nb = i / length, l = i - nb * length;
        float acc = 0.0f;
        for (int k = 0; k < k_out; ++k) acc = fmaf(dy[nb * k_out + k], w[k * length + l], acc);
        dx[i] = acc;
    }
}

// dw[j] (j = k * L + l) = sum over nb of dy[nb][k] x[nb][l]. A block takes 32 consecutive j,
// one per lane; its 8 warps sum the batch in an interleaved order (warp v: nb = v, v + 8, ...),
// each load a warp reading 32 consecutive floats of x; the 8 partial sums then meet in shared
// memory and are added in warp order: a fixed order, deterministic.
__global__ void gemv_backward_weight_kernel(const float* dy, const float* x, float* dw, int batch, int k_out, int length) {
    __shared__ float partial[kWarps][32];
    const int lane = int(threadIdx.x) % 32, warp = int(threadIdx.x) / 32;
    const int total = k_out * length, groups = (total + 31) / 32;
    for (int g = int(blockIdx.x); g < groups; g += int(gridDim.x)) {
        const int j = g * 32 + lane;
        float acc = 0.0f;
        if (j < total) {
            const int k = j / length, l = j - k * length;
            for (int nb = warp; nb < batch; nb += kWarps) acc = fmaf(dy[nb * k_out + k], x[nb * length + l], acc);
        }
        __syncthreads();  // the previous group's partials are read
        partial[warp][lane] = acc;
        __syncthreads();
        if (warp == 0 && j < total) {
            float sum = partial[0][lane];
            for (int v = 1; v < kWarps; ++v) sum = __fadd_rn(sum, partial[v][lane]);
            dw[j] = sum;
        }
    }
}

// The padded image's sizes, with the divisors the kernel splits indices by (FastDivmod: a
// multiply-high each, not a ~20-instruction division).
struct PadShape {
    int h, w, c, pad_h, pad_w, hp, wp, interior, band, total;
    FastDivmod cp_div, w_div, h_div, border_div, wp_div, side_div;
};

// The padded image dst[nb][h + 2 pad_h][w + 2 pad_w][c_padded] from src[nb][h][w][c]. The
// threads follow the SOURCE: thread i < interior takes channel ch = i % c_padded of source
// pixel i / c_padded, so that a warp reads the c * 8 consecutive floats of 8 source pixels
// (96 bytes for c = 3, starting on a sector); a thread per destination float would shift that
// window off the sectors wherever a border column precedes it. Channels past c are written
// as zeros. A second loop writes the zero border: per image, pad_h rows of w_p pixels above
// and below, and pad_w pixels left and right of each of the h rows.
__global__ void pad_channels_kernel(const float* src, float* dst, PadShape s) {
    const int cp = s.cp_div.divisor, stride = int(gridDim.x * blockDim.x);
    const int first = int(blockIdx.x * blockDim.x + threadIdx.x);
    for (int i = first; i < s.interior; i += stride) {
        int pixel, ch, image_row, col, nb, row;
        s.cp_div.divmod(i, pixel, ch);
        s.w_div.divmod(pixel, image_row, col);
        s.h_div.divmod(image_row, nb, row);
        const float v = ch < s.c ? src[pixel * s.c + ch] : 0.0f;
        dst[((nb * s.hp + row + s.pad_h) * s.wp + col + s.pad_w) * cp + ch] = v;
    }
    // The border: no loads, a few pixels per image row.
    for (int i = first; i < s.total - s.interior; i += stride) {
        int pixel, ch, nb, b, row, col;
        s.cp_div.divmod(i, pixel, ch);
        s.border_div.divmod(pixel, nb, b);
        if (b < 2 * s.band) {  // the top band, then the bottom one
            const bool top = b < s.band;
            s.wp_div.divmod(top ? b : b - s.band, row, col);
            if (!top) row += s.h + s.pad_h;
        } else {  // the left and right columns of each image row
            int k;
            s.side_div.divmod(b - 2 * s.band, row, k);
            row += s.pad_h;
            col = k < s.pad_w ? k : s.w + k;
        }
        dst[((nb * s.hp + row) * s.wp + col) * cp + ch] = 0.0f;
    }
}

constexpr int kMaxBlocks = 1 << 16;  // grid-stride loops cover the rest

}  // namespace

void gemv_forward(const conv::Dims& d, const float* x, const float* w_krsc, const float* bias, float* y) {
    const int outputs = d.n * d.k, length = d.h * d.w * d.c;
    if (outputs == 0) return;
    GANOPS_LAUNCH(gemv_forward_kernel, std::min(outputs, kMaxBlocks), kThreads, 0, current_stream())(x, w_krsc, bias, y, outputs,
                                                                                                    d.k, length);
}

void gemv_backward_input(const conv::Dims& d, const float* dy, const float* w_krsc, float* dx) {
    const int length = d.h * d.w * d.c, total = d.n * length;
    if (total == 0) return;
    GANOPS_LAUNCH(gemv_backward_input_kernel, grid_for(total), kThreads, 0, current_stream())(dy, w_krsc, dx, total, d.k, length);
}

void gemv_backward_weight(const conv::Dims& d, const float* dy, const float* x, float* dw_krsc) {
    const int length = d.h * d.w * d.c, groups = (d.k * length + 31) / 32;
    if (groups == 0) return;
    GANOPS_LAUNCH(gemv_backward_weight_kernel, std::min(groups, kMaxBlocks), kThreads, 0, current_stream())(dy, x, dw_krsc, d.n,
                                                                                                          d.k, length);
}

void pad_channels(const float* src, float* dst, int n, int h, int w, int c, int c_padded, int pad_h, int pad_w) {
    PadShape s{};
    s.h = h, s.w = w, s.c = c, s.pad_h = pad_h, s.pad_w = pad_w, s.hp = h + 2 * pad_h, s.wp = w + 2 * pad_w;
    s.interior = n * h * w * c_padded;
    s.band = pad_h * s.wp;
    const int border_pixels = 2 * s.band + h * 2 * pad_w;  // per image
    s.total = s.interior + n * border_pixels * c_padded;
    if (s.total == 0) return;
    s.cp_div = FastDivmod(c_padded), s.w_div = FastDivmod(std::max(w, 1)), s.h_div = FastDivmod(std::max(h, 1));
    s.border_div = FastDivmod(std::max(border_pixels, 1)), s.wp_div = FastDivmod(std::max(s.wp, 1));
    s.side_div = FastDivmod(std::max(2 * pad_w, 1));
    GANOPS_LAUNCH(pad_channels_kernel, grid_for(s.total), kThreads, 0, current_stream())(src, dst, s);
}

}  // namespace ganops::cuda::thin
