// conv2d on the CPU, fast enough to train on: the GEMM view of the reference (M = out
// channels, K = C*R*S, N = output pixels), but with the pixels of several images side by side
// in one product, so that each product has enough columns to keep Eigen's vector kernel busy,
// and with the chunks of the batch as the tasks of the thread pool. The reference's products
// were one per image (16 to 256 columns), each split over OpenMP. im2col and col2im move
// contiguous runs (RowLayout below), and a kernel that covers the whole input is a plain
// fully connected product (is_fully_connected).
//
// A transposed convolution is this file's backward_input (its forward) and forward (its input
// gradient): the product W^T * dy followed by col2im multiplies nothing by the zeros that a
// strided transposed convolution would insert between input pixels; every multiply is useful.
#include "conv2d_batched.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "../../core/thread_pool.h"
#include "conv2d_channels_last.h"
#include "row_major_matmul.h"

namespace ganops::cpu {

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

// Images per task: enough output pixels (columns) for an efficient product, at least eight
// tasks when the batch allows (so that up to eight threads share the work, and a thread held
// up by another process leaves the rest to the others), and the columns of a chunk below
// 16 MiB. Depends on the shapes only, never on the thread count.
int64_t images_per_chunk(const ConvGeometry& g, int64_t bytes_per_element) {
    const int64_t pixels = g.out_h * g.out_w;
    const int64_t k = g.in_channels * g.kernel_h * g.kernel_w;
    int64_t b = std::max<int64_t>(1, ceil_div(512, pixels));
    b = std::min(b, std::max<int64_t>(1, ceil_div(g.batch, 8)));
    while (b > 1 && b * pixels * k * bytes_per_element > (int64_t(16) << 20)) b /= 2;
    return b;
}

// The output positions [begin, end) along one axis whose input position
// position * stride - pad + tap * dilation lies inside [0, size).
struct Inside {
    int64_t begin, end;
};
Inside inside(int64_t tap, int64_t stride, int64_t pad, int64_t dilation, int64_t size, int64_t out_size) {
    const int64_t offset = tap * dilation - pad;
    const int64_t begin = std::clamp<int64_t>(ceil_div(-offset, stride), 0, out_size);
    const int64_t end = std::clamp<int64_t>(ceil_div(size - offset, stride), begin, out_size);
    return {begin, end};
}

// The output rows [begin, end) whose input row lies inside the image, per kernel row.
struct Taps {
    std::vector<Inside> rows;
    explicit Taps(const ConvGeometry& g) {
        const Conv2dOptions& o = g.opt;
        for (int64_t i = 0; i < g.kernel_h; ++i)
            rows.push_back(inside(i, o.stride_h, o.pad_h, o.dilation_h, g.in_h, g.out_h));
    }
};

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// im2col and col2im work on a copy of the input rows laid out so that every kernel tap reads
// (or adds to) one contiguous run of Q = out_w values per output row. An input row is split
// into its s = stride_w column phases (phase b holds columns b, b + s, b + 2s, ...), and each
// phase has zero margins wide enough for every tap: output column q of tap j reads input
// column q*s + o_j (o_j = j*dilation - pad), which is element q + floor(o_j / s) of phase
// o_j mod s. So no tap needs a bounds test or a strided gather, and the runs have the same
// length Q for every tap; a strided, bounds-tested gather of the input cost more than the
// matrix product it fed.
struct RowLayout {
    int64_t stride, first, length;  // s; the first phase element stored (<= 0); elements per phase
    std::vector<int64_t> tap_offset;  // where tap j's run starts within a laid-out row
    explicit RowLayout(const ConvGeometry& g) : stride(g.opt.stride_w) {
        const int64_t phase_width = (g.in_w + stride - 1) / stride;
        int64_t lo = 0, hi = phase_width;
        for (int64_t j = 0; j < g.kernel_w; ++j) {
            const int64_t d = floor_div(j * g.opt.dilation_w - g.opt.pad_w, stride);
            lo = std::min(lo, d);
            hi = std::max(hi, d + g.out_w);
        }
        first = lo;
        length = hi - lo;
        for (int64_t j = 0; j < g.kernel_w; ++j) {
            const int64_t o = j * g.opt.dilation_w - g.opt.pad_w, d = floor_div(o, stride);
            tap_offset.push_back((o - d * stride) * length + d - first);
        }
    }
    int64_t row_size() const { return stride * length; }
};

template <class T>
void lay_out_rows(const RowLayout& l, int64_t rows, int64_t in_w, const T* x, T* out) {
    // Phase b's elements e inside the image: 0 <= (first + e) * s + b < in_w.
    std::vector<Inside> inside_phase;
    for (int64_t b = 0; b < l.stride; ++b)
        inside_phase.push_back(inside(b, l.stride, -l.first * l.stride, 1, in_w, l.length));
    for (int64_t r = 0; r < rows; ++r) {
        const T* in = x + r * in_w;
        T* o = out + r * l.row_size();
        for (int64_t b = 0; b < l.stride; ++b) {
            const Inside e = inside_phase[size_t(b)];
            T* phase = o + b * l.length;
            const T* from = in + (l.first + e.begin) * l.stride + b;
            std::fill(phase, phase + e.begin, T(0));
            if (l.stride == 2)
                for (int64_t k = 0; k < e.end - e.begin; ++k) phase[e.begin + k] = from[2 * k];
            else
                for (int64_t k = 0; k < e.end - e.begin; ++k) phase[e.begin + k] = from[k * l.stride];
            std::fill(phase + e.end, phase + l.length, T(0));
        }
    }
}

// The inverse for the columns inside the image (the margins are dropped), phase by phase:
// column e * s + b is phase b's element e - first. (A division and a remainder per pixel
// by the run-time stride cost more than the rest of col2im.)
template <class T>
void gather_rows(const RowLayout& l, int64_t rows, int64_t in_w, const T* laid_out, T* x) {
    const int64_t s = l.stride;
    for (int64_t r = 0; r < rows; ++r) {
        const T* in = laid_out + r * l.row_size() - l.first;
        T* o = x + r * in_w;
        for (int64_t b = 0; b < s && b < in_w; ++b) {
            const T* phase = in + b * l.length;
            const int64_t count = (in_w - b + s - 1) / s;
            if (s == 2)
                for (int64_t e = 0; e < count; ++e) o[2 * e + b] = phase[e];
            else
                for (int64_t e = 0; e < count; ++e) o[e * s + b] = phase[e];
        }
    }
}

// Runs of the common widths with a constant length, which the compiler turns into a few
// vector moves; other widths loop.
template <int N, class T>
inline void copy_fixed(T* __restrict out, const T* __restrict in) {
    for (int q = 0; q < N; ++q) out[q] = in[q];
}
template <int N, class T>
inline void add_fixed(T* __restrict out, const T* __restrict in) {
    for (int q = 0; q < N; ++q) out[q] += in[q];
}
template <class T>
inline void copy_run(T* __restrict out, const T* __restrict in, int64_t n) {
    switch (n) {
        case 4: return copy_fixed<4>(out, in);
        case 8: return copy_fixed<8>(out, in);
        case 16: return copy_fixed<16>(out, in);
        case 32: return copy_fixed<32>(out, in);
        default:
            for (int64_t q = 0; q < n; ++q) out[q] = in[q];
    }
}
template <class T>
inline void add_run(T* __restrict out, const T* __restrict in, int64_t n) {
    switch (n) {
        case 4: return add_fixed<4>(out, in);
        case 8: return add_fixed<8>(out, in);
        case 16: return add_fixed<16>(out, in);
        case 32: return add_fixed<32>(out, in);
        default:
            for (int64_t q = 0; q < n; ++q) out[q] += in[q];
    }
}

// cols[(c, i, j), image * P*Q + (p, q)] for `images` images starting at x, as the
// reference's im2col: one contiguous run of Q per output row, zeros for the output rows
// whose input row lies outside the image.
template <class T>
void im2col_chunk(const ConvGeometry& g, const Taps& taps, const RowLayout& l, const T* x, int64_t images, T* cols) {
    const Conv2dOptions& o = g.opt;
    const int64_t pixels = g.out_h * g.out_w, width = images * pixels;
    const int64_t rows_total = images * g.in_channels * g.in_h, row_size = l.row_size();
    T* laid_out = scratch<T, 3>(rows_total * row_size);
    lay_out_rows(l, rows_total, g.in_w, x, laid_out);
    const int64_t image_size = g.in_channels * g.in_h * row_size;
    for (int64_t c = 0; c < g.in_channels; ++c)
        for (int64_t i = 0; i < g.kernel_h; ++i) {
            const Inside rows = taps.rows[size_t(i)];
            for (int64_t j = 0; j < g.kernel_w; ++j) {
                T* row = cols + ((c * g.kernel_h + i) * g.kernel_w + j) * width;
                const int64_t column = l.tap_offset[size_t(j)];
                for (int64_t n = 0; n < images; ++n) {
                    const T* plane = laid_out + n * image_size + c * g.in_h * row_size;
                    T* out = row + n * pixels;
                    std::fill(out, out + rows.begin * g.out_w, T(0));
                    for (int64_t p = rows.begin; p < rows.end; ++p) {
                        const int64_t h = p * o.stride_h - o.pad_h + i * o.dilation_h;
                        copy_run(out + p * g.out_w, plane + h * row_size + column, g.out_w);
                    }
                    std::fill(out + rows.end * g.out_w, out + pixels, T(0));
                }
            }
        }
}

// The adjoint: adds every column entry back to the pixel it came from, in the reference's
// order (so each pixel's sum rounds the same way), into `images` images at x. The sums
// build up in the laid-out rows (margins included, dropped at the end).
template <class T>
void col2im_chunk(const ConvGeometry& g, const Taps& taps, const RowLayout& l, const T* cols, int64_t images, T* x) {
    const Conv2dOptions& o = g.opt;
    const int64_t pixels = g.out_h * g.out_w, width = images * pixels;
    const int64_t rows_total = images * g.in_channels * g.in_h, row_size = l.row_size();
    T* laid_out = scratch<T, 3>(rows_total * row_size);
    std::memset(laid_out, 0, sizeof(T) * size_t(rows_total * row_size));
    const int64_t image_size = g.in_channels * g.in_h * row_size;
    for (int64_t n = 0; n < images; ++n)
        for (int64_t c = 0; c < g.in_channels; ++c) {
            T* plane = laid_out + n * image_size + c * g.in_h * row_size;
            for (int64_t i = 0; i < g.kernel_h; ++i) {
                const Inside rows = taps.rows[size_t(i)];
                for (int64_t j = 0; j < g.kernel_w; ++j) {
                    const int64_t column = l.tap_offset[size_t(j)];
                    const T* row = cols + ((c * g.kernel_h + i) * g.kernel_w + j) * width + n * pixels;
                    for (int64_t p = rows.begin; p < rows.end; ++p) {
                        const int64_t h = p * o.stride_h - o.pad_h + i * o.dilation_h;
                        add_run(plane + h * row_size + column, row + p * g.out_w, g.out_w);
                    }
                }
            }
        }
    gather_rows(l, rows_total, g.in_w, laid_out, x);
}

// dyc[k, image * P*Q + pq] = dy[image, k, pq]: a chunk's output gradient as one matrix.
template <class T>
void gather_channels(const ConvGeometry& g, const T* dy, int64_t images, T* dyc) {
    const int64_t pixels = g.out_h * g.out_w, width = images * pixels;
    for (int64_t n = 0; n < images; ++n)
        for (int64_t k = 0; k < g.out_channels; ++k)
            std::memcpy(dyc + k * width + n * pixels, dy + (n * g.out_channels + k) * pixels, sizeof(T) * size_t(pixels));
}

// A convolution whose kernel covers the whole (unpadded) input and gives one output pixel
// (DCGAN's last discriminator layer; its transposed form is the generator's first layer) is
// a fully connected layer: im2col would only copy each image, one value per row. Its three
// passes are then plain products over the batch, rows cut into fixed blocks for the pool.
bool is_fully_connected(const ConvGeometry& g) {
    const Conv2dOptions& o = g.opt;
    return g.out_h == 1 && g.out_w == 1 && o.pad_h == 0 && o.pad_w == 0 && o.dilation_h == 1 && o.dilation_w == 1 &&
           g.kernel_h == g.in_h && g.kernel_w == g.in_w;
}

// Up to eight blocks of at least 8 rows, cut from the row count alone.
template <class Block>
void row_blocks(int64_t rows, const Block& block) {
    const int64_t tasks = std::clamp<int64_t>(rows / 8, 1, 8), size = ceil_div(rows, tasks);
    parallel_for(ceil_div(rows, size), [&](int64_t t) {
        const int64_t begin = t * size;
        block(begin, std::min(rows, begin + size));
    });
}

}  // namespace

