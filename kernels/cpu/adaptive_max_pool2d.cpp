// Adaptive max pooling on the CPU, PyTorch's window rule: output cell i covers input rows
// floor(i * h / oh) up to ceil((i + 1) * h / oh), so windows tile the input and may overlap.
#include <algorithm>

#include "reference.h"

namespace ganops::cpu {

namespace {
int64_t window_begin(int64_t i, int64_t in, int64_t out) { return (i * in) / out; }
int64_t window_end(int64_t i, int64_t in, int64_t out) { return ((i + 1) * in + out - 1) / out; }

// Index within the plane of the first maximum of output cell (i, j).
template <class T>
int64_t argmax(const T* plane, int64_t h, int64_t w, int64_t oh, int64_t ow, int64_t i, int64_t j) {
    int64_t best = window_begin(i, h, oh) * w + window_begin(j, w, ow);
    for (int64_t y = window_begin(i, h, oh); y < window_end(i, h, oh); ++y)
        for (int64_t x = window_begin(j, w, ow); x < window_end(j, w, ow); ++x)
            if (plane[y * w + x] > plane[best]) best = y * w + x;
    return best;
}
}  // namespace

template <class T>
void adaptive_max_pool2d_forward(const T* x, int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow, T* y) {
    for (int64_t p = 0; p < planes; ++p)
        for (int64_t i = 0; i < oh; ++i)
            for (int64_t j = 0; j < ow; ++j) y[(p * oh + i) * ow + j] = x[p * h * w + argmax(x + p * h * w, h, w, oh, ow, i, j)];
}

template <class T>
void adaptive_max_pool2d_backward(const T* dy, const T* x, int64_t planes, int64_t h, int64_t w, int64_t oh,
                                  int64_t ow, T* dx) {
    std::fill(dx, dx + planes * h * w, T(0));
    for (int64_t p = 0; p < planes; ++p)
        for (int64_t i = 0; i < oh; ++i)
            for (int64_t j = 0; j < ow; ++j)
                dx[p * h * w + argmax(x + p * h * w, h, w, oh, ow, i, j)] += dy[(p * oh + i) * ow + j];
}

#define GANOPS_INSTANTIATE(T)                                                                                   \
    template void adaptive_max_pool2d_forward<T>(const T*, int64_t, int64_t, int64_t, int64_t, int64_t, T*);    \
    template void adaptive_max_pool2d_backward<T>(const T*, const T*, int64_t, int64_t, int64_t, int64_t, int64_t, T*);
GANOPS_INSTANTIATE(float)
GANOPS_INSTANTIATE(double)
#undef GANOPS_INSTANTIATE

}  // namespace ganops::cpu
