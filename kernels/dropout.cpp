#include "dropout.h"

#include "../core/philox.h"
#include "checks.h"
#include "cuda/kernels.h"

namespace ganops::kernels {

Tensor dropout_mask(const Shape& shape, double p, Generator& gen, DType dtype, Device device) {
    GANOPS_CHECK(p >= 0 && p <= 1, "dropout: probability must be in [0, 1], got ", p, " for input ", shape);
    const double keep_scale = p < 1 ? 1.0 / (1.0 - p) : 0.0;
    const int64_t n = shape.numel();
    if (device == Device::CUDA) {
        GANOPS_CHECK(dtype == DType::F32, "dropout: CUDA kernels take float32, got ", dtype_name(dtype));
        Tensor mask = Tensor::empty(shape, dtype, device);
        cuda::dropout_mask(mask.data<float>(), n, gen.seed, gen.take(n), p, static_cast<float>(keep_scale));
        return mask;
    }
    // u < p drops: P(drop) = p, up to the granularity of the uniform floats. The same
    // uniform stream and comparison as the CUDA kernel, so a seed fixes the mask everywhere.
    Tensor u = Tensor::uniform(shape, 0.0, 1.0, gen, dtype, Device::CPU);
    on_cpu_float_type("dropout", u, [&](auto t) {
        using T = decltype(t);
        T* m = u.data<T>();
        for (int64_t i = 0; i < n; ++i) m[i] = m[i] < p ? T(0) : static_cast<T>(keep_scale);
    });
    return u;
}

}  // namespace ganops::kernels
