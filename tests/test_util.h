// Helpers shared by the tests: fresh random tensors, error norms, and a finite-difference
// gradient check in double.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "catch_compat.h"
#include "ganops.h"

namespace test {

using ganops::DType;
using ganops::Generator;
using ganops::Shape;
using ganops::Tensor;

// Fresh values for each call: tests never run on zeros or on a previous run's numbers.
inline Generator& rng() {
    static Generator gen{20261122, 0};
    return gen;
}

inline Tensor randn(const Shape& s, DType t = DType::F64, double stddev = 1.0) {
    return Tensor::normal(s, 0.0, stddev, rng(), t);
}
inline Tensor rand(const Shape& s, double lo, double hi, DType t = DType::F64) {
    return Tensor::uniform(s, lo, hi, rng(), t);
}

// ||a - b|| / ||b|| (absolute when b is 0).
inline double rel_error(const std::vector<double>& a, const std::vector<double>& b) {
    REQUIRE(a.size() == b.size());
    double num = 0, den = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        num += (a[i] - b[i]) * (a[i] - b[i]);
        den += b[i] * b[i];
    }
    return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}
inline double rel_error(const Tensor& a, const Tensor& b) {
    REQUIRE(a.shape() == b.shape());
    return rel_error(a.to_double_vector(), b.to_double_vector());
}

inline double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
    REQUIRE(a.size() == b.size());
    double m = 0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
    return m;
}

// Checks the autograd gradient of f at `inputs` (F64 tensors) against central differences:
// the scalar probed is L = sum(r * f(inputs)) for a fixed random r, so every output element
// and every input element is exercised. Inputs listed in `skip` get no gradient check.
inline void gradcheck(const std::string& what, const std::function<Tensor(const std::vector<Tensor>&)>& f,
                      std::vector<Tensor> inputs, double tolerance = 1e-6, std::vector<size_t> skip = {}) {
    INFO(what);
    for (Tensor& x : inputs) x.set_requires_grad(true);
    const Tensor out = f(inputs);
    const Tensor r = randn(out.shape());
    out.backward(r);

    const std::vector<double> weights = r.to_double_vector();
    auto probe = [&] {
        ganops::NoGradGuard no_grad;
        const std::vector<double> y = f(inputs).to_double_vector();
        double s = 0;
        for (size_t i = 0; i < y.size(); ++i) s += weights[i] * y[i];
        return s;
    };
    for (size_t k = 0; k < inputs.size(); ++k) {
        if (std::find(skip.begin(), skip.end(), k) != skip.end()) continue;
        INFO("input " << k << " " << inputs[k].str());
        const Tensor grad = inputs[k].grad();
        REQUIRE(grad.defined());
        const std::vector<double> analytic = grad.to_double_vector();
        double* x = inputs[k].data<double>();
        std::vector<double> numeric(analytic.size());
        for (size_t i = 0; i < numeric.size(); ++i) {
            const double h = 1e-6 * std::max(1.0, std::abs(x[i]));
            const double saved = x[i];
            x[i] = saved + h;
            const double up = probe();
            x[i] = saved - h;
            const double down = probe();
            x[i] = saved;
            numeric[i] = (up - down) / (2 * h);
        }
        const double err = rel_error(analytic, numeric);
        INFO("relative error " << err);
        CHECK(err < tolerance);
    }
}

// cvt.rna.tf32.f32 on the host for finite values: 10 stored mantissa bits, nearest, ties away
// from zero (adding half a unit of the 13 dropped bits to the magnitude carries into the kept ones).
inline float tf32_rna(float x) {
    uint32_t b;
    std::memcpy(&b, &x, 4);
    b = (b + 0x1000u) & 0xffffe000u;
    std::memcpy(&x, &b, 4);
    return x;
}
// How many values have any of the 13 bits TF32 drops set (0: all are TF32 values).
inline size_t tf32_low_bits_set(const std::vector<float>& v) {
    size_t n = 0;
    for (float e : v) {
        uint32_t b;
        std::memcpy(&b, &e, 4);
        n += (b & 0x1fffu) != 0;
    }
    return n;
}

}  // namespace test
