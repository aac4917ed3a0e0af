// A fully connected layer on the CPU: three Eigen matrix products.
#include <Eigen/Core>

#include "reference.h"

namespace ganops::cpu {

template <class T>
using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <class T>
void linear_forward(const T* x, const T* w, const T* bias, int64_t rows, int64_t in, int64_t out, T* y) {
    Eigen::Map<Matrix<T>> Y(y, rows, out);
    Y.noalias() = Eigen::Map<const Matrix<T>>(x, rows, in) * Eigen::Map<const Matrix<T>>(w, out, in).transpose();
    if (bias) Y.rowwise() += Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>(bias, out);
}

template <class T>
void linear_backward_input(const T* dy, const T* w, int64_t rows, int64_t in, int64_t out, T* dx) {
    Eigen::Map<Matrix<T>>(dx, rows, in).noalias() =
        Eigen::Map<const Matrix<T>>(dy, rows, out) * Eigen::Map<const Matrix<T>>(w, out, in);
}

template <class T>
void linear_backward_weight(const T* dy, const T* x, int64_t rows, int64_t in, int64_t out, T* dw) {
    Eigen::Map<Matrix<T>>(dw, out, in).noalias() =
        Eigen::Map<const Matrix<T>>(dy, rows, out).transpose() * Eigen::Map<const Matrix<T>>(x, rows, in);
}

#define GANOPS_INSTANTIATE(T)                                                                     \
    template void linear_forward<T>(const T*, const T*, const T*, int64_t, int64_t, int64_t, T*); \
    template void linear_backward_input<T>(const T*, const T*, int64_t, int64_t, int64_t, T*);    \
    template void linear_backward_weight<T>(const T*, const T*, int64_t, int64_t, int64_t, T*);
GANOPS_INSTANTIATE(float)
GANOPS_INSTANTIATE(double)
#undef GANOPS_INSTANTIATE

}  // namespace ganops::cpu
