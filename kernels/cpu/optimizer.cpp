// Adam and SGD updates on the CPU with PyTorch's formulas (torch.optim, foreach=False), so
// a trajectory can be checked against PyTorch's step for step.
#include <cmath>

#include "../../core/thread_pool.h"
#include "reference.h"

namespace ganops::cpu {

template <class T>
void adam_update(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, int64_t n, double lr, double beta1,
                 double beta2, double eps, double weight_decay, int64_t step) {
    const double bias_correction1 = 1.0 - std::pow(beta1, static_cast<double>(step));
    const double bias_correction2_sqrt = std::sqrt(1.0 - std::pow(beta2, static_cast<double>(step)));
    const double step_size = lr / bias_correction1;
    // Each element on its own: the split over the thread pool changes no result.
    parallel_ranges(n, int64_t(1) << 15, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
            const T g = static_cast<T>(grad[i] + weight_decay * param[i]);
            exp_avg[i] = static_cast<T>(beta1 * exp_avg[i] + (1.0 - beta1) * g);
            exp_avg_sq[i] = static_cast<T>(beta2 * exp_avg_sq[i] + (1.0 - beta2) * g * g);
            const double denom = std::sqrt(static_cast<double>(exp_avg_sq[i])) / bias_correction2_sqrt + eps;
            param[i] = static_cast<T>(param[i] - step_size * exp_avg[i] / denom);
        }
    });
}

template <class T>
void sgd_update(T* param, const T* grad, T* momentum_buffer, int64_t n, double lr, double momentum,
                double dampening, double weight_decay, bool nesterov, bool first_step) {
    for (int64_t i = 0; i < n; ++i) {
        double g = grad[i] + weight_decay * param[i];
        if (momentum != 0) {
            // PyTorch starts the buffer at the first gradient, undamped.
            const double buf = first_step ? g : momentum * momentum_buffer[i] + (1.0 - dampening) * g;
            momentum_buffer[i] = static_cast<T>(buf);
            g = nesterov ? g + momentum * buf : buf;
        }
        param[i] = static_cast<T>(param[i] - lr * g);
    }
}

#define GANOPS_INSTANTIATE(T)                                                                       \
    template void adam_update<T>(T*, const T*, T*, T*, int64_t, double, double, double, double,     \
                                 double, int64_t);                                                  \
    template void sgd_update<T>(T*, const T*, T*, int64_t, double, double, double, double, bool, bool);
GANOPS_INSTANTIATE(float)
GANOPS_INSTANTIATE(double)
#undef GANOPS_INSTANTIATE

}  // namespace ganops::cpu
