// batchnorm2d (training, batch statistics) followed by leaky_relu with slope >= 0 (relu is
// slope 0), as one pass over the data each way on the CPU. Unfused, the activation reads the
// normalised tensor and writes another one, and its backward reads that and writes the
// gradient the batchnorm backward then reads: a full tensor written and read twice more.
// Fused, the forward writes the activation's output directly, and the backward recomputes
// the activation's derivative from that output (y > 0 exactly where the normalised value
// is, when the slope is not negative). The statistics are those of kernels/cpu/batchnorm2d.cpp
// (mean, then centred sum of squares, in double); channels are the pool's tasks.
#include <cmath>

#include "../../core/thread_pool.h"
#include "batchnorm2d_activation.h"

namespace ganops::cpu {

namespace {

// The sum over one channel of term(k) (and of term2(k)), k the element's index, in double with
// eight partial sums per row added in a fixed order (vectorised, independent of threads).
template <class Term, class Term2>
void channel_totals(int64_t n, int64_t c, int64_t hw, int64_t ch, const Term& term, const Term2& term2, double& total,
                    double& total2) {
    constexpr int lanes = 8;
    total = total2 = 0;
    for (int64_t i = 0; i < n; ++i) {
        const int64_t base = (i * c + ch) * hw;
        double a[lanes] = {}, b[lanes] = {};
        int64_t j = 0;
        for (; j + lanes <= hw; j += lanes)
            for (int l = 0; l < lanes; ++l) {
                a[l] += term(base + j + l);
                b[l] += term2(base + j + l);
            }
        double ra = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
        double rb = ((b[0] + b[1]) + (b[2] + b[3])) + ((b[4] + b[5]) + (b[6] + b[7]));
        for (; j < hw; ++j) {
            ra += term(base + j);
            rb += term2(base + j);
        }
        total += ra;
        total2 += rb;
    }
}

template <class Term>
double channel_total(int64_t n, int64_t c, int64_t hw, int64_t ch, const Term& term) {
    constexpr int lanes = 8;
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
        const int64_t base = (i * c + ch) * hw;
        double a[lanes] = {};
        int64_t j = 0;
        for (; j + lanes <= hw; j += lanes)
            for (int l = 0; l < lanes; ++l) a[l] += term(base + j + l);
        double row = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
        for (; j < hw; ++j) row += term(base + j);
        total += row;
    }
    return total;
}

}  // namespace

template <class T>
void batchnorm2d_leaky_relu_forward_train(const T* x, const T* weight, const T* bias, int64_t n, int64_t c,
                                          int64_t hw, double eps, double slope, T* y, T* mean, T* invstd,
                                          T* batch_var) {
    const double count = static_cast<double>(n * hw);
    parallel_for(c, [&](int64_t ch) {
        const double m = channel_total(n, c, hw, ch, [&](int64_t k) { return double(x[k]); }) / count;
        const double var = channel_total(n, c, hw, ch, [&](int64_t k) {
                               const double d = x[k] - m;
                               return d * d;
                           }) /
                           count;
        const double inv = 1.0 / std::sqrt(var + eps);
        mean[ch] = static_cast<T>(m);
        invstd[ch] = static_cast<T>(inv);
        batch_var[ch] = static_cast<T>(var);
        const T scale = static_cast<T>(weight ? weight[ch] * inv : inv);
        const T shift = static_cast<T>((bias ? bias[ch] : 0.0) - m * (weight ? weight[ch] * inv : inv));
        const T s = static_cast<T>(slope);
        for (int64_t i = 0; i < n; ++i) {
            const T* __restrict in = x + (i * c + ch) * hw;
            T* __restrict out = y + (i * c + ch) * hw;
            for (int64_t j = 0; j < hw; ++j) {
                const T z = in[j] * scale + shift;
                out[j] = z > T(0) ? z : z * s;
            }
        }
    });
}

template <class T>
void batchnorm2d_leaky_relu_backward(const T* dy, const T* x, const T* y, const T* weight, const T* mean,
                                     const T* invstd, int64_t n, int64_t c, int64_t hw, double slope, T* dx,
                                     T* dweight, T* dbias) {
    const double count = static_cast<double>(n * hw);
    const T s = static_cast<T>(slope);
    parallel_for(c, [&](int64_t ch) {
        const double m = mean[ch], inv = invstd[ch];
        // dz, the gradient at the normalised value: dy where the output is positive, slope * dy
        // elsewhere.
        auto dz = [&](int64_t k) { return y[k] > T(0) ? dy[k] : dy[k] * s; };
        double sum_dz = 0, sum_dz_xhat = 0;
        channel_totals(n, c, hw, ch, [&](int64_t k) { return double(dz(k)); },
                       [&](int64_t k) { return double(dz(k)) * (x[k] - m) * inv; }, sum_dz, sum_dz_xhat);
        if (dweight) dweight[ch] = static_cast<T>(sum_dz_xhat);
        if (dbias) dbias[ch] = static_cast<T>(sum_dz);
        if (!dx) return;
        // dx = g * (dz - mean(dz) - xhat * mean(dz * xhat)), as a * dz + b * (x - mean) + d
        // per channel (x - mean first, so no large terms cancel).
        const double g = (weight ? weight[ch] : 1.0) * inv;
        const double mean_dz = sum_dz / count, mean_dz_xhat = sum_dz_xhat / count;
        const T a = static_cast<T>(g), b = static_cast<T>(-g * mean_dz_xhat * inv), d = static_cast<T>(-g * mean_dz);
        const T mt = static_cast<T>(m);
        for (int64_t i = 0; i < n; ++i) {
            const int64_t base = (i * c + ch) * hw;
            for (int64_t j = 0; j < hw; ++j) {
                const int64_t k = base + j;
                dx[k] = a * dz(k) + b * (x[k] - mt) + d;
            }
        }
    });
}

#define GANOPS_INSTANTIATE(T)                                                                                      \
    template void batchnorm2d_leaky_relu_forward_train<T>(const T*, const T*, const T*, int64_t, int64_t, int64_t, \
                                                          double, double, T*, T*, T*, T*);                          \
    template void batchnorm2d_leaky_relu_backward<T>(const T*, const T*, const T*, const T*, const T*, const T*,   \
                                                     int64_t, int64_t, int64_t, double, T*, T*, T*);
GANOPS_INSTANTIATE(float)
GANOPS_INSTANTIATE(double)
#undef GANOPS_INSTANTIATE

}  // namespace ganops::cpu
