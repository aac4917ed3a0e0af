// batchnorm2d on the CPU. Statistics use a two-pass mean then centred sum of squares in
// double (eight partial sums per row), so the reference itself carries no cancellation error. Channels are independent:
// they are the tasks of the thread pool, which changes no result.
#include <cmath>

#include "../../core/thread_pool.h"
#include "reference.h"
#include "channel_total.h"

namespace ganops::cpu {

template <class T>
void batchnorm2d_forward_train(const T* x, const T* weight, const T* bias, int64_t n, int64_t c, int64_t hw,
                               double eps, T* y, T* mean, T* invstd, T* batch_var) {
    parallel_for(c, [&](int64_t ch) {
        const auto [m, var, inv] = channel_statistics(x, n, c, hw, ch, eps);
        mean[ch] = static_cast<T>(m);
        invstd[ch] = static_cast<T>(inv);
        batch_var[ch] = static_cast<T>(var);
        const double scale = weight ? weight[ch] * inv : inv;
        const double shift = (bias ? bias[ch] : 0.0) - m * scale;
        for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < hw; ++j) {
                const int64_t k = (i * c + ch) * hw + j;
                y[k] = static_cast<T>(x[k] * scale + shift);
            }
    });
}

template <class T>
void batchnorm2d_forward_eval(const T* x, const T* weight, const T* bias, const T* running_mean,
                              const T* running_var, int64_t n, int64_t c, int64_t hw, double eps, T* y) {
    parallel_for(c, [&](int64_t ch) {
        const double inv = 1.0 / std::sqrt(static_cast<double>(running_var[ch]) + eps);
        const double scale = weight ? weight[ch] * inv : inv;
        const double shift = (bias ? bias[ch] : 0.0) - running_mean[ch] * scale;
        for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < hw; ++j) {
                const int64_t k = (i * c + ch) * hw + j;
                y[k] = static_cast<T>(x[k] * scale + shift);
            }
    });
}

template <class T>
void batchnorm2d_update_running(T* running_mean, T* running_var, const T* mean, const T* batch_var,
                                int64_t c, int64_t count, double momentum) {
    const double unbias = static_cast<double>(count) / static_cast<double>(count - 1);
    for (int64_t ch = 0; ch < c; ++ch) {
        running_mean[ch] = static_cast<T>((1 - momentum) * running_mean[ch] + momentum * mean[ch]);
        running_var[ch] = static_cast<T>((1 - momentum) * running_var[ch] + momentum * batch_var[ch] * unbias);
    }
}

template <class T>
void batchnorm2d_backward(const T* dy, const T* x, const T* weight, const T* mean, const T* invstd, int64_t n,
                          int64_t c, int64_t hw, bool training, T* dx, T* dweight, T* dbias) {
    const double count = static_cast<double>(n * hw);
    parallel_for(c, [&](int64_t ch) {
        const double m = mean[ch], inv = invstd[ch];
        const double sum_dy = channel_total(n, c, hw, ch, [&](int64_t k) { return double(dy[k]); });
        const double sum_dy_xhat = channel_total(n, c, hw, ch, [&](int64_t k) { return dy[k] * (x[k] - m) * inv; });
        if (dweight) dweight[ch] = static_cast<T>(sum_dy_xhat);
        if (dbias) dbias[ch] = static_cast<T>(sum_dy);
        if (!dx) return;
        const double g = (weight ? weight[ch] : 1.0) * inv;
        for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < hw; ++j) {
                const int64_t k = (i * c + ch) * hw + j;
                if (training) {
                    // The batch statistics depend on x: subtract the mean gradient and the
                    // component along x_hat.
                    const double xhat = (x[k] - m) * inv;
                    dx[k] = static_cast<T>(g * (dy[k] - sum_dy / count - xhat * sum_dy_xhat / count));
                } else {
                    dx[k] = static_cast<T>(g * dy[k]);
                }
            }
    });
}

#define GANOPS_INSTANTIATE(T)                                                                              \
    template void batchnorm2d_forward_train<T>(const T*, const T*, const T*, int64_t, int64_t, int64_t,    \
                                               double, T*, T*, T*, T*);                                    \
    template void batchnorm2d_forward_eval<T>(const T*, const T*, const T*, const T*, const T*, int64_t,   \
                                              int64_t, int64_t, double, T*);                               \
    template void batchnorm2d_update_running<T>(T*, T*, const T*, const T*, int64_t, int64_t, double);     \
    template void batchnorm2d_backward<T>(const T*, const T*, const T*, const T*, const T*, int64_t,       \
                                          int64_t, int64_t, bool, T*, T*, T*);
GANOPS_INSTANTIATE(float)
GANOPS_INSTANTIATE(double)
#undef GANOPS_INSTANTIATE

}  // namespace ganops::cpu