template <class T>
void conv2d_forward_batched(const ConvGeometry& g, const T* x, const T* w, const T* bias, T* y) {
    if (channels_last_pays(g)) return conv2d_forward_channels_last(g, x, w, bias, y);
    const int64_t k = g.in_channels * g.kernel_h * g.kernel_w, pixels = g.out_h * g.out_w;
    if (is_fully_connected(g)) {
        // y [N, K] = x [N, CRS] * w [K, CRS]^T
        row_blocks(g.batch, [&](int64_t b, int64_t e) {
            matmul(false, true, e - b, g.out_channels, k, x + b * k, w, y + b * g.out_channels);
            if (bias)
                for (int64_t n = b; n < e; ++n)
                    for (int64_t c = 0; c < g.out_channels; ++c) y[n * g.out_channels + c] += bias[c];
        });
        return;
    }
    const int64_t per_chunk = images_per_chunk(g, sizeof(T)), chunks = ceil_div(g.batch, per_chunk);
    const Taps taps(g);
    const RowLayout layout(g);
    parallel_for(chunks, [&](int64_t chunk) {
        const int64_t n0 = chunk * per_chunk, images = std::min(per_chunk, g.batch - n0);
        const int64_t width = images * pixels;
        T* cols = scratch<T, 0>(k * width);
        T* out = scratch<T, 1>(g.out_channels * width);
        im2col_chunk(g, taps, layout, x + n0 * g.in_channels * g.in_h * g.in_w, images, cols);
        matmul(false, false, g.out_channels, width, k, w, cols, out);
        for (int64_t n = 0; n < images; ++n)
            for (int64_t c = 0; c < g.out_channels; ++c) {
                const T* from = out + c * width + n * pixels;
                T* to = y + ((n0 + n) * g.out_channels + c) * pixels;
                if (bias)
                    for (int64_t i = 0; i < pixels; ++i) to[i] = from[i] + bias[c];
                else
                    std::memcpy(to, from, sizeof(T) * size_t(pixels));
            }
    });
}

