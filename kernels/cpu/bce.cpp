// Binary cross entropy, mean over all elements, with PyTorch's semantics so that losses
// printed by our DCGAN compare with theirs.
#include <algorithm>
#include <cmath>

#include "reference.h"

namespace ganops::cpu {

template <class T>
T bce_forward(const T* p, const T* target, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) {
        // log(0) = -inf would make 0 * log(0) a NaN; PyTorch clamps each log at -100.
        const double log_p = std::max(std::log(static_cast<double>(p[i])), -100.0);
        const double log_1mp = std::max(std::log1p(-static_cast<double>(p[i])), -100.0);
        s -= target[i] * log_p + (1.0 - target[i]) * log_1mp;
    }
    return static_cast<T>(s / static_cast<double>(n));
}

template <class T>
void bce_backward(T dloss, const T* p, const T* target, T* dp, int64_t n) {
    // PyTorch bounds the denominator by 1e-12 so that p = 0 or 1 gives a large, finite slope.
    const double scale = static_cast<double>(dloss) / static_cast<double>(n);
    for (int64_t i = 0; i < n; ++i) {
        const double pi = p[i];
        dp[i] = static_cast<T>(scale * (pi - target[i]) / std::max((1.0 - pi) * pi, 1e-12));
    }
}

template <class T>
T bce_with_logits_forward(const T* x, const T* target, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) {
        // max(x, 0) - x t + log(1 + exp(-|x|)): never exponentiates a positive number.
        const double xi = x[i];
        s += std::max(xi, 0.0) - xi * target[i] + std::log1p(std::exp(-std::abs(xi)));
    }
    return static_cast<T>(s / static_cast<double>(n));
}

template <class T>
void bce_with_logits_backward(T dloss, const T* x, const T* target, T* dx, int64_t n) {
    const double scale = static_cast<double>(dloss) / static_cast<double>(n);
    for (int64_t i = 0; i < n; ++i) {
        const double xi = x[i];
        const double e = std::exp(-std::abs(xi));
        const double sigmoid = xi >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
        dx[i] = static_cast<T>(scale * (sigmoid - target[i]));
    }
}

#define GANOPS_INSTANTIATE(T)                                                     \
    template T bce_forward<T>(const T*, const T*, int64_t);                       \
    template void bce_backward<T>(T, const T*, const T*, T*, int64_t);            \
    template T bce_with_logits_forward<T>(const T*, const T*, int64_t);           \
    template void bce_with_logits_backward<T>(T, const T*, const T*, T*, int64_t);
GANOPS_INSTANTIATE(float)
GANOPS_INSTANTIATE(double)
#undef GANOPS_INSTANTIATE

}  // namespace ganops::cpu
