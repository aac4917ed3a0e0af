// Element-wise arithmetic on the CPU, for autograd's gradient sums and the user's losses.
#include <Eigen/Core>

#include "reference.h"

namespace ganops::cpu {

template <class T>
using Array = Eigen::Array<T, Eigen::Dynamic, 1>;

template <class T>
void binary(Binary op, const T* a_, const T* b_, T* out_, int64_t n) {
    const Eigen::Map<const Array<T>> a(a_, n), b(b_, n);
    Eigen::Map<Array<T>> out(out_, n);
    switch (op) {
        case Binary::Add: out = a + b; break;
        case Binary::Sub: out = a - b; break;
        case Binary::Mul: out = a * b; break;
    }
}

template <class T>
void scale(const T* a, double s, T* out, int64_t n) {
    Eigen::Map<Array<T>>(out, n) = Eigen::Map<const Array<T>>(a, n) * static_cast<T>(s);
}

#define GANOPS_INSTANTIATE(T)                                              \
    template void binary<T>(Binary, const T*, const T*, T*, int64_t);      \
    template void scale<T>(const T*, double, T*, int64_t);
GANOPS_INSTANTIATE(float)
GANOPS_INSTANTIATE(double)
#undef GANOPS_INSTANTIATE

}  // namespace ganops::cpu
