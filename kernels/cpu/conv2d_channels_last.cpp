// conv2d through a channels-last copy of each chunk of the batch. The NCHW path
// (conv2d_batched.cpp) builds its im2col columns from runs of out_w pixels: 4 or 8 floats in
// DCGAN's middle layers, so the copies (and col2im's additions) cost as much as the product.
// Here a chunk of images is first transposed to [image, row, column, channel] with zero
// padding around it; then every output pixel's row of the column matrix is kernel_h runs of
// kernel_w * C contiguous floats (kernel_h * kernel_w runs of C with dilation), copied at
// memcpy speed and added back at vector speed. The transposes touch the input and output
// once (a quarter of the column matrix for a 4x4 kernel at stride 2).
//
// The products, with the chunk's output pixels as columns of the output (width = images *
// P*Q) and as rows of the column matrix, the kernel taps in (i, j, c) order (taps = R*S*C)
// and the weights permuted to match (wt [K, R*S*C] = w [K, C, R, S] with c moved last):
//   forward       out  [K, width]    = wt [K, taps] * cols [width, taps]^T
//   grad-input    dcol [width, taps] = dyc [K, width]^T * wt [K, taps]      then col2im
//   grad-weight   dwt  [K, taps]     = dyc [K, width] * cols [width, taps]
// (dyc: the chunk's output gradient with its channels as rows). Eigen's kernel runs these
// at 75-135 GFLOP/s per core here (of a 134 peak), measured alone; the rest of a pass is the
// copies around them.
// Results do not depend on the thread count: the chunks are cut from the shapes alone, each
// writes its own images, and the weight gradient adds the chunks' parts in chunk order.
#include "conv2d_channels_last.h"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "../../core/thread_pool.h"
#include "row_major_matmul.h"

namespace ganops::cpu {

bool channels_last_pays(const ConvGeometry& g) {
    const Conv2dOptions& o = g.opt;
    const bool fully_connected = g.out_h == 1 && g.out_w == 1 && o.pad_h == 0 && o.pad_w == 0 &&
                                 g.kernel_h == g.in_h && g.kernel_w == g.in_w;
    return g.in_channels >= 16 && !fully_connected;
}

namespace {

// Scratch purposes of this file (row_major_matmul.h), apart from conv2d_batched.cpp's.
enum Purpose { kPadded = 10, kCols, kProduct, kGrad, kPartial, kWeights };

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// The padded channels-last image: rows [0, height) and columns [0, width), the input at
// (pad_h, pad_w); large enough for every tap of every output pixel.
struct Padded {
    int64_t height, width, channels;
    int64_t image() const { return height * width * channels; }
    explicit Padded(const ConvGeometry& g)
        : height(std::max(g.in_h + g.opt.pad_h, (g.out_h - 1) * g.opt.stride_h + (g.kernel_h - 1) * g.opt.dilation_h + 1)),
          width(std::max(g.in_w + g.opt.pad_w, (g.out_w - 1) * g.opt.stride_w + (g.kernel_w - 1) * g.opt.dilation_w + 1)),
          channels(g.in_channels) {}
};

// Images per task: at least 256 output pixels (rows of the products) and at least eight
// tasks when the batch allows (a thread held up by another process leaves the rest to the
// others), the column matrix below 16 MiB. From the shapes alone.
int64_t images_per_chunk(const ConvGeometry& g, int64_t bytes_per_element) {
    const int64_t pixels = g.out_h * g.out_w, taps = g.in_channels * g.kernel_h * g.kernel_w;
    int64_t b = std::max<int64_t>(1, ceil_div(256, pixels));
    b = std::min(b, std::max<int64_t>(1, ceil_div(g.batch, 8)));
    while (b > 1 && b * pixels * taps * bytes_per_element > (int64_t(16) << 20)) b /= 2;
    return b;
}

#if defined(__AVX512F__)
// r[i] [j] = r[j] [i] for a 16x16 block of floats in sixteen registers: the
// channels-by-pixels block of a chunk becomes pixels-by-channels in 64 shuffles, where a
// scalar transpose moved one float per load and store (5% of a DCGAN step).
inline void transpose16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 8; ++i) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; ++i) {
        r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 4; ++i) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
        t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
    }
    for (int i = 0; i < 8; ++i) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
    }
}
#endif

// Where pixel h * W + w of an input image starts in the padded channels-last image.
inline std::vector<int64_t> pixel_offsets(const ConvGeometry& g, const Padded& p) {
    std::vector<int64_t> offsets(size_t(g.in_h * g.in_w));
    for (int64_t h = 0; h < g.in_h; ++h)
        for (int64_t w = 0; w < g.in_w; ++w)
            offsets[size_t(h * g.in_w + w)] = ((h + g.opt.pad_h) * p.width + w + g.opt.pad_w) * p.channels;
    return offsets;
}

