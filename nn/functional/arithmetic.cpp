// Element-wise arithmetic and whole-tensor reductions with autograd, for writing losses.
#include "../../kernels/elementwise.h"
#include "../../kernels/reduce.h"
#include "../functional.h"

namespace ganops {

Tensor add(const Tensor& a, const Tensor& b) {
    return record("add", kernels::add(a, b), {a, b},
                  [](const Tensor& dy, const std::vector<bool>&) { return std::vector<Tensor>{dy, dy}; });
}

Tensor sub(const Tensor& a, const Tensor& b) {
    return record("sub", kernels::sub(a, b), {a, b}, [](const Tensor& dy, const std::vector<bool>& needs) {
        return std::vector<Tensor>{dy, needs[1] ? kernels::scale(dy, -1.0) : Tensor()};
    });
}

Tensor mul(const Tensor& a, const Tensor& b) {
    return record("mul", kernels::mul(a, b), {a, b}, [a, b](const Tensor& dy, const std::vector<bool>& needs) {
        return std::vector<Tensor>{needs[0] ? kernels::mul(dy, b) : Tensor(), needs[1] ? kernels::mul(dy, a) : Tensor()};
    });
}

Tensor mul(const Tensor& a, double s) {
    return record("mul_scalar", kernels::scale(a, s), {a}, [s](const Tensor& dy, const std::vector<bool>&) {
        return std::vector<Tensor>{kernels::scale(dy, s)};
    });
}

Tensor sum(const Tensor& x) {
    const Shape shape = x.shape();
    return record("sum", kernels::sum_all(x), {x}, [shape](const Tensor& dy, const std::vector<bool>&) {
        return std::vector<Tensor>{kernels::expand_scalar(dy, shape, 1.0)};
    });
}

Tensor mean(const Tensor& x) {
    GANOPS_CHECK(x.numel() > 0, "mean: empty tensor ", x.str());
    const Shape shape = x.shape();
    const double n = static_cast<double>(x.numel());
    return record("mean", kernels::scale(kernels::sum_all(x), 1.0 / n), {x},
                  [shape, n](const Tensor& dy, const std::vector<bool>&) {
                      return std::vector<Tensor>{kernels::expand_scalar(dy, shape, 1.0 / n)};
                  });
}

Tensor mean_rows(const Tensor& x) {
    const int64_t n = x.defined() && x.ndim() >= 1 ? x.size(0) : 0;
    return record("mean_rows", kernels::mean_rows(x), {x}, [n](const Tensor& dy, const std::vector<bool>&) {
        return std::vector<Tensor>{kernels::repeat_rows(dy, n, 1.0 / double(n))};
    });
}

}  // namespace ganops
