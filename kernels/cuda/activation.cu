// ReLU, LeakyReLU, tanh and sigmoid, forward and backward: memory-bound element-wise passes.
#include "kernels.h"
#include "launch.cuh"

namespace ganops::cuda {

namespace {
__global__ void forward_kernel(Activation a, float slope, const float* x, float* y, int64_t n) {
    GANOPS_GRID_STRIDE(i, n) {
        const float v = x[i];
        switch (a) {
            case Activation::ReLU: y[i] = v > 0.0f ? v : 0.0f; break;
            case Activation::LeakyReLU: y[i] = v > 0.0f ? v : __fmul_rn(v, slope); break;
            case Activation::Tanh: y[i] = tanhf(v); break;
            // expf overflows to inf for v < -88 and 1/(1+inf) = 0, the right limit.
            case Activation::Sigmoid: y[i] = 1.0f / (1.0f + expf(-v)); break;
        }
    }
}

__global__ void backward_kernel(Activation a, float slope, const float* dy, const float* s, float* dx, int64_t n) {
    GANOPS_GRID_STRIDE(i, n) {
        const float g = dy[i], v = s[i];
        switch (a) {
            case Activation::ReLU: dx[i] = v > 0.0f ? g : 0.0f; break;
            case Activation::LeakyReLU: dx[i] = v > 0.0f ? g : __fmul_rn(g, slope); break;
            case Activation::Tanh: dx[i] = __fmul_rn(g, __fsub_rn(1.0f, __fmul_rn(v, v))); break;
            case Activation::Sigmoid: dx[i] = __fmul_rn(__fmul_rn(g, v), __fsub_rn(1.0f, v)); break;
        }
    }
}
}  // namespace

void activation_forward(Activation a, float slope, const float* x, float* y, int64_t n) {
    if (n == 0) return;
    GANOPS_LAUNCH(forward_kernel, grid_for(n), kThreads, 0, current_stream())(a, slope, x, y, n);
}

void activation_backward(Activation a, float slope, const float* dy, const float* saved, float* dx, int64_t n) {
    if (n == 0) return;
    GANOPS_LAUNCH(backward_kernel, grid_for(n), kThreads, 0, current_stream())(a, slope, dy, saved, dx, n);
}

}  // namespace ganops::cuda
