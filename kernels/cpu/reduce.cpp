// Reductions and the per-channel broadcast they pair with. Sums run in double: a float
// running sum over 128 x 64 x 64 terms loses digits the reference must keep.
#include <vector>

#include "reference.h"

namespace ganops::cpu {

template <class T>
void channel_sum(const T* x, int64_t outer, int64_t channels, int64_t inner, T* out) {
    std::vector<double> acc(static_cast<size_t>(channels), 0.0);
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t c = 0; c < channels; ++c) {
            const T* row = x + (o * channels + c) * inner;
            double s = 0;
            for (int64_t i = 0; i < inner; ++i) s += row[i];
            acc[static_cast<size_t>(c)] += s;
        }
    for (int64_t c = 0; c < channels; ++c) out[c] = static_cast<T>(acc[static_cast<size_t>(c)]);
}

template <class T>
void add_channel_bias(T* y, const T* bias, int64_t outer, int64_t channels, int64_t inner) {
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t c = 0; c < channels; ++c) {
            T* row = y + (o * channels + c) * inner;
            for (int64_t i = 0; i < inner; ++i) row[i] += bias[c];
        }
}

template <class T>
T sum(const T* a, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += a[i];
    return static_cast<T>(s);
}

template <class T>
void repeat_rows(const T* row, int64_t n, int64_t width, double factor, T* out) {
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < width; ++j) out[i * width + j] = static_cast<T>(row[j] * factor);
}

#define GANOPS_INSTANTIATE(T)                                                  \
    template void repeat_rows<T>(const T*, int64_t, int64_t, double, T*);      \
    template void channel_sum<T>(const T*, int64_t, int64_t, int64_t, T*);     \
    template void add_channel_bias<T>(T*, const T*, int64_t, int64_t, int64_t); \
    template T sum<T>(const T*, int64_t);
GANOPS_INSTANTIATE(float)
GANOPS_INSTANTIATE(double)
#undef GANOPS_INSTANTIATE

}  // namespace ganops::cpu