template <class T>
void conv2d_backward_input_batched(const ConvGeometry& g, const T* dy, const T* w, T* dx) {
    if (channels_last_pays(g)) return conv2d_backward_input_channels_last(g, dy, w, dx);
    const int64_t k = g.in_channels * g.kernel_h * g.kernel_w, pixels = g.out_h * g.out_w;
    if (is_fully_connected(g)) {
        // dx [N, CRS] = dy [N, K] * w [K, CRS]
        row_blocks(g.batch, [&](int64_t b, int64_t e) {
            matmul(false, false, e - b, k, g.out_channels, dy + b * g.out_channels, w, dx + b * k);
        });
        return;
    }
    const int64_t per_chunk = images_per_chunk(g, sizeof(T)), chunks = ceil_div(g.batch, per_chunk);
    const Taps taps(g);
    const RowLayout layout(g);
    parallel_for(chunks, [&](int64_t chunk) {
        const int64_t n0 = chunk * per_chunk, images = std::min(per_chunk, g.batch - n0);
        const int64_t width = images * pixels;
        T* grad = scratch<T, 0>(g.out_channels * width);
        T* cols = scratch<T, 1>(k * width);
        gather_channels(g, dy + n0 * g.out_channels * pixels, images, grad);
        matmul(true, false, k, width, g.out_channels, w, grad, cols);
        col2im_chunk(g, taps, layout, cols, images, dx + n0 * g.in_channels * g.in_h * g.in_w);
    });
}

