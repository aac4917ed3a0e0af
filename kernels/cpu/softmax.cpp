// Softmax and softmax cross entropy on the CPU, with the maximum subtracted first so that
// no logit overflows exp.
#include <algorithm>
#include <cmath>

#include "reference.h"

namespace ganops::cpu {

namespace {
// log sum_j exp(x_j), stably.
template <class T>
double log_sum_exp(const T* x, int64_t n) {
    const double m = *std::max_element(x, x + n);
    double s = 0;
    for (int64_t j = 0; j < n; ++j) s += std::exp(x[j] - m);
    return m + std::log(s);
}
}  // namespace

template <class T>
void softmax_forward(const T* x, int64_t rows, int64_t classes, T* y) {
    for (int64_t i = 0; i < rows; ++i) {
        const double lse = log_sum_exp(x + i * classes, classes);
        for (int64_t j = 0; j < classes; ++j) y[i * classes + j] = static_cast<T>(std::exp(x[i * classes + j] - lse));
    }
}

template <class T>
void softmax_backward(const T* dy, const T* y, int64_t rows, int64_t classes, T* dx) {
    for (int64_t i = 0; i < rows; ++i) {
        double dot = 0;
        for (int64_t j = 0; j < classes; ++j) dot += double(dy[i * classes + j]) * y[i * classes + j];
        for (int64_t j = 0; j < classes; ++j)
            dx[i * classes + j] = static_cast<T>(y[i * classes + j] * (dy[i * classes + j] - dot));
    }
}

template <class T>
T softmax_cross_entropy_forward(const T* logits, const T* labels, int64_t rows, int64_t classes) {
    double s = 0;
    for (int64_t i = 0; i < rows; ++i)
        s += log_sum_exp(logits + i * classes, classes) - logits[i * classes + static_cast<int64_t>(labels[i])];
    return static_cast<T>(s / static_cast<double>(rows));
}

template <class T>
void softmax_cross_entropy_backward(T dloss, const T* logits, const T* labels, int64_t rows, int64_t classes,
                                    T* dlogits) {
    const double scale = static_cast<double>(dloss) / static_cast<double>(rows);
    for (int64_t i = 0; i < rows; ++i) {
        const double lse = log_sum_exp(logits + i * classes, classes);
        const int64_t label = static_cast<int64_t>(labels[i]);
        for (int64_t j = 0; j < classes; ++j) {
            const double p = std::exp(logits[i * classes + j] - lse);
            dlogits[i * classes + j] = static_cast<T>(scale * (p - (j == label ? 1.0 : 0.0)));
        }
    }
}

#define GANOPS_INSTANTIATE(T)                                                                        \
    template void softmax_forward<T>(const T*, int64_t, int64_t, T*);                                \
    template void softmax_backward<T>(const T*, const T*, int64_t, int64_t, T*);                     \
    template T softmax_cross_entropy_forward<T>(const T*, const T*, int64_t, int64_t);               \
    template void softmax_cross_entropy_backward<T>(T, const T*, const T*, int64_t, int64_t, T*);
GANOPS_INSTANTIATE(float)
GANOPS_INSTANTIATE(double)
#undef GANOPS_INSTANTIATE

}  // namespace ganops::cpu