// True when the AVX-512 block transposes apply: float, and channels and pixels in whole
// blocks of 16 (DCGAN's layers all are).
template <class T>
bool whole_blocks(const ConvGeometry& g) {
#if defined(__AVX512F__)
    return std::is_same_v<T, float> && g.in_channels % 16 == 0 && (g.in_h * g.in_w) % 16 == 0;
#else
    (void)g;
    return false;
#endif
}

// xp [n, h + pad_h, w + pad_w, c] = x [n, c, h, w], zero elsewhere. Blocks of 16 channels
// by 16 columns keep both the reads and the writes within a few cache lines.
template <class T>
void to_channels_last(const ConvGeometry& g, const Padded& p, const T* x, int64_t images, T* xp) {
    const int64_t C = g.in_channels, H = g.in_h, W = g.in_w;
    for (int64_t n = 0; n < images; ++n) {
        // Zero the margins only: the rows above and below the input, and the columns left
        // and right of it in the input's rows.
        T* image = xp + n * p.image();
        const int64_t top = g.opt.pad_h * p.width * C, row_size = p.width * C;
        std::memset(image, 0, sizeof(T) * size_t(top));
        for (int64_t h = 0; h < H; ++h) {
            T* r = image + top + h * row_size;
            std::memset(r, 0, sizeof(T) * size_t(g.opt.pad_w * C));
            std::memset(r + (g.opt.pad_w + W) * C, 0, sizeof(T) * size_t((p.width - g.opt.pad_w - W) * C));
        }
        std::memset(image + top + H * row_size, 0, sizeof(T) * size_t(p.image() - top - H * row_size));
    }
#if defined(__AVX512F__)
    if constexpr (std::is_same_v<T, float>) {
        if (whole_blocks<T>(g)) {
            const std::vector<int64_t> offsets = pixel_offsets(g, p);
            const int64_t HW = H * W;
            for (int64_t n = 0; n < images; ++n)
                for (int64_t c0 = 0; c0 < C; c0 += 16)
                    for (int64_t pix = 0; pix < HW; pix += 16) {
                        const float* in = x + (n * C + c0) * HW + pix;
                        float* image = xp + n * p.image() + c0;
                        __m512 r[16];
                        for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(in + i * HW);
                        transpose16(r);
                        for (int i = 0; i < 16; ++i) _mm512_storeu_ps(image + offsets[size_t(pix + i)], r[i]);
                    }
            return;
        }
    }
#endif
    for (int64_t n = 0; n < images; ++n)
        for (int64_t h = 0; h < H; ++h) {
            T* row = xp + n * p.image() + ((h + g.opt.pad_h) * p.width + g.opt.pad_w) * C;
            const T* in = x + n * C * H * W + h * W;
            for (int64_t c0 = 0; c0 < C; c0 += 16)
                for (int64_t w0 = 0; w0 < W; w0 += 16) {
                    const int64_t c1 = std::min(C, c0 + 16), w1 = std::min(W, w0 + 16);
                    for (int64_t c = c0; c < c1; ++c)
                        for (int64_t w = w0; w < w1; ++w) row[w * C + c] = in[c * H * W + w];
                }
        }
}

// The adjoint's last step: dx [n, c, h, w] = dxp [n, h + pad_h, w + pad_w, c] (the padding
// is dropped).
template <class T>
void from_channels_last(const ConvGeometry& g, const Padded& p, const T* dxp, int64_t images, T* dx) {
    const int64_t C = g.in_channels, H = g.in_h, W = g.in_w;
#if defined(__AVX512F__)
    if constexpr (std::is_same_v<T, float>) {
        if (whole_blocks<T>(g)) {
            const std::vector<int64_t> offsets = pixel_offsets(g, p);
            const int64_t HW = H * W;
            for (int64_t n = 0; n < images; ++n)
                for (int64_t c0 = 0; c0 < C; c0 += 16)
                    for (int64_t pix = 0; pix < HW; pix += 16) {
                        const float* image = dxp + n * p.image() + c0;
                        float* out = dx + (n * C + c0) * HW + pix;
                        __m512 r[16];
                        for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(image + offsets[size_t(pix + i)]);
                        transpose16(r);
                        for (int i = 0; i < 16; ++i) _mm512_storeu_ps(out + i * HW, r[i]);
                    }
            return;
        }
    }
#endif
    for (int64_t n = 0; n < images; ++n)
        for (int64_t h = 0; h < H; ++h) {
            const T* row = dxp + n * p.image() + ((h + g.opt.pad_h) * p.width + g.opt.pad_w) * C;
            T* out = dx + n * C * H * W + h * W;
            for (int64_t c0 = 0; c0 < C; c0 += 16)
                for (int64_t w0 = 0; w0 < W; w0 += 16) {
                    const int64_t c1 = std::min(C, c0 + 16), w1 = std::min(W, w0 + 16);
                    for (int64_t c = c0; c < c1; ++c)
                        for (int64_t w = w0; w < w1; ++w) out[c * H * W + w] = row[w * C + c];
                }
        }
}

