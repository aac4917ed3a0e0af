// The channels-last convolution problems (conv_nhwc_problems.h) as the tensor-core loop
// (implicit_gemm_mma.cuh) reads them on its register-staged path: which index of each operand
// is contiguous in memory. Every file that runs these problems on the tensor cores includes
// this one, so that all of them instantiate the loop alike.
#pragma once
#include "conv_nhwc_problems.h"
#include "implicit_gemm_mma.cuh"

namespace ganops::cuda::mma {

// Forward and grad-input read channels along k (x's c, dy's and w_crsk's k_out).
template <>
struct OperandOrder<conv::nhwc::ForwardNhwc> {
    static constexpr bool a_k_fast = true;
    static constexpr bool b_k_fast = true;
};
template <>
struct OperandOrder<conv::nhwc::BackwardInputPhaseNhwc> {
    static constexpr bool a_k_fast = true;
    static constexpr bool b_k_fast = true;
};
template <>
struct OperandOrder<conv::nhwc::BackwardInputFromPixelNhwc> {
    static constexpr bool a_k_fast = true;
    static constexpr bool b_k_fast = true;
};
// Grad-weight sums over pixels: x is contiguous along m (c), dy along n (k_out).
template <>
struct OperandOrder<conv::nhwc::BackwardWeightNhwc> {
    static constexpr bool a_k_fast = false;
    static constexpr bool b_k_fast = false;
};

}  // namespace ganops::cuda::mma
