// A fully connected layer on the CPU: three Eigen matrix products, each cut into column
// blocks of its output that the thread pool computes side by side (Eigen itself runs on one
// thread). The blocks depend on the shapes alone, so results do not depend on the thread count.
#include <Eigen/Core>
#include <algorithm>

#include "../../core/thread_pool.h"
#include "reference.h"

namespace ganops::cpu {

template <class T>
using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

namespace {

// Runs block(begin, end) over column ranges of [0, columns): up to eight blocks of at least
// 64 columns, and one block for products under a million multiply-adds (not worth a split).
template <class Block>
void column_blocks(int64_t columns, int64_t multiply_adds, const Block& block) {
    const int64_t tasks = multiply_adds < (int64_t(1) << 20) ? 1 : std::clamp<int64_t>(columns / 64, 1, 8);
    const int64_t width = (columns + tasks - 1) / tasks;
    parallel_ranges(columns, width, block);
}

}  // namespace

template <class T>
void linear_forward(const T* x, const T* w, const T* bias, int64_t rows, int64_t in, int64_t out, T* y) {
    Eigen::Map<Matrix<T>> Y(y, rows, out);
    const Eigen::Map<const Matrix<T>> X(x, rows, in), W(w, out, in);
    column_blocks(out, rows * in * out, [&](int64_t b, int64_t e) {
        Y.middleCols(b, e - b).noalias() = X * W.middleRows(b, e - b).transpose();
        if (bias) Y.middleCols(b, e - b).rowwise() += Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>(bias + b, e - b);
    });
}

template <class T>
void linear_backward_input(const T* dy, const T* w, int64_t rows, int64_t in, int64_t out, T* dx) {
    Eigen::Map<Matrix<T>> DX(dx, rows, in);
    const Eigen::Map<const Matrix<T>> DY(dy, rows, out), W(w, out, in);
    column_blocks(in, rows * in * out,
                  [&](int64_t b, int64_t e) { DX.middleCols(b, e - b).noalias() = DY * W.middleCols(b, e - b); });
}

template <class T>
void linear_backward_weight(const T* dy, const T* x, int64_t rows, int64_t in, int64_t out, T* dw) {
    Eigen::Map<Matrix<T>> DW(dw, out, in);
    const Eigen::Map<const Matrix<T>> DY(dy, rows, out), X(x, rows, in);
    column_blocks(in, rows * in * out,
                  [&](int64_t b, int64_t e) { DW.middleCols(b, e - b).noalias() = DY.transpose() * X.middleCols(b, e - b); });
}

#define GANOPS_INSTANTIATE(T)                                                                     \
    template void linear_forward<T>(const T*, const T*, const T*, int64_t, int64_t, int64_t, T*); \
    template void linear_backward_input<T>(const T*, const T*, int64_t, int64_t, int64_t, T*);    \
    template void linear_backward_weight<T>(const T*, const T*, int64_t, int64_t, int64_t, T*);
GANOPS_INSTANTIATE(float)
GANOPS_INSTANTIATE(double)
#undef GANOPS_INSTANTIATE

}  // namespace ganops::cpu
