// Element-wise arithmetic: memory-bound, one grid-stride loop each.
#include "kernels.h"
#include "launch.cuh"

namespace ganops::cuda {

namespace {
__global__ void binary_kernel(Binary op, const float* a, const float* b, float* out, int64_t n) {
    GANOPS_GRID_STRIDE(i, n) {
        // __fadd_rn/__fmul_rn: the same rounding as the CPU reference, never contracted.
        out[i] = op == Binary::Add ? __fadd_rn(a[i], b[i]) : op == Binary::Sub ? __fsub_rn(a[i], b[i]) : __fmul_rn(a[i], b[i]);
    }
}

__global__ void scale_kernel(const float* a, float s, float* out, int64_t n) {
    GANOPS_GRID_STRIDE(i, n) out[i] = __fmul_rn(a[i], s);
}

__global__ void expand_scalar_kernel(const float* scalar, float factor, float* out, int64_t n) {
    const float v = __fmul_rn(*scalar, factor);
    GANOPS_GRID_STRIDE(i, n) out[i] = v;
}
}  // namespace

void binary(Binary op, const float* a, const float* b, float* out, int64_t n) {
    if (n == 0) return;
    GANOPS_LAUNCH(binary_kernel, grid_for(n), kThreads, 0, current_stream())(op, a, b, out, n);
}

void scale(const float* a, float s, float* out, int64_t n) {
    if (n == 0) return;
    GANOPS_LAUNCH(scale_kernel, grid_for(n), kThreads, 0, current_stream())(a, s, out, n);
}

void expand_scalar(const float* scalar, float factor, float* out, int64_t n) {
    if (n == 0) return;
    GANOPS_LAUNCH(expand_scalar_kernel, grid_for(n), kThreads, 0, current_stream())(scalar, factor, out, n);
}

}  // namespace ganops::cuda
