// conv2d on the CPU, fast enough to train on: the GEMM view of the reference (M = out
// channels, K = C*R*S, N = output pixels), but with the pixels of several images side by side
// in one product, so each product is large enough for Eigen's kernel to run near the
// machine's FMA peak, and with the chunks of the batch as the tasks of the thread pool. The
// reference's products were one per image (16 to 256 columns), each split over OpenMP.
//
// A transposed convolution is this file's backward_input (its forward) and forward (its input
// gradient): the product W^T * dy followed by col2im multiplies nothing by the zeros that a
// strided transposed convolution would insert between input pixels; every multiply is useful.
#include "conv2d_batched.h"

#include <Eigen/Core>
#include <algorithm>
#include <cstring>
#include <vector>

#include "../../core/thread_pool.h"

#if defined(GANOPS_CPU_BLAS_OPENBLAS)
#include <cblas.h>
#endif

namespace ganops::cpu {

namespace {

// c [m, n] = op(a) * op(b), all row-major and contiguous: a is [m, k], or [k, m] when
// trans_a; b is [k, n], or [n, k] when trans_b. Eigen's kernel by default, compiled for the
// building machine (GANOPS_NATIVE); with GANOPS_BLAS=openblas, OpenBLAS's, which picks its
// kernel for the running CPU (the portable build's way to AVX2/AVX-512). Either runs on the
// calling thread alone: the pool's tasks are the parallelism.
template <class T>
void matmul(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, const T* b, T* c) {
#if defined(GANOPS_CPU_BLAS_OPENBLAS)
    static const bool one_thread = [] {
        openblas_set_num_threads(1);  // a no-op in Debian's serial build; essential in the others
        return true;
    }();
    (void)one_thread;
    const auto ta = trans_a ? CblasTrans : CblasNoTrans, tb = trans_b ? CblasTrans : CblasNoTrans;
    const auto lda = static_cast<blasint>(trans_a ? m : k), ldb = static_cast<blasint>(trans_b ? k : n);
    const auto M = static_cast<blasint>(m), N = static_cast<blasint>(n), K = static_cast<blasint>(k);
    if constexpr (sizeof(T) == 4)
        cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, 1.0f, a, lda, b, ldb, 0.0f, c, static_cast<blasint>(n));
    else
        cblas_dgemm(CblasRowMajor, ta, tb, M, N, K, 1.0, a, lda, b, ldb, 0.0, c, static_cast<blasint>(n));
#else
    using Map = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
    Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> out(c, m, n);
    if (!trans_a && !trans_b)
        out.noalias() = Map(a, m, k) * Map(b, k, n);
    else if (trans_a && !trans_b)
        out.noalias() = Map(a, k, m).transpose() * Map(b, k, n);
    else if (!trans_a && trans_b)
        out.noalias() = Map(a, m, k) * Map(b, n, k).transpose();
    else
        out.noalias() = Map(a, k, m).transpose() * Map(b, n, k).transpose();
#endif
}

// A buffer per thread and purpose that only grows: the steady state of a training loop
// allocates nothing (large fresh allocations would be fresh pages, a page fault each 4 KiB).
template <class T, int Purpose>
T* scratch(int64_t elements) {
    thread_local std::vector<T> buffer;
    if (static_cast<int64_t>(buffer.size()) < elements) buffer.resize(static_cast<size_t>(elements));
    return buffer.data();
}

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

// Output columns [q_begin, q_end) whose input column q*stride - pad + j*dilation lies inside
// [0, in_w): outside that range im2col holds zeros.
struct ColumnRange {
    int64_t begin, end;
};
ColumnRange inside_columns(const ConvGeometry& g, int64_t j) {
    const Conv2dOptions& o = g.opt;
    const int64_t offset = j * o.dilation_w - o.pad_w;
    int64_t begin = std::max<int64_t>(0, ceil_div(-offset, o.stride_w));
    int64_t end = std::min<int64_t>(g.out_w, ceil_div(g.in_w - offset, o.stride_w));
    begin = std::min(begin, g.out_w);
    end = std::max(end, begin);
    return {begin, end};
}

// cols[(c, i, j), image * P*Q + (p, q)] for `images` images starting at x; as the
// reference's im2col, with the zero borders written as runs instead of tested per element.
template <class T>
void im2col_chunk(const ConvGeometry& g, const T* x, int64_t images, T* cols) {
    const Conv2dOptions& o = g.opt;
    const int64_t pixels = g.out_h * g.out_w, width = images * pixels;
    const int64_t image_size = g.in_channels * g.in_h * g.in_w;
    for (int64_t c = 0; c < g.in_channels; ++c)
        for (int64_t i = 0; i < g.kernel_h; ++i)
            for (int64_t j = 0; j < g.kernel_w; ++j) {
                const ColumnRange r = inside_columns(g, j);
                const int64_t w0 = r.begin * o.stride_w - o.pad_w + j * o.dilation_w;
                T* row = cols + ((c * g.kernel_h + i) * g.kernel_w + j) * width;
                for (int64_t n = 0; n < images; ++n)
                    for (int64_t p = 0; p < g.out_h; ++p) {
                        T* out = row + n * pixels + p * g.out_w;
                        const int64_t h = p * o.stride_h - o.pad_h + i * o.dilation_h;
                        if (h < 0 || h >= g.in_h) {
                            std::fill(out, out + g.out_w, T(0));
                            continue;
                        }
                        const T* in = x + n * image_size + (c * g.in_h + h) * g.in_w + w0;
                        std::fill(out, out + r.begin, T(0));
                        if (o.stride_w == 1)
                            std::memcpy(out + r.begin, in, sizeof(T) * size_t(r.end - r.begin));
                        else
                            for (int64_t q = r.begin; q < r.end; ++q) out[q] = in[(q - r.begin) * o.stride_w];
                        std::fill(out + r.end, out + g.out_w, T(0));
                    }
            }
}

// The adjoint: adds every column entry back to the pixel it came from, in the reference's
// order (so the sums round the same way), into `images` images at x that start zeroed.
template <class T>
void col2im_chunk(const ConvGeometry& g, const T* cols, int64_t images, T* x) {
    const Conv2dOptions& o = g.opt;
    const int64_t pixels = g.out_h * g.out_w, width = images * pixels;
    const int64_t image_size = g.in_channels * g.in_h * g.in_w;
    std::fill(x, x + images * image_size, T(0));
    for (int64_t n = 0; n < images; ++n)
        for (int64_t c = 0; c < g.in_channels; ++c)
            for (int64_t i = 0; i < g.kernel_h; ++i)
                for (int64_t j = 0; j < g.kernel_w; ++j) {
                    const ColumnRange r = inside_columns(g, j);
                    const int64_t w0 = r.begin * o.stride_w - o.pad_w + j * o.dilation_w;
                    const T* row = cols + ((c * g.kernel_h + i) * g.kernel_w + j) * width + n * pixels;
                    for (int64_t p = 0; p < g.out_h; ++p) {
                        const int64_t h = p * o.stride_h - o.pad_h + i * o.dilation_h;
                        if (h < 0 || h >= g.in_h) continue;
                        T* out = x + n * image_size + (c * g.in_h + h) * g.in_w + w0;
                        const T* in = row + p * g.out_w;
                        for (int64_t q = r.begin; q < r.end; ++q) out[(q - r.begin) * o.stride_w] += in[q];
                    }
                }
}

// dyc[k, image * P*Q + pq] = dy[image, k, pq]: a chunk's output gradient as one matrix.
template <class T>
void gather_channels(const ConvGeometry& g, const T* dy, int64_t images, T* dyc) {
    const int64_t pixels = g.out_h * g.out_w, width = images * pixels;
    for (int64_t n = 0; n < images; ++n)
        for (int64_t k = 0; k < g.out_channels; ++k)
            std::memcpy(dyc + k * width + n * pixels, dy + (n * g.out_channels + k) * pixels, sizeof(T) * size_t(pixels));
}

}  // namespace

