// fill: every element of a device buffer set to one value. Memory-bound: one store per
// element in a grid-stride loop.
#include "kernels.h"
#include "launch.cuh"

namespace ganops::cuda {

namespace {
template <class T>
__global__ void fill_kernel(T* out, int64_t n, T value) {
    GANOPS_GRID_STRIDE(i, n) out[i] = value;
}

template <class T>
void launch_fill(T* out, int64_t n, T value) {
    if (n == 0) return;
    GANOPS_LAUNCH(fill_kernel, grid_for(n), kThreads, 0, current_stream())(out, n, value);
}
}  // namespace

void fill(float* out, int64_t n, float value) { launch_fill(out, n, value); }
void fill(double* out, int64_t n, double value) { launch_fill(out, n, value); }

}  // namespace ganops::cuda
