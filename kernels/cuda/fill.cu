// fill: every element of a device buffer set to one value. Memory-bound: one store per
// element, so a grid-stride loop over as many threads as the GPU keeps resident suffices.
#include "../../core/cuda_check.h"
#include "../../core/cuda_device.h"
#include "kernels.h"

namespace ganops::cuda {

namespace {
template <class T>
__global__ void fill_kernel(T* out, int64_t n, T value) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        out[i] = value;
}

template <class T>
void launch_fill(T* out, int64_t n, T value) {
    if (n == 0) return;
    constexpr int threads = 256;
    const int64_t wanted = (n + threads - 1) / threads;
    const int blocks = static_cast<int>(wanted < 4096 ? wanted : 4096);
    fill_kernel<<<blocks, threads, 0, current_stream()>>>(out, n, value);
    GANOPS_CUDA_CHECK(cudaGetLastError());
}
}  // namespace

void fill(float* out, int64_t n, float value) { launch_fill(out, n, value); }
void fill(double* out, int64_t n, double value) { launch_fill(out, n, value); }

}  // namespace ganops::cuda
