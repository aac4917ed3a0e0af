#include "dropout.h"

#include "../core/philox.h"
#include "checks.h"

namespace ganops::kernels {

Tensor dropout_mask(const Shape& shape, double p, Generator& gen, DType dtype, Device device) {
    GANOPS_CHECK(p >= 0 && p <= 1, "dropout: probability must be in [0, 1], got ", p, " for input ", shape);
    // u < p drops: P(drop) = p, up to the 2^-24 granularity of the uniform floats.
    Tensor u = Tensor::uniform(shape, 0.0, 1.0, gen, dtype, Device::CPU);
    const double keep_scale = p < 1 ? 1.0 / (1.0 - p) : 0.0;
    on_cpu_float_type("dropout", u, [&](auto t) {
        using T = decltype(t);
        T* m = u.data<T>();
        for (int64_t i = 0; i < u.numel(); ++i) m[i] = m[i] < p ? T(0) : static_cast<T>(keep_scale);
    });
    return u.to(device);
}

}  // namespace ganops::kernels
