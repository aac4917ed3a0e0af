// Division and remainder by a divisor fixed for a whole launch, as a multiply-high and a shift
// (Granlund and Montgomery, "Division by invariant integers using multiplication", PLDI 1994;
// the scheme CUTLASS's FastDivmod uses). A 32-bit division on the GPU is a ~20-instruction
// sequence; this is 3 (IMAD.HI, SHF, IMAD for the remainder). The implicit GEMM's gathers
// split every operand index into image coordinates, so this is most of their arithmetic.
//
// Exact for dividends 0 <= x < 2^31 and divisors 1 <= d < 2^31: with l = ceil(log2 d),
// p = 31 + l and m = ceil(2^p / d) < 2^32, floor(x m / 2^p) = floor(x / d) because
// x (m d - 2^p) < 2^31 d <= 2^p. tests/test_fast_divmod.cpp checks it against `/` and `%`.
#pragma once
#include <cstdint>

#include "../../core/philox.h"  // GANOPS_HD

namespace ganops::cuda {

struct FastDivmod {
    int divisor = 1;
    uint32_t multiplier = 0;  // 0 for divisor 1 (the quotient is the dividend)
    uint32_t shift = 0;

    FastDivmod() = default;
    // Host side; divisor >= 1 (the conv geometry's sizes are validated before this).
    explicit FastDivmod(int d) : divisor(d) {
        if (d <= 1) return;
        uint32_t l = 0;
        while ((uint64_t{1} << l) < uint64_t(d)) ++l;  // ceil(log2 d)
        const uint64_t p = 31 + l;
        multiplier = uint32_t(((uint64_t{1} << p) + uint64_t(d) - 1) / uint64_t(d));
        shift = uint32_t(p - 32);
    }

    GANOPS_HD int div(int x) const {
        if (multiplier == 0) return x;
        return int(uint32_t((uint64_t(uint32_t(x)) * multiplier) >> 32) >> shift);
    }
    // q = x / divisor, r = x % divisor, for 0 <= x < 2^31.
    GANOPS_HD void divmod(int x, int& q, int& r) const {
        q = div(x);
        r = x - q * divisor;
    }
};

}  // namespace ganops::cuda
