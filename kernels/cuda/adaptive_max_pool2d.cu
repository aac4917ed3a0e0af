// Adaptive max pooling with PyTorch's windows. The backward pass gathers instead of
// scattering: each input element adds the gradients of the (at most a few) output cells
// whose window holds it and whose first maximum it is. No atomics, so it is deterministic.
#include "kernels.h"
#include "launch.cuh"

namespace ganops::cuda {

namespace {
__device__ int64_t window_begin(int64_t i, int64_t in, int64_t out) { return (i * in) / out; }
__device__ int64_t window_end(int64_t i, int64_t in, int64_t out) { return ((i + 1) * in + out - 1) / out; }

__device__ int64_t argmax(const float* plane, int64_t h, int64_t w, int64_t oh, int64_t ow, int64_t i, int64_t j) {
    int64_t best = window_begin(i, h, oh) * w + window_begin(j, w, ow);
    for (int64_t y = window_begin(i, h, oh); y < window_end(i, h, oh); ++y)
        for (int64_t x = window_begin(j, w, ow); x < window_end(j, w, ow); ++x)
            if (plane[y * w + x] > plane[best]) best = y * w + x;
    return best;
}

__global__ void forward_kernel(const float* x, int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow, float* y) {
    GANOPS_GRID_STRIDE(o, planes * oh * ow) {
        const int64_t p = o / (oh * ow), i = (o / ow) % oh, j = o % ow;
        y[o] = x[p * h * w + argmax(x + p * h * w, h, w, oh, ow, i, j)];
    }
}

__global__ void backward_kernel(const float* dy, const float* x, int64_t planes, int64_t h, int64_t w, int64_t oh,
                                int64_t ow, float* dx) {
    GANOPS_GRID_STRIDE(e, planes * h * w) {
        const int64_t p = e / (h * w), yx = e % (h * w), y = yx / w, xx = yx % w;
        float g = 0;
        for (int64_t i = 0; i < oh; ++i) {
            if (y < window_begin(i, h, oh) || y >= window_end(i, h, oh)) continue;
            for (int64_t j = 0; j < ow; ++j) {
                if (xx < window_begin(j, w, ow) || xx >= window_end(j, w, ow)) continue;
                if (argmax(x + p * h * w, h, w, oh, ow, i, j) == yx) g = __fadd_rn(g, dy[(p * oh + i) * ow + j]);
            }
        }
        dx[e] = g;
    }
}
}  // namespace

void adaptive_max_pool2d_forward(const float* x, int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow, float* y) {
    if (planes * oh * ow == 0) return;
    GANOPS_LAUNCH(forward_kernel, grid_for(planes * oh * ow), kThreads, 0, current_stream())(x, planes, h, w, oh, ow, y);
}

void adaptive_max_pool2d_backward(const float* dy, const float* x, int64_t planes, int64_t h, int64_t w, int64_t oh,
                                  int64_t ow, float* dx) {
    if (planes * h * w == 0) return;
    GANOPS_LAUNCH(backward_kernel, grid_for(planes * h * w), kThreads, 0, current_stream())(dy, x, planes, h, w, oh, ow, dx);
}

}  // namespace ganops::cuda
