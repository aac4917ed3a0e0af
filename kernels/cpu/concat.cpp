// Concatenation along the channel dimension and its inverse: block copies.
#include <algorithm>

#include "reference.h"

namespace ganops::cpu {

template <class T>
void concat_channels(const T* a, const T* b, int64_t n, int64_t ca, int64_t cb, int64_t inner, T* out) {
    for (int64_t i = 0; i < n; ++i) {
        T* row = out + i * (ca + cb) * inner;
        std::copy(a + i * ca * inner, a + (i + 1) * ca * inner, row);
        std::copy(b + i * cb * inner, b + (i + 1) * cb * inner, row + ca * inner);
    }
}

template <class T>
void split_channels(const T* in, int64_t n, int64_t ca, int64_t cb, int64_t inner, T* a, T* b) {
    for (int64_t i = 0; i < n; ++i) {
        const T* row = in + i * (ca + cb) * inner;
        if (a) std::copy(row, row + ca * inner, a + i * ca * inner);
        if (b) std::copy(row + ca * inner, row + (ca + cb) * inner, b + i * cb * inner);
    }
}

#define GANOPS_INSTANTIATE(T)                                                                   \
    template void concat_channels<T>(const T*, const T*, int64_t, int64_t, int64_t, int64_t, T*); \
    template void split_channels<T>(const T*, int64_t, int64_t, int64_t, int64_t, T*, T*);
GANOPS_INSTANTIATE(float)
GANOPS_INSTANTIATE(double)
#undef GANOPS_INSTANTIATE

}  // namespace ganops::cpu