template <class T>
void conv2d_forward_batched(const ConvGeometry& g, const T* x, const T* w, const T* bias, T* y) {
    const int64_t k = g.in_channels * g.kernel_h * g.kernel_w, pixels = g.out_h * g.out_w;
    const int64_t per_chunk = images_per_chunk(g, sizeof(T)), chunks = ceil_div(g.batch, per_chunk);
    parallel_for(chunks, [&](int64_t chunk) {
        const int64_t n0 = chunk * per_chunk, images = std::min(per_chunk, g.batch - n0);
        const int64_t width = images * pixels;
        T* cols = scratch<T, 0>(k * width);
        T* out = scratch<T, 1>(g.out_channels * width);
        im2col_chunk(g, x + n0 * g.in_channels * g.in_h * g.in_w, images, cols);
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
    const int64_t k = g.in_channels * g.kernel_h * g.kernel_w, pixels = g.out_h * g.out_w;
    const int64_t per_chunk = images_per_chunk(g, sizeof(T)), chunks = ceil_div(g.batch, per_chunk);
    parallel_for(chunks, [&](int64_t chunk) {
        const int64_t n0 = chunk * per_chunk, images = std::min(per_chunk, g.batch - n0);
        const int64_t width = images * pixels;
        T* grad = scratch<T, 0>(g.out_channels * width);
        T* cols = scratch<T, 1>(k * width);
        gather_channels(g, dy + n0 * g.out_channels * pixels, images, grad);
        matmul(true, false, k, width, g.out_channels, w, grad, cols);
        col2im_chunk(g, cols, images, dx + n0 * g.in_channels * g.in_h * g.in_w);
    });
}

template <class T>
void conv2d_backward_weight_batched(const ConvGeometry& g, const T* dy, const T* x, T* dw) {
    const int64_t k = g.in_channels * g.kernel_h * g.kernel_w, pixels = g.out_h * g.out_w;
    const int64_t per_chunk = images_per_chunk(g, sizeof(T)), chunks = ceil_div(g.batch, per_chunk);
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
        im2col_chunk(g, x + n0 * g.in_channels * g.in_h * g.in_w, images, cols);
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
