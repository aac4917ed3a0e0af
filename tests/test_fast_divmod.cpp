// FastDivmod (kernels/cuda/fast_divmod.h), the multiply-high division the tensor-core conv
// gathers index with, against the hardware's / and % on the CPU: every divisor up to 4096
// with edge and random dividends, and large divisors, up to the largest dividend allowed
// (2^31 - 1).
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/cuda/fast_divmod.h"
#include "test_util.h"

using ganops::cuda::FastDivmod;

namespace {

// Counts the dividends where FastDivmod disagrees with / and %.
int64_t mismatches(int d, const std::vector<int>& xs) {
    const FastDivmod f(d);
    int64_t bad = 0;
    for (int x : xs) {
        int q, r;
        f.divmod(x, q, r);
        bad += q != x / d || r != x % d;
    }
    return bad;
}

std::vector<int> dividends(int d, std::mt19937& gen) {
    const int max = INT32_MAX;
    std::vector<int> xs = {0, 1, max, max - 1};
    for (int64_t k : {int64_t{1}, int64_t{2}, int64_t{3}, int64_t{1000}, int64_t{max} / d})
        for (int64_t delta : {-1, 0, 1}) {  // around multiples of d, within 0 .. 2^31 - 1
            const int64_t x = k * d + delta;
            if (x >= 0 && x <= max) xs.push_back(int(x));
        }
    std::uniform_int_distribution<int> any(0, max), small(0, 1 << 20);
    for (int i = 0; i < 64; ++i) {
        xs.push_back(any(gen));
        xs.push_back(small(gen));
    }
    return xs;
}

}  // namespace

TEST_CASE("FastDivmod equals / and % for every divisor up to 4096") {
    std::mt19937 gen(13);
    int64_t bad = 0;
    for (int d = 1; d <= 4096; ++d) bad += mismatches(d, dividends(d, gen));
    CHECK(bad == 0);
}

TEST_CASE("FastDivmod equals / and % for large and power-of-two divisors") {
    std::mt19937 gen(14);
    std::vector<int> divisors = {INT32_MAX, INT32_MAX - 1, 1 << 30, (1 << 30) + 1, (1 << 30) - 1, 1 << 20, 65537, 1000003};
    std::uniform_int_distribution<int> any(1, INT32_MAX);
    for (int i = 0; i < 200; ++i) divisors.push_back(any(gen));
    for (int d : divisors) {
        INFO("divisor " << d);
        CHECK(mismatches(d, dividends(d, gen)) == 0);
    }
    // The trick itself: a divisor of 1 keeps the dividend, a power of two is a shift.
    CHECK(FastDivmod(1).div(INT32_MAX) == INT32_MAX);
    CHECK(FastDivmod(64).div(1000) == 15);
}
