// conv2d on the CPU as im2col + one Eigen matrix product per image: the clearest correct
// form, and the same GEMM view (M = out channels, N = output pixels, K = C*R*S) that the
// CUDA kernels tile.
#include <Eigen/Core>

#include "reference.h"

namespace ganops::cpu {

namespace {

template <class T>
using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// cols[(c, i, j), (p, q)] = x[c, p*stride - pad + i*dilation, q*stride - pad + j*dilation],
// zero outside the image.
template <class T>
void im2col(const ConvGeometry& g, const T* x, T* cols) {
    const Conv2dOptions& o = g.opt;
    const int64_t pixels = g.out_h * g.out_w;
    for (int64_t c = 0; c < g.in_channels; ++c)
        for (int64_t i = 0; i < g.kernel_h; ++i)
            for (int64_t j = 0; j < g.kernel_w; ++j) {
                T* row = cols + ((c * g.kernel_h + i) * g.kernel_w + j) * pixels;
                for (int64_t p = 0; p < g.out_h; ++p) {
                    const int64_t h = p * o.stride_h - o.pad_h + i * o.dilation_h;
                    for (int64_t q = 0; q < g.out_w; ++q) {
                        const int64_t w = q * o.stride_w - o.pad_w + j * o.dilation_w;
                        const bool inside = h >= 0 && h < g.in_h && w >= 0 && w < g.in_w;
                        row[p * g.out_w + q] = inside ? x[(c * g.in_h + h) * g.in_w + w] : T(0);
                    }
                }
            }
}

// The adjoint of im2col: every column entry is added back to the pixel it was read from.
template <class T>
void col2im(const ConvGeometry& g, const T* cols, T* x) {
    const Conv2dOptions& o = g.opt;
    const int64_t pixels = g.out_h * g.out_w;
    std::fill(x, x + g.in_channels * g.in_h * g.in_w, T(0));
    for (int64_t c = 0; c < g.in_channels; ++c)
        for (int64_t i = 0; i < g.kernel_h; ++i)
            for (int64_t j = 0; j < g.kernel_w; ++j) {
                const T* row = cols + ((c * g.kernel_h + i) * g.kernel_w + j) * pixels;
                for (int64_t p = 0; p < g.out_h; ++p) {
                    const int64_t h = p * o.stride_h - o.pad_h + i * o.dilation_h;
                    if (h < 0 || h >= g.in_h) continue;
                    for (int64_t q = 0; q < g.out_w; ++q) {
                        const int64_t w = q * o.stride_w - o.pad_w + j * o.dilation_w;
                        if (w >= 0 && w < g.in_w) x[(c * g.in_h + h) * g.in_w + w] += row[p * g.out_w + q];
                    }
                }
            }
}

}  // namespace

template <class T>
void conv2d_forward(const ConvGeometry& g, const T* x, const T* w, const T* bias, T* y) {
    const int64_t k = g.in_channels * g.kernel_h * g.kernel_w;
    const int64_t pixels = g.out_h * g.out_w;
    Matrix<T> cols(k, pixels);
    const Eigen::Map<const Matrix<T>> weight(w, g.out_channels, k);
    for (int64_t n = 0; n < g.batch; ++n) {
        im2col(g, x + n * g.in_channels * g.in_h * g.in_w, cols.data());
        Eigen::Map<Matrix<T>> out(y + n * g.out_channels * pixels, g.out_channels, pixels);
        out.noalias() = weight * cols;
        if (bias) out.colwise() += Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>>(bias, g.out_channels);
    }
}

template <class T>
void conv2d_backward_input(const ConvGeometry& g, const T* dy, const T* w, T* dx) {
    const int64_t k = g.in_channels * g.kernel_h * g.kernel_w;
    const int64_t pixels = g.out_h * g.out_w;
    Matrix<T> cols(k, pixels);
    const Eigen::Map<const Matrix<T>> weight(w, g.out_channels, k);
    for (int64_t n = 0; n < g.batch; ++n) {
        const Eigen::Map<const Matrix<T>> grad(dy + n * g.out_channels * pixels, g.out_channels, pixels);
        cols.noalias() = weight.transpose() * grad;
        col2im(g, cols.data(), dx + n * g.in_channels * g.in_h * g.in_w);
    }
}

template <class T>
void conv2d_backward_weight(const ConvGeometry& g, const T* dy, const T* x, T* dw) {
    const int64_t k = g.in_channels * g.kernel_h * g.kernel_w;
    const int64_t pixels = g.out_h * g.out_w;
    Matrix<T> cols(k, pixels);
    Eigen::Map<Matrix<T>> weight_grad(dw, g.out_channels, k);
    weight_grad.setZero();
    for (int64_t n = 0; n < g.batch; ++n) {
        im2col(g, x + n * g.in_channels * g.in_h * g.in_w, cols.data());
        const Eigen::Map<const Matrix<T>> grad(dy + n * g.out_channels * pixels, g.out_channels, pixels);
        weight_grad.noalias() += grad * cols.transpose();
    }
}

#define GANOPS_INSTANTIATE(T)                                                                   \
    template void conv2d_forward<T>(const ConvGeometry&, const T*, const T*, const T*, T*);     \
    template void conv2d_backward_input<T>(const ConvGeometry&, const T*, const T*, T*);        \
    template void conv2d_backward_weight<T>(const ConvGeometry&, const T*, const T*, T*);
GANOPS_INSTANTIATE(float)
GANOPS_INSTANTIATE(double)
#undef GANOPS_INSTANTIATE

}  // namespace ganops::cpu