// The runs of one output pixel's row of the column matrix: kernel_h runs of kernel_w * C
// floats (one run per tap with dilation), the run of tap (i, j) starting at
// xp[p * stride_h + i * dilation_h, q * stride_w + j * dilation_w, 0].
struct Runs {
    int64_t per_row, length;  // runs per kernel row, floats per run
    explicit Runs(const ConvGeometry& g)
        : per_row(g.opt.dilation_w == 1 ? 1 : g.kernel_w),
          length(g.opt.dilation_w == 1 ? g.kernel_w * g.in_channels : g.in_channels) {}
};

// Calls run(cols_offset, padded_offset) for every run of the chunk, in a fixed order.
template <class Run>
void for_each_run(const ConvGeometry& g, const Padded& p, const Runs& r, int64_t images, const Run& run) {
    const Conv2dOptions& o = g.opt;
    const int64_t C = g.in_channels, taps = g.kernel_h * g.kernel_w * C;
    int64_t row = 0;
    for (int64_t n = 0; n < images; ++n)
        for (int64_t oh = 0; oh < g.out_h; ++oh)
            for (int64_t ow = 0; ow < g.out_w; ++ow, ++row)
                for (int64_t i = 0; i < g.kernel_h; ++i)
                    for (int64_t k = 0; k < r.per_row; ++k) {
                        const int64_t h = oh * o.stride_h + i * o.dilation_h, w = ow * o.stride_w + k * o.dilation_w;
                        run(row * taps + (i * g.kernel_w + k) * C, n * p.image() + (h * p.width + w) * C);
                    }
}

template <class T>
void im2col(const ConvGeometry& g, const Padded& p, const T* xp, int64_t images, T* cols) {
    const Runs r(g);
    for_each_run(g, p, r, images,
                 [&](int64_t c, int64_t x) { std::memcpy(cols + c, xp + x, sizeof(T) * size_t(r.length)); });
}

template <class T>
void col2im(const ConvGeometry& g, const Padded& p, const T* cols, int64_t images, T* xp) {
    std::memset(xp, 0, sizeof(T) * size_t(images * p.image()));
    const Runs r(g);
    for_each_run(g, p, r, images, [&](int64_t c, int64_t x) {
        T* __restrict out = xp + x;
        const T* __restrict in = cols + c;
        for (int64_t e = 0; e < r.length; ++e) out[e] += in[e];
    });
}

// wt [K, (i, j, c)] = w [K, c, i, j], once per call (the weights are small).
template <class T>
const T* permuted_weights(const ConvGeometry& g, const T* w) {
    const int64_t C = g.in_channels, R = g.kernel_h, S = g.kernel_w;
    T* wt = scratch<T, kWeights>(g.out_channels * C * R * S);
    for (int64_t k = 0; k < g.out_channels; ++k)
        for (int64_t c = 0; c < C; ++c)
            for (int64_t i = 0; i < R; ++i)
                for (int64_t j = 0; j < S; ++j) wt[((k * R + i) * S + j) * C + c] = w[((k * C + c) * R + i) * S + j];
    return wt;
}

// dyc [K, (n, pq)] = dy [n, K, pq] for the chunk's images: runs of P*Q floats.
template <class T>
void gather_channels(const ConvGeometry& g, const T* dy, int64_t images, T* dyc) {
    const int64_t K = g.out_channels, PQ = g.out_h * g.out_w, width = images * PQ;
    for (int64_t n = 0; n < images; ++n)
        for (int64_t k = 0; k < K; ++k) std::memcpy(dyc + k * width + n * PQ, dy + (n * K + k) * PQ, sizeof(T) * size_t(PQ));
}

}  // namespace

