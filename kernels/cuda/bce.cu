// Binary cross entropy losses (mean), PyTorch's semantics as in the CPU reference. The
// forward is a deterministic reduction of per-element terms computed in double; the
// backward reads the loss gradient from device memory, so nothing waits for the host.
// Unlike the CPU path, probabilities outside [0, 1] are not reported by an exception (that
// would stall the GPU); they give a NaN loss.
#include "kernels.h"
#include "launch.cuh"
#include "reduce.cuh"

namespace ganops::cuda {

namespace {
struct BceTerm {
    const float* p;
    const float* t;
    __device__ double operator()(int64_t i) const {
        const double pi = p[i], ti = t[i];
        if (!(pi >= 0.0 && pi <= 1.0)) return nan("");
        return -(ti * fmax(log(pi), -100.0) + (1.0 - ti) * fmax(log1p(-pi), -100.0));
    }
};

struct BceLogitsTerm {
    const float* x;
    const float* t;
    __device__ double operator()(int64_t i) const {
        const double xi = x[i];
        return fmax(xi, 0.0) - xi * t[i] + log1p(exp(-fabs(xi)));
    }
};

__global__ void bce_backward_kernel(const float* dloss, const float* p, const float* t, float* dp, int64_t n) {
    const double scale = double(*dloss) / double(n);
    GANOPS_GRID_STRIDE(i, n) {
        const double pi = p[i];
        dp[i] = static_cast<float>(scale * (pi - t[i]) / fmax((1.0 - pi) * pi, 1e-12));
    }
}

__global__ void bce_logits_backward_kernel(const float* dloss, const float* x, const float* t, float* dx, int64_t n) {
    const double scale = double(*dloss) / double(n);
    GANOPS_GRID_STRIDE(i, n) {
        const double xi = x[i], e = exp(-fabs(xi));
        const double sigmoid = xi >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
        dx[i] = static_cast<float>(scale * (sigmoid - t[i]));
    }
}
}  // namespace

void bce_forward(const float* p, const float* target, int64_t n, float* loss) {
    sum_terms(BceTerm{p, target}, n, 1.0 / double(n), loss);
}

void bce_with_logits_forward(const float* x, const float* target, int64_t n, float* loss) {
    sum_terms(BceLogitsTerm{x, target}, n, 1.0 / double(n), loss);
}

void bce_backward(const float* dloss, const float* p, const float* target, float* dp, int64_t n) {
    GANOPS_LAUNCH(bce_backward_kernel, grid_for(n), kThreads, 0, current_stream())(dloss, p, target, dp, n);
}

void bce_with_logits_backward(const float* dloss, const float* x, const float* target, float* dx, int64_t n) {
    GANOPS_LAUNCH(bce_logits_backward_kernel, grid_for(n), kThreads, 0, current_stream())(dloss, x, target, dx, n);
}

}  // namespace ganops::cuda
