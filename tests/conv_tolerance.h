// How close a GPU convolution (or any product of sums) must come to the float64 reference in
// each precision mode; shared by the NCHW and NHWC convolution tests.
//
// Per output element, from the mode's unit roundoff u and the dot length K:
//   |gpu - ref| <= (p + (K + 72) * 2^-23) * sum_k |a_k| |b_k|
// where p bounds one product's relative error: 2u + u^2 with both operands rounded (TF32
// u = 2^-11, BF16 u = 2^-8), 4 * 2^-22 for fp32-accurate (3xTF32: each operand's hi + lo is
// within 2^-22 of it, and lo*lo, below 2^-22, is dropped), 2^-24 for strict fp32 (fmaf rounds
// once per step); the second term covers the fp32 additions (K products, up to 64 split-K
// partial sums, and slack), each at most one ulp of a partial sum (so a truncating
// tensor-core adder passes too). sum |a||b| is the reference run on |x|, |w|, |dy|. On top of
// that bound, which holds for any input, the relative norm error must be below what random
// rounding gives: 2u for TF32/BF16, fp32-level for fp32-accurate and strict fp32.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "core/precision.h"
#include "kernels/cuda/mma_plan.h"  // kMmaMaxSplits
#include "test_util.h"

namespace test::conv_tolerance {

inline double unit_roundoff(ganops::Precision p) {
    using ganops::Precision;
    return p == Precision::TF32 ? std::ldexp(1.0, -11)
           : p == Precision::BF16 ? std::ldexp(1.0, -8)
           : p == Precision::FP32Accurate ? std::ldexp(1.0, -22)
                                          : std::ldexp(1.0, -24);
}

// One product's relative error bound (see the top of the file).
inline double product_bound(ganops::Precision p) {
    const double u = unit_roundoff(p);
    if (p == ganops::Precision::FP32Accurate) return 4 * u;
    if (p == ganops::Precision::FP32) return u;
    return 2 * u + u * u;
}

// The norm tolerance: what random rounding gives, with room.
inline double norm_tolerance(ganops::Precision p, int64_t K) {
    if (p == ganops::Precision::FP32Accurate || p == ganops::Precision::FP32)
        return 8 * unit_roundoff(p) + double(K / 8 + 64) * std::ldexp(1.0, -24);
    return 2 * unit_roundoff(p);
}

// Checks `got` against the reference `ref` (and `mag`, the reference on magnitudes) for a
// product of length K: every element finite and within its bound, the norm error within
// tolerance. Returns the norm error. The caller's INFO names the case.
inline double check_result(const std::vector<double>& got, const std::vector<double>& ref, const std::vector<double>& mag,
                           int64_t K, ganops::Precision p) {
    REQUIRE(got.size() == ref.size());
    REQUIRE(mag.size() == ref.size());
    const double coefficient = product_bound(p) + double(K + ganops::cuda::mma::kMmaMaxSplits + 8) * std::ldexp(1.0, -23);
    size_t over = 0, first_over = 0, not_finite = 0;
    double worst = 0;  // largest |gpu - ref| / bound
    for (size_t i = 0; i < got.size(); ++i) {
        not_finite += !std::isfinite(got[i]);  // NaN: an element no thread wrote
        const double bound = coefficient * mag[i], err = std::abs(got[i] - ref[i]);
        if (bound > 0) worst = std::max(worst, err / bound);
        if (err > bound && over++ == 0) first_over = i;
    }
    const double norm_error = rel_error(got, ref);
    INFO("K " << K << "; elements over the bound: " << over << " (first at " << first_over << "); largest error / bound "
              << worst << "; norm error " << norm_error << " (tolerance " << norm_tolerance(p, K) << ")");
    REQUIRE(not_finite == 0);
    CHECK(over == 0);
    CHECK(norm_error < norm_tolerance(p, K));
    return norm_error;
}

}  // namespace test::conv_tolerance