template <class T>
void conv2d_forward_channels_last(const ConvGeometry& g, const T* x, const T* w, const T* bias, T* y) {
    const Padded p(g);
    const int64_t K = g.out_channels, PQ = g.out_h * g.out_w, taps = g.in_channels * g.kernel_h * g.kernel_w;
    const int64_t per_chunk = images_per_chunk(g, sizeof(T)), chunks = ceil_div(g.batch, per_chunk);
    const T* wt = permuted_weights(g, w);
    parallel_for(chunks, [&](int64_t chunk) {
        const int64_t n0 = chunk * per_chunk, images = std::min(per_chunk, g.batch - n0), width = images * PQ;
        T* xp = scratch<T, kPadded>(images * p.image());
        T* cols = scratch<T, kCols>(width * taps);
        T* out = scratch<T, kProduct>(width * K);
        to_channels_last(g, p, x + n0 * g.in_channels * g.in_h * g.in_w, images, xp);
        im2col(g, p, xp, images, cols);
        matmul(false, true, K, width, taps, wt, cols, out);
        for (int64_t n = 0; n < images; ++n)
            for (int64_t k = 0; k < K; ++k) {
                T* __restrict to = y + ((n0 + n) * K + k) * PQ;
                const T* __restrict from = out + k * width + n * PQ;
                const T b = bias ? bias[k] : T(0);
                for (int64_t pq = 0; pq < PQ; ++pq) to[pq] = from[pq] + b;
            }
    });
}

template <class T>
void conv2d_backward_input_channels_last(const ConvGeometry& g, const T* dy, const T* w, T* dx) {
    const Padded p(g);
    const int64_t K = g.out_channels, PQ = g.out_h * g.out_w, taps = g.in_channels * g.kernel_h * g.kernel_w;
    const int64_t per_chunk = images_per_chunk(g, sizeof(T)), chunks = ceil_div(g.batch, per_chunk);
    const T* wt = permuted_weights(g, w);
    parallel_for(chunks, [&](int64_t chunk) {
        const int64_t n0 = chunk * per_chunk, images = std::min(per_chunk, g.batch - n0), width = images * PQ;
        T* dyc = scratch<T, kGrad>(K * width);
        T* cols = scratch<T, kCols>(width * taps);
        T* dxp = scratch<T, kPadded>(images * p.image());
        gather_channels(g, dy + n0 * K * PQ, images, dyc);
        matmul(true, false, width, taps, K, dyc, wt, cols);
        col2im(g, p, cols, images, dxp);
        from_channels_last(g, p, dxp, images, dx + n0 * g.in_channels * g.in_h * g.in_w);
    });
}

template <class T>
void conv2d_backward_weight_channels_last(const ConvGeometry& g, const T* dy, const T* x, T* dw) {
    const Padded p(g);
    const int64_t K = g.out_channels, PQ = g.out_h * g.out_w, C = g.in_channels, R = g.kernel_h, S = g.kernel_w;
    const int64_t taps = C * R * S, weights = K * taps;
    const int64_t per_chunk = images_per_chunk(g, sizeof(T)), chunks = ceil_div(g.batch, per_chunk);
    T* partial = scratch<T, kPartial>(chunks * weights);
    parallel_for(chunks, [&](int64_t chunk) {
        const int64_t n0 = chunk * per_chunk, images = std::min(per_chunk, g.batch - n0), width = images * PQ;
        T* dyc = scratch<T, kGrad>(K * width);
        T* xp = scratch<T, kPadded>(images * p.image());
        T* cols = scratch<T, kCols>(width * taps);
        gather_channels(g, dy + n0 * K * PQ, images, dyc);
        to_channels_last(g, p, x + n0 * C * g.in_h * g.in_w, images, xp);
        im2col(g, p, xp, images, cols);
        matmul(false, false, K, taps, width, dyc, cols, partial + chunk * weights);
    });
    // dw [k, c, i, j] = sum over chunks, in chunk order, of partial [chunk, k, (i, j, c)]: one
    // task per output channel, the sum built in chunk 0's row (contiguous, vectorised), then
    // permuted back.
    parallel_for(K, [&](int64_t k) {
        T* __restrict sum = partial + k * taps;
        for (int64_t chunk = 1; chunk < chunks; ++chunk) {
            const T* __restrict part = partial + chunk * weights + k * taps;
            for (int64_t t = 0; t < taps; ++t) sum[t] += part[t];
        }
        for (int64_t ij = 0; ij < R * S; ++ij)
            for (int64_t c = 0; c < C; ++c) dw[(k * C + c) * R * S + ij] = sum[ij * C + c];
    });
}

#define GANOPS_INSTANTIATE(T)                                                                               \
    template void conv2d_forward_channels_last<T>(const ConvGeometry&, const T*, const T*, const T*, T*); \
    template void conv2d_backward_input_channels_last<T>(const ConvGeometry&, const T*, const T*, T*);    \
    template void conv2d_backward_weight_channels_last<T>(const ConvGeometry&, const T*, const T*, T*);
GANOPS_INSTANTIATE(float)
GANOPS_INSTANTIATE(double)
#undef GANOPS_INSTANTIATE

}  // namespace ganops::cpu