template <class T>
void conv2d_backward_weight_batched(const ConvGeometry& g, const T* dy, const T* x, T* dw) {
    if (channels_last_pays(g)) return conv2d_backward_weight_channels_last(g, dy, x, dw);
    const int64_t k = g.in_channels * g.kernel_h * g.kernel_w, pixels = g.out_h * g.out_w;
    if (is_fully_connected(g)) {
        // dw [K, CRS] = dy [N, K]^T * x [N, CRS]; one product (the batch is its inner dimension).
        matmul(true, false, g.out_channels, k, g.batch, dy, x, dw);
        return;
    }
    const int64_t per_chunk = images_per_chunk(g, sizeof(T)), chunks = ceil_div(g.batch, per_chunk);
    const Taps taps(g);
    const RowLayout layout(g);
    const int64_t weights = g.out_channels * k;
    // One partial gradient per chunk, added in chunk order below: the same sum whatever
    // thread computed which chunk.
    T* partial = scratch<T, 2>(chunks * weights);
    parallel_for(chunks, [&](int64_t chunk) {
        const int64_t n0 = chunk * per_chunk, images = std::min(per_chunk, g.batch - n0);
        const int64_t width = images * pixels;
        T* grad = scratch<T, 0>(g.out_channels * width);
        T* cols = scratch<T, 1>(k * width);
        gather_channels(g, dy + n0 * g.out_channels * pixels, images, grad);
        im2col_chunk(g, taps, layout, x + n0 * g.in_channels * g.in_h * g.in_w, images, cols);
        matmul(false, true, g.out_channels, k, width, grad, cols, partial + chunk * weights);
    });
    constexpr int64_t block = 4096;
    parallel_for(ceil_div(weights, block), [&](int64_t b) {
        const int64_t begin = b * block, end = std::min(weights, begin + block);
        std::memcpy(dw + begin, partial + begin, sizeof(T) * size_t(end - begin));
        for (int64_t chunk = 1; chunk < chunks; ++chunk) {
            const T* part = partial + chunk * weights;
            for (int64_t i = begin; i < end; ++i) dw[i] += part[i];
        }
    });
}

#define GANOPS_INSTANTIATE(T)                                                                         \
    template void conv2d_forward_batched<T>(const ConvGeometry&, const T*, const T*, const T*, T*); \
    template void conv2d_backward_input_batched<T>(const ConvGeometry&, const T*, const T*, T*);    \
    template void conv2d_backward_weight_batched<T>(const ConvGeometry&, const T*, const T*, T*);
GANOPS_INSTANTIATE(float)
GANOPS_INSTANTIATE(double)
#undef GANOPS_INSTANTIATE

}  // namespace ganops::cpu
