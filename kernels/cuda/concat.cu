// Concatenation along dimension 1 and its inverse, one thread per element of the larger
// side, so reads and writes both run along memory.
#include "kernels.h"
#include "launch.cuh"

namespace ganops::cuda {

namespace {
__global__ void concat_kernel(const float* a, const float* b, int64_t n, int64_t ca, int64_t cb, int64_t inner, float* out) {
    const int64_t row = (ca + cb) * inner, total = n * row;
    GANOPS_GRID_STRIDE(i, total) {
        const int64_t sample = i / row, within = i % row;
        out[i] = within < ca * inner ? a[sample * ca * inner + within] : b[sample * cb * inner + within - ca * inner];
    }
}

__global__ void split_kernel(const float* in, int64_t n, int64_t ca, int64_t cb, int64_t inner, float* a, float* b) {
    const int64_t row = (ca + cb) * inner, total = n * row;
    GANOPS_GRID_STRIDE(i, total) {
        const int64_t sample = i / row, within = i % row;
        if (within < ca * inner) {
            if (a) a[sample * ca * inner + within] = in[i];
        } else if (b) {
            b[sample * cb * inner + within - ca * inner] = in[i];
        }
    }
}
}  // namespace

void concat_channels(const float* a, const float* b, int64_t n, int64_t ca, int64_t cb, int64_t inner, float* out) {
    const int64_t total = n * (ca + cb) * inner;
    if (total == 0) return;
    GANOPS_LAUNCH(concat_kernel, grid_for(total), kThreads, 0, current_stream())(a, b, n, ca, cb, inner, out);
}

void split_channels(const float* in, int64_t n, int64_t ca, int64_t cb, int64_t inner, float* a, float* b) {
    const int64_t total = n * (ca + cb) * inner;
    if (total == 0) return;
    GANOPS_LAUNCH(split_kernel, grid_for(total), kThreads, 0, current_stream())(in, n, ca, cb, inner, a, b);
}

}  // namespace ganops::cuda
