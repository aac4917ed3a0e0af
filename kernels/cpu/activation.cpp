// Element-wise activations and their derivatives on the CPU.
#include <Eigen/Core>

#include "../../core/thread_pool.h"
#include "reference.h"

namespace ganops::cpu {

template <class T>
using Array = Eigen::Array<T, Eigen::Dynamic, 1>;

// Elements per task: large enough that a task outweighs handing it out (a few microseconds).
constexpr int64_t grain = 1 << 15;

template <class T>
void activation_forward_range(Activation a, double slope, const T* x_, T* y_, int64_t n) {
    const Eigen::Map<const Array<T>> x(x_, n);
    Eigen::Map<Array<T>> y(y_, n);
    switch (a) {
        case Activation::ReLU: y = x.max(T(0)); break;
        case Activation::LeakyReLU: y = (x > T(0)).select(x, x * static_cast<T>(slope)); break;
        case Activation::Tanh: y = x.tanh(); break;
        // 1 / (1 + exp(-x)) overflows harmlessly to 0 for very negative x.
        case Activation::Sigmoid: y = T(1) / (T(1) + (-x).exp()); break;
    }
}

template <class T>
void activation_backward_range(Activation a, double slope, const T* dy_, const T* saved_, T* dx_, int64_t n) {
    const Eigen::Map<const Array<T>> dy(dy_, n), s(saved_, n);
    Eigen::Map<Array<T>> dx(dx_, n);
    switch (a) {
        case Activation::ReLU: dx = (s > T(0)).select(dy, T(0)); break;
        case Activation::LeakyReLU: dx = (s > T(0)).select(dy, dy * static_cast<T>(slope)); break;
        case Activation::Tanh: dx = dy * (T(1) - s * s); break;
        case Activation::Sigmoid: dx = dy * s * (T(1) - s); break;
    }
}

// Each element on its own: the split over the thread pool changes no result.
template <class T>
void activation_forward(Activation a, double slope, const T* x, T* y, int64_t n) {
    parallel_ranges(n, grain, [&](int64_t b, int64_t e) { activation_forward_range(a, slope, x + b, y + b, e - b); });
}

template <class T>
void activation_backward(Activation a, double slope, const T* dy, const T* saved, T* dx, int64_t n) {
    parallel_ranges(n, grain,
                    [&](int64_t b, int64_t e) { activation_backward_range(a, slope, dy + b, saved + b, dx + b, e - b); });
}

#define GANOPS_INSTANTIATE(T)                                                               \
    template void activation_forward<T>(Activation, double, const T*, T*, int64_t);         \
    template void activation_backward<T>(Activation, double, const T*, const T*, T*, int64_t);
GANOPS_INSTANTIATE(float)
GANOPS_INSTANTIATE(double)
#undef GANOPS_INSTANTIATE

}  // namespace ganops::cpu
