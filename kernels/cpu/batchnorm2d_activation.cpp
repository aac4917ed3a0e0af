// batchnorm2d (training, batch statistics) followed by leaky_relu with slope >= 0 (relu is
// slope 0), as one pass over the data each way on the CPU. Unfused, the activation reads the
// normalised tensor and writes another one, and its backward reads that and writes the
// gradient the batchnorm backward then reads: a full tensor written and read twice more.
// Fused, the forward writes the activation's output directly, and the backward recomputes
// the activation's derivative from that output (y > 0 exactly where the normalised value
// is, when the slope is not negative). The statistics are those of kernels/cpu/batchnorm2d.cpp
// (mean, then centred sum of squares, in double); channels are the pool's tasks.
#include <cmath>
#if defined(__AVX512F__) && defined(__AVX512DQ__)
#include <immintrin.h>
#endif

#include "../../core/thread_pool.h"
#include "batchnorm2d_activation.h"
#include "channel_total.h"

namespace ganops::cpu {

template <class T>
void batchnorm2d_leaky_relu_forward_train(const T* x, const T* weight, const T* bias, int64_t n, int64_t c,
                                          int64_t hw, double eps, double slope, T* y, T* mean, T* invstd,
                                          T* batch_var) {
    parallel_for(c, [&](int64_t ch) {
        const auto [m, var, inv] = channel_statistics(x, n, c, hw, ch, eps);
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

// The activation's derivative as a factor, 1 or the slope: a select the compiler vectorises
// (a branch on the sign of each value would be mispredicted half the time).
template <class T>
inline T slope_factor(T y, T slope) {
    return y > T(0) ? T(1) : slope;
}

struct RowSums {
    double dz, dz_xc;
};

// One row's sums of dz = dy * slope_factor(y) and of dz * (x - mean), with eight partial
// sums added in a fixed order.
template <class T>
RowSums row_sums(const T* __restrict g, const T* __restrict in, const T* __restrict out, int64_t hw, T s, T mt) {
    constexpr int lanes = 8;
    double a[lanes] = {}, b[lanes] = {};
    int64_t j = 0;
    for (; j + lanes <= hw; j += lanes)
        for (int l = 0; l < lanes; ++l) {
            const double dz = double(g[j + l] * slope_factor(out[j + l], s));
            a[l] += dz;
            b[l] += dz * double(in[j + l] - mt);
        }
    RowSums r{((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7])),
              ((b[0] + b[1]) + (b[2] + b[3])) + ((b[4] + b[5]) + (b[6] + b[7]))};
    for (; j < hw; ++j) {
        const double dz = double(g[j] * slope_factor(out[j], s));
        r.dz += dz;
        r.dz_xc += dz * double(in[j] - mt);
    }
    return r;
}

#if defined(__AVX512F__) && defined(__AVX512DQ__)
// The same in float with AVX-512, sixteen values at a time widened to double: GCC leaves the
// loop above scalar (the select and the widening defeat its vectoriser), which made this
// backward pass as slow as a convolution pass. Sixteen partial sums in a fixed order.
template <>
RowSums row_sums<float>(const float* __restrict g, const float* __restrict in, const float* __restrict out,
                        int64_t hw, float s, float mt) {
    const __m512 slope = _mm512_set1_ps(s), one = _mm512_set1_ps(1.0f), mean = _mm512_set1_ps(mt);
    __m512d a0 = _mm512_setzero_pd(), a1 = a0, b0 = a0, b1 = a0;
    int64_t j = 0;
    for (; j + 16 <= hw; j += 16) {
        const __mmask16 positive = _mm512_cmp_ps_mask(_mm512_loadu_ps(out + j), _mm512_setzero_ps(), _CMP_GT_OQ);
        const __m512 dz = _mm512_mul_ps(_mm512_loadu_ps(g + j), _mm512_mask_blend_ps(positive, slope, one));
        const __m512 xc = _mm512_sub_ps(_mm512_loadu_ps(in + j), mean);
        const __m512d dz_lo = _mm512_cvtps_pd(_mm512_castps512_ps256(dz)), dz_hi = _mm512_cvtps_pd(_mm512_extractf32x8_ps(dz, 1));
        a0 = _mm512_add_pd(a0, dz_lo);
        a1 = _mm512_add_pd(a1, dz_hi);
        b0 = _mm512_fmadd_pd(dz_lo, _mm512_cvtps_pd(_mm512_castps512_ps256(xc)), b0);
        b1 = _mm512_fmadd_pd(dz_hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(xc, 1)), b1);
    }
    // (Stored and added here: GCC 12's _mm512_reduce_add_pd trips -Wuninitialized.)
    double a[8], b[8];
    _mm512_storeu_pd(a, _mm512_add_pd(a0, a1));
    _mm512_storeu_pd(b, _mm512_add_pd(b0, b1));
    RowSums r{((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7])),
              ((b[0] + b[1]) + (b[2] + b[3])) + ((b[4] + b[5]) + (b[6] + b[7]))};
    for (; j < hw; ++j) {
        const double dz = double(g[j] * slope_factor(out[j], s));
        r.dz += dz;
        r.dz_xc += dz * double(in[j] - mt);
    }
    return r;
}
#endif

template <class T>
void batchnorm2d_leaky_relu_backward(const T* dy, const T* x, const T* y, const T* weight, const T* mean,
                                     const T* invstd, int64_t n, int64_t c, int64_t hw, double slope, T* dx,
                                     T* dweight, T* dbias) {
    const double count = static_cast<double>(n * hw);
    const T s = static_cast<T>(slope);
    parallel_for(c, [&](int64_t ch) {
        const double m = mean[ch], inv = invstd[ch];
        const T mt = static_cast<T>(m);
        // dz, the gradient at the normalised value: dy where the output is positive, slope * dy
        // elsewhere. Its sum and its sum against (x - mean), in double.
        double sum_dz = 0, sum_dz_xc = 0;
        for (int64_t i = 0; i < n; ++i) {
            const int64_t base = (i * c + ch) * hw;
            const RowSums r = row_sums(dy + base, x + base, y + base, hw, s, mt);
            sum_dz += r.dz;
            sum_dz_xc += r.dz_xc;
        }
        const double sum_dz_xhat = sum_dz_xc * inv;
        if (dweight) dweight[ch] = static_cast<T>(sum_dz_xhat);
        if (dbias) dbias[ch] = static_cast<T>(sum_dz);
        if (!dx) return;
        // dx = g * (dz - mean(dz) - xhat * mean(dz * xhat)), as a * dz + b * (x - mean) + d
        // per channel (x - mean first, so no large terms cancel).
        const double gain = (weight ? weight[ch] : 1.0) * inv;
        const double mean_dz = sum_dz / count, mean_dz_xhat = sum_dz_xhat / count;
        const T a = static_cast<T>(gain), b = static_cast<T>(-gain * mean_dz_xhat * inv), d = static_cast<T>(-gain * mean_dz);
        for (int64_t i = 0; i < n; ++i) {
            const int64_t base = (i * c + ch) * hw;
            const T* __restrict g = dy + base;
            const T* __restrict in = x + base;
            const T* __restrict out = y + base;
            T* __restrict grad = dx + base;
            for (int64_t j = 0; j < hw; ++j) grad[j] = a * (g[j] * slope_factor(out[j], s)) + b * (in[j] - mt) + d;
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
