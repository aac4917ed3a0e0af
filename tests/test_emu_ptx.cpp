// The arithmetic behind the emulated PTX instructions (core/emu/ptx_emu.h) against plain loops.
// The fragment layouts are stated again here, independently, in the words of the PTX ISA's
// "Matrix Fragments" sections (9.7.14.5.7 mma.m16n8k8, 9.7.14.5.8 mma.m16n8k16) and of the
// ldmatrix section (9.7.14.5.15): a test that reused the emulator's own index functions could
// not catch a mistake in them. Runs on any machine: no CUDA, no emulator runtime.
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "catch_compat.h"
#include "core/emu/ptx_emu.h"

namespace ptx = ganops_emu::ptx;
using ptx::Accumulation;

namespace {

float from_bits(uint32_t u) { return ptx::bits_float(u); }
uint32_t to_bits(float x) { return ptx::float_bits(x); }

std::mt19937_64& gen() {
    static std::mt19937_64 g{20261122};
    return g;
}
// Values of varied magnitude (2^-8 .. 2^8 times a normal deviate), so that products and c
// have different exponents and the alignment in the adder matters.
float spread_value() {
    std::normal_distribution<float> normal;
    std::uniform_int_distribution<int> scale(-8, 8);
    return std::ldexp(normal(gen()), scale(gen()));
}

// ---- the ISA's tables, as written there (g = groupID = lane >> 2, t = threadID_in_group) ----
struct Coord {
    int row, col;
};
// 9.7.14.5.7, .tf32 A: row = g for a0 and a2, g + 8 for a1 and a3; col = t for a0 and a1,
// t + 4 for a2 and a3.
Coord isa_tf32_a(int lane, int i) {
    const int g = lane >> 2, t = lane % 4;
    const int row = (i == 0 || i == 2) ? g : g + 8;
    const int col = (i == 0 || i == 1) ? t : t + 4;
    return {row, col};
}
// 9.7.14.5.7, .tf32 B: row = t for b0, t + 4 for b1; col = g.
Coord isa_tf32_b(int lane, int i) {
    const int g = lane >> 2, t = lane % 4;
    return {i == 0 ? t : t + 4, g};
}
// 9.7.14.5.7 / .8, .f32 C and D: row = g for c0 and c1, g + 8 for c2 and c3;
// col = (t * 2) + (i & 0x1).
Coord isa_f32_c(int lane, int i) {
    const int g = lane >> 2, t = lane % 4;
    return {i < 2 ? g : g + 8, t * 2 + (i & 0x1)};
}
// 9.7.14.5.8, .bf16 A (a0..a7, two per .b32 register, low to high): row = g for ai where
// 0 <= i < 2 || 4 <= i < 6, g + 8 otherwise; col = (t * 2) + (i & 0x1) for i < 4,
// (t * 2) + (i & 0x1) + 8 for i >= 4.
Coord isa_bf16_a(int lane, int i) {
    const int g = lane >> 2, t = lane % 4;
    const int row = ((0 <= i && i < 2) || (4 <= i && i < 6)) ? g : g + 8;
    const int col = i < 4 ? (t * 2) + (i & 0x1) : (t * 2) + (i & 0x1) + 8;
    return {row, col};
}
// 9.7.14.5.8, .bf16 B (b0..b3): row = (t * 2) + (i & 0x1) for i < 2, + 8 for i >= 2; col = g.
Coord isa_bf16_b(int lane, int i) {
    const int g = lane >> 2, t = lane % 4;
    return {i < 2 ? (t * 2) + (i & 0x1) : (t * 2) + (i & 0x1) + 8, g};
}

// Elements (low to high): element 2j sits in bits 15:0 of register j, element 2j+1 in 31:16.
uint32_t pack_bf16(uint16_t low, uint16_t high) { return uint32_t(low) | (uint32_t(high) << 16); }
uint16_t bf16_bits(float x) { return static_cast<uint16_t>(to_bits(x) >> 16); }  // x already bf16

struct Problem {
    int M, N, K;
    std::vector<float> A, B, C;  // A[m][k], B[k][n], C[m][n], row-major
};

Problem random_problem(int M, int N, int K, bool bf16) {
    Problem p{M, N, K, std::vector<float>(M * K), std::vector<float>(K * N), std::vector<float>(M * N)};
    for (float& v : p.A) v = bf16 ? ptx::round_bf16(spread_value()) : ptx::round_tf32(spread_value());
    for (float& v : p.B) v = bf16 ? ptx::round_bf16(spread_value()) : ptx::round_tf32(spread_value());
    for (float& v : p.C) v = spread_value();
    return p;
}

// D = A B + C in double, and for each element the largest term's magnitude and exponent.
struct Reference {
    std::vector<double> D, abs_sum, max_term;
};
Reference reference_gemm(const Problem& p) {
    Reference r{std::vector<double>(p.M * p.N), std::vector<double>(p.M * p.N), std::vector<double>(p.M * p.N)};
    for (int m = 0; m < p.M; ++m)
        for (int n = 0; n < p.N; ++n) {
            double s = p.C[m * p.N + n], a = std::fabs(s), big = a;
            for (int k = 0; k < p.K; ++k) {
                const double t = double(p.A[m * p.K + k]) * double(p.B[k * p.N + n]);
                s += t;
                a += std::fabs(t);
                big = std::max(big, std::fabs(t));
            }
            r.D[m * p.N + n] = s;
            r.abs_sum[m * p.N + n] = a;
            r.max_term[m * p.N + n] = big;
        }
    return r;
}

// Largest error of d against the reference, in units of the bound each mode promises:
// Exact: half an ulp of the result (the exact sum rounded once), plus the reference's own
// double rounding; Truncate: every term loses less than 2^(emax-23) in alignment, the final
// truncation less than an ulp of the result.
double worst_error(const std::vector<float>& d, const Reference& r, int K, Accumulation acc) {
    double worst = 0;
    for (size_t i = 0; i < d.size(); ++i) {
        const double err = std::fabs(double(d[i]) - r.D[i]);
        const double ref_err = (K + 1) * std::ldexp(r.abs_sum[i], -52);
        double bound;
        if (acc == Accumulation::Exact) {
            bound = std::ldexp(std::fabs(double(d[i])), -24) + ref_err;
        } else {
            const int emax = std::ilogb(r.max_term[i]);
            bound = (K + 1) * std::ldexp(1.0, emax - 23) + std::ldexp(std::fabs(double(d[i])), -23) + ref_err;
        }
        worst = std::max(worst, err / bound);
    }
    return worst;
}

// One m16n8k8 TF32 mma through the fragments of the ISA's table; `swap_lanes` scatters two
// lanes' A registers into each other's places (a deliberately wrong layout).
std::vector<float> run_tf32(const Problem& p, Accumulation acc, bool swap_lanes = false) {
    uint32_t a[32][4], b[32][2];
    float c[32][4], d[32][4];
    for (int lane = 0; lane < 32; ++lane) {
        const int src = swap_lanes && (lane == 0 || lane == 5) ? 5 - lane : lane;
        for (int i = 0; i < 4; ++i) {
            const Coord x = isa_tf32_a(src, i);
            a[lane][i] = to_bits(p.A[x.row * 8 + x.col]);
            const Coord y = isa_f32_c(lane, i);
            c[lane][i] = p.C[y.row * 8 + y.col];
        }
        for (int i = 0; i < 2; ++i) {
            const Coord kn = isa_tf32_b(lane, i);
            b[lane][i] = to_bits(p.B[kn.row * 8 + kn.col]);
        }
    }
    ptx::mma_m16n8k8_tf32(a, b, c, d, acc);
    std::vector<float> D(16 * 8, NAN);
    for (int lane = 0; lane < 32; ++lane)
        for (int i = 0; i < 4; ++i) {
            const Coord y = isa_f32_c(lane, i);
            D[y.row * 8 + y.col] = d[lane][i];
        }
    return D;
}

std::vector<float> run_bf16(const Problem& p, Accumulation acc) {
    uint32_t a[32][4], b[32][2];
    float c[32][4], d[32][4];
    for (int lane = 0; lane < 32; ++lane) {
        for (int j = 0; j < 4; ++j) {
            const Coord lo = isa_bf16_a(lane, 2 * j), hi = isa_bf16_a(lane, 2 * j + 1);
            a[lane][j] = pack_bf16(bf16_bits(p.A[lo.row * 16 + lo.col]), bf16_bits(p.A[hi.row * 16 + hi.col]));
            const Coord y = isa_f32_c(lane, j);
            c[lane][j] = p.C[y.row * 8 + y.col];
        }
        for (int j = 0; j < 2; ++j) {
            const Coord lo = isa_bf16_b(lane, 2 * j), hi = isa_bf16_b(lane, 2 * j + 1);
            b[lane][j] = pack_bf16(bf16_bits(p.B[lo.row * 8 + lo.col]), bf16_bits(p.B[hi.row * 8 + hi.col]));
        }
    }
    ptx::mma_m16n8k16_bf16(a, b, c, d, acc);
    std::vector<float> D(16 * 8, NAN);
    for (int lane = 0; lane < 32; ++lane)
        for (int i = 0; i < 4; ++i) {
            const Coord y = isa_f32_c(lane, i);
            D[y.row * 8 + y.col] = d[lane][i];
        }
    return D;
}

}  // namespace

TEST_CASE("cvt.rna.tf32.f32: nearest, ties away from zero, 10 mantissa bits") {
    struct Case {
        uint32_t in, out;
    };
    const Case cases[] = {
        {0x3f800000u, 0x3f800000u},  // 1.0 is a tf32
        {0x3f801000u, 0x3f802000u},  // exactly half an ulp: away from zero (even would stay)
        {0x3f800fffu, 0x3f800000u},  // below half: down
        {0x3f801001u, 0x3f802000u},  // above half: up
        {0x3f803000u, 0x3f804000u},  // half, odd last bit: up as well
        {0xbf801000u, 0xbf802000u},  // negative tie: away from zero, i.e. more negative
        {0xbf800fffu, 0xbf800000u},
        {0x3ffff000u, 0x40000000u},  // carry into the exponent: 2.0
        {0x7f7fefffu, 0x7f7fe000u},  // largest tf32 stays
        {0x7f7ff000u, 0x7f800000u},  // half an ulp above the largest tf32: overflows to Inf
        {0x7f7fffffu, 0x7f800000u},  // FLT_MAX rounds to Inf (nearest, no .satfinite)
        {0xff7fffffu, 0xff800000u},
        {0x7f800000u, 0x7f800000u},  // Inf
        {0xff800000u, 0xff800000u},
        {0x00000000u, 0x00000000u},  // zeros keep their sign
        {0x80000000u, 0x80000000u},
        {0x00001000u, 0x00002000u},  // subnormals round on the same grid, no flush
        {0x00000fffu, 0x00000000u},
        {0x007ff000u, 0x00800000u},  // largest subnormals round up into the smallest normal
    };
    for (const Case& c : cases) {
        INFO(std::hex << "in 0x" << c.in);
        CHECK(ptx::cvt_rna_tf32(from_bits(c.in)) == c.out);
        CHECK(ptx::is_tf32(ptx::cvt_rna_tf32(from_bits(c.in))));
    }
    // NaN stays NaN, even when its payload lies only in the 13 bits that are cleared.
    for (uint32_t nan : {0x7fc00000u, 0x7f800001u, 0xff800001u, 0x7fffffffu}) {
        INFO(std::hex << "in 0x" << nan);
        const uint32_t r = ptx::cvt_rna_tf32(from_bits(nan));
        CHECK(std::isnan(from_bits(r)));
        CHECK(ptx::is_tf32(r));
        CHECK((r >> 31) == (nan >> 31));
    }
    // Against a plain definition on random floats: the nearer of the two neighbouring tf32s,
    // the one of larger magnitude on a tie.
    std::uniform_int_distribution<uint32_t> any;
    for (int n = 0; n < 100000; ++n) {
        uint32_t u = any(gen());
        if ((u & 0x7f800000u) == 0x7f800000u) continue;  // Inf/NaN: covered above
        const float x = from_bits(u);
        // The two tf32 magnitudes around |x|: toward zero and the next one up (2^128 past the
        // largest), compared by distance in double.
        const uint32_t down = u & 0x7fffe000u;
        const double lo = from_bits(down);
        const double up = down + 0x2000u == 0x7f800000u ? std::ldexp(1.0, 128) : double(from_bits(down + 0x2000u));
        const double mag = std::fabs(double(x));
        const double expect_mag = (up - mag) <= (mag - lo) ? up : lo;
        const float got = from_bits(ptx::cvt_rna_tf32(x));
        INFO(std::hex << "in 0x" << u);
        if (expect_mag > FLT_MAX)
            CHECK(std::isinf(got));
        else
            CHECK(double(std::fabs(got)) == expect_mag);
        CHECK(std::signbit(got) == std::signbit(x));
    }
}

TEST_CASE("cvt.rn.bf16.f32 and .bf16x2: nearest, ties to even") {
    struct Case {
        uint32_t in;
        uint16_t out;
    };
    const Case cases[] = {
        {0x3f800000u, 0x3f80},  // 1.0
        {0x3f808000u, 0x3f80},  // tie, even last bit: stays
        {0x3f818000u, 0x3f82},  // tie, odd last bit: up to even
        {0x3f808001u, 0x3f81},  // above half
        {0x3f807fffu, 0x3f80},  // below half
        {0xbf818000u, 0xbf82},  // negative tie to even
        {0x7f7f7fffu, 0x7f7f},  // largest bf16 stays
        {0x7f7fffffu, 0x7f80},  // FLT_MAX rounds to Inf
        {0x7f800000u, 0x7f80},
        {0xff800000u, 0xff80},
        {0x80000000u, 0x8000},
        {0x00008000u, 0x0000},  // subnormal tie to even (0)
        {0x00018000u, 0x0002},
    };
    for (const Case& c : cases) {
        INFO(std::hex << "in 0x" << c.in);
        CHECK(ptx::cvt_rn_bf16(from_bits(c.in)) == c.out);
    }
    for (uint32_t nan : {0x7fc00000u, 0x7f800001u, 0xff800001u, 0x7f80ffffu}) {
        INFO(std::hex << "in 0x" << nan);
        CHECK(std::isnan(ptx::bf16_float(ptx::cvt_rn_bf16(from_bits(nan)))));
    }
    // .bf16x2: d[31:16] from a, d[15:0] from b.
    CHECK(ptx::cvt_rn_bf16x2(1.0f, 2.0f) == 0x3f804000u);
    CHECK(ptx::cvt_rn_bf16x2(-0.0f, 0x1.01p0f) == 0x80003f80u);  // 1 + 2^-8 is a tie: to even
    // Against the nearest-even definition on random floats.
    std::uniform_int_distribution<uint32_t> any;
    for (int n = 0; n < 100000; ++n) {
        const uint32_t u = any(gen());
        if ((u & 0x7f800000u) == 0x7f800000u) continue;
        const uint32_t down = u & 0xffff0000u, up = down + 0x10000u;
        const uint32_t rest = u & 0xffffu;
        const uint32_t expect = rest < 0x8000u ? down : rest > 0x8000u ? up : ((down >> 16) & 1u) ? up : down;
        INFO(std::hex << "in 0x" << u);
        CHECK(ptx::cvt_rn_bf16(from_bits(u)) == (expect >> 16));
    }
}

TEST_CASE("Exact accumulation is exact where a double sum is not") {
    // 2^100 - 2^100 + 2^-40 + 1: a double sum in this order loses the 1.
    const double cancel[] = {std::ldexp(1.0, 100), -std::ldexp(1.0, 100), std::ldexp(1.0, -40)};
    CHECK(ptx::accumulate(cancel, 3, 1.0f, Accumulation::Exact) == 1.0f);
    // 1 + 2^-24 + 2^-60: above the midpoint between 1 and 1 + 2^-23, so it rounds up; the
    // double sum is exactly the midpoint and a second rounding would go to even (1).
    const double twice[] = {std::ldexp(1.0, -24), std::ldexp(1.0, -60)};
    CHECK(ptx::accumulate(twice, 2, 1.0f, Accumulation::Exact) == 0x1.000002p0f);
    const double tie[] = {std::ldexp(1.0, -24)};
    CHECK(ptx::accumulate(tie, 1, 1.0f, Accumulation::Exact) == 1.0f);  // a true tie: to even
    // Results in the subnormal range and at the overflow threshold.
    const double tiny[] = {std::ldexp(1.0, -149) * 0.75};
    CHECK(ptx::accumulate(tiny, 1, 0.0f, Accumulation::Exact) == std::ldexp(1.0f, -149));
    const double huge[] = {std::ldexp(1.0, 127), std::ldexp(1.0, 127)};
    CHECK(std::isinf(ptx::accumulate(huge, 2, 0.0f, Accumulation::Exact)));
    // FLT_MAX's ulp is 2^104: a quarter ulp above rounds back, half an ulp above is a tie that
    // goes to the even neighbour 2^128, i.e. overflows.
    const double quarter[] = {double(FLT_MAX), std::ldexp(1.0, 102)};
    CHECK(ptx::accumulate(quarter, 2, 0.0f, Accumulation::Exact) == FLT_MAX);
    const double half[] = {double(FLT_MAX), std::ldexp(1.0, 103)};
    CHECK(std::isinf(ptx::accumulate(half, 2, 0.0f, Accumulation::Exact)));
    CHECK(ptx::accumulate(half, 2, 0.0f, Accumulation::Truncate) == FLT_MAX);
}

TEST_CASE("Exact accumulation: the double fast path agrees with the wide accumulator") {
    // Terms that are products of two tf32 values plus an fp32 c, with exponents close together
    // (the fast path) and far apart (the accumulator), compared bit for bit.
    std::uniform_int_distribution<int> n_terms(1, 16), narrow(-4, 4), wide(-140, 120), coin(0, 1);
    std::normal_distribution<float> normal;
    int fast = 0;
    for (int trial = 0; trial < 20000; ++trial) {
        const bool spread = coin(gen());
        const int n = n_terms(gen());
        double terms[17];
        for (int i = 0; i < n; ++i) {
            const float a = ptx::round_tf32(std::ldexp(normal(gen()), spread ? wide(gen()) : narrow(gen())));
            const float b = ptx::round_tf32(std::ldexp(normal(gen()), spread ? wide(gen()) / 2 : narrow(gen())));
            terms[i] = double(a) * double(b);
        }
        terms[n] = std::ldexp(normal(gen()), spread ? wide(gen()) : narrow(gen()));  // c
        int nonzero = 0;
        for (int i = 0; i <= n; ++i)
            if (terms[i] != 0 && std::isfinite(terms[i])) terms[nonzero++] = terms[i];
        if (nonzero == 0) continue;
        const float via_fast = ptx::detail::exact_sum(terms, nonzero);
        const float via_wide = ptx::detail::exact_sum_wide(terms, nonzero);
        INFO("trial " << trial << ": " << via_fast << " vs " << via_wide);
        CHECK(to_bits(via_fast) == to_bits(via_wide));
        fast += !spread;
    }
    CHECK(fast > 5000);
}

TEST_CASE("Special values in the accumulation") {
    const float inf = INFINITY;
    for (Accumulation acc : {Accumulation::Exact, Accumulation::Truncate}) {
        const double nan_term[] = {1.0, double(NAN)};
        CHECK(std::isnan(ptx::accumulate(nan_term, 2, 1.0f, acc)));
        CHECK(std::isnan(ptx::accumulate(nan_term, 1, NAN, acc)));
        const double inf_times_zero[] = {double(inf) * 0.0};
        CHECK(std::isnan(ptx::accumulate(inf_times_zero, 1, 1.0f, acc)));
        const double opposite[] = {double(inf), -double(inf)};
        CHECK(std::isnan(ptx::accumulate(opposite, 2, 1.0f, acc)));
        const double plus_inf[] = {double(inf), 1.0};
        CHECK(ptx::accumulate(plus_inf, 2, 1.0f, acc) == inf);
        CHECK(std::isnan(ptx::accumulate(plus_inf, 2, -inf, acc)));
        const double zeros[] = {-0.0, -0.0};
        CHECK(std::signbit(ptx::accumulate(zeros, 2, -0.0f, acc)));
        CHECK(!std::signbit(ptx::accumulate(zeros, 2, 0.0f, acc)));
        const double cancels[] = {1.0, -1.0};
        CHECK(!std::signbit(ptx::accumulate(cancels, 2, -0.0f, acc)));
    }
}

TEST_CASE("Truncate and Exact differ where the adder drops aligned-out bits") {
    // c = 1 and products 2^-24 and 2^-25 (tf32 values 2^-12 * 2^-12 and 2^-12 * 2^-13).
    // Exact: 1 + 0.75 ulp rounds to 1 + 2^-23. Truncate: both products lie below the 24-bit
    // window of c (2^-23) and are dropped: 1.
    const double products[] = {std::ldexp(1.0, -24), std::ldexp(1.0, -25)};
    CHECK(ptx::accumulate(products, 2, 1.0f, Accumulation::Exact) == 0x1.000002p0f);
    CHECK(ptx::accumulate(products, 2, 1.0f, Accumulation::Truncate) == 1.0f);
    // The normalisation truncates too: c = 1 + 3 * 2^-23 and product 1 + 2^-10 align without
    // loss (both within c's window), but their sum 2 + 2^-10 + 1.5 * 2^-22 needs one bit more
    // than fp32 has at 2: Exact rounds the 1.5 ulp to even (+ 2^-21), Truncate drops it
    // (+ 2^-22).
    const double one_product[] = {1.0 + std::ldexp(1.0, -10)};
    const float c = 1.0f + 3 * std::ldexp(1.0f, -23);
    CHECK(ptx::accumulate(one_product, 1, c, Accumulation::Exact) == 2.0f + std::ldexp(1.0f, -10) + std::ldexp(1.0f, -21));
    CHECK(ptx::accumulate(one_product, 1, c, Accumulation::Truncate) == 2.0f + std::ldexp(1.0f, -10) + std::ldexp(1.0f, -22));
    // Alignment: with c = 2 the window ends at 2^-22; 2^-23 falls out of it.
    const double more[] = {std::ldexp(1.0, -22), std::ldexp(1.0, -23)};
    CHECK(ptx::accumulate(more, 2, 2.0f, Accumulation::Exact) == 2.0f + std::ldexp(1.0f, -21));
    CHECK(ptx::accumulate(more, 2, 2.0f, Accumulation::Truncate) == 2.0f + std::ldexp(1.0f, -22));
    // Alignment drops each term on its own, before the addition: four products of 2^-25 add
    // up to a full 2^-23 but each falls below c's window (a model that truncated only the
    // final sum would give 1 + 2^-23, like Exact).
    const double quarters[] = {std::ldexp(1.0, -25), std::ldexp(1.0, -25), std::ldexp(1.0, -25), std::ldexp(1.0, -25)};
    CHECK(ptx::accumulate(quarters, 4, 1.0f, Accumulation::Exact) == 0x1.000002p0f);
    CHECK(ptx::accumulate(quarters, 4, 1.0f, Accumulation::Truncate) == 1.0f);
    // The window is 24 bits wide: with c = 1, 2^-23 is in it (above), 2^-24 is not.
    const double halves[] = {std::ldexp(1.0, -24), std::ldexp(1.0, -24)};
    CHECK(ptx::accumulate(halves, 2, 1.0f, Accumulation::Exact) == 0x1.000002p0f);
    CHECK(ptx::accumulate(halves, 2, 1.0f, Accumulation::Truncate) == 1.0f);
    const double ulps[] = {std::ldexp(1.0, -23), std::ldexp(1.0, -23)};
    CHECK(ptx::accumulate(ulps, 2, 1.0f, Accumulation::Truncate) == 0x1.000004p0f);
    // A negative term truncates toward zero in alignment too: 1 - 2^-25 becomes 1 (truncating
    // only the sum would give the float below 1, 1 - 2^-24; Exact ties to even, 1).
    const double negative[] = {-std::ldexp(1.0, -25)};
    CHECK(ptx::accumulate(negative, 1, 1.0f, Accumulation::Truncate) == 1.0f);
    CHECK(ptx::accumulate(negative, 1, 1.0f, Accumulation::Exact) == 1.0f);
    const double negative_big[] = {-std::ldexp(1.0, -23), -std::ldexp(1.0, -25)};  // 1 - 2^-23 - 2^-25
    CHECK(ptx::accumulate(negative_big, 2, 1.0f, Accumulation::Truncate) == 1.0f - std::ldexp(1.0f, -23));
    CHECK(ptx::accumulate(negative_big, 2, 1.0f, Accumulation::Exact) == 1.0f - std::ldexp(1.0f, -23));
    // And through the warp-level mma: row 0 of A = (2^-12, 2^-12, 0...), column 0 of B =
    // (2^-12, 2^-13, 0...), C = 1: D[0][0] differs between the modes.
    Problem p{16, 8, 8, std::vector<float>(16 * 8, 0.0f), std::vector<float>(8 * 8, 0.0f), std::vector<float>(16 * 8, 1.0f)};
    p.A[0] = p.A[1] = std::ldexp(1.0f, -12);
    p.B[0 * 8 + 0] = std::ldexp(1.0f, -12);
    p.B[1 * 8 + 0] = std::ldexp(1.0f, -13);
    CHECK(run_tf32(p, Accumulation::Exact)[0] == 0x1.000002p0f);
    CHECK(run_tf32(p, Accumulation::Truncate)[0] == 1.0f);
}

TEST_CASE("mma.m16n8k8 tf32 through the ISA's fragment table against a double GEMM") {
    for (int trial = 0; trial < 50; ++trial) {
        const Problem p = random_problem(16, 8, 8, false);
        const Reference r = reference_gemm(p);
        for (Accumulation acc : {Accumulation::Exact, Accumulation::Truncate}) {
            INFO("trial " << trial << (acc == Accumulation::Exact ? " exact" : " truncate"));
            const std::vector<float> d = run_tf32(p, acc);
            CHECK(worst_error(d, r, 8, acc) <= 1.0);
        }
    }
}

TEST_CASE("mma.m16n8k8 tf32 ignores the low 13 bits of its operands") {
    const Problem p = random_problem(16, 8, 8, false);
    Problem dirty = p;
    for (float& v : dirty.A) v = from_bits(to_bits(v) | 0x1555u);
    for (float& v : dirty.B) v = from_bits(to_bits(v) | 0x0aaau);
    CHECK(run_tf32(dirty, Accumulation::Exact) == run_tf32(p, Accumulation::Exact));
}

TEST_CASE("A wrong fragment layout fails the comparison") {
    // The check above must be able to fail: two lanes' A registers exchanged.
    const Problem p = random_problem(16, 8, 8, false);
    const Reference r = reference_gemm(p);
    CHECK(worst_error(run_tf32(p, Accumulation::Exact, true), r, 8, Accumulation::Exact) > 1e3);
}

TEST_CASE("mma.m16n8k16 bf16 through the ISA's fragment table against a double GEMM") {
    for (int trial = 0; trial < 50; ++trial) {
        const Problem p = random_problem(16, 8, 16, true);
        const Reference r = reference_gemm(p);
        for (Accumulation acc : {Accumulation::Exact, Accumulation::Truncate}) {
            INFO("trial " << trial << (acc == Accumulation::Exact ? " exact" : " truncate"));
            CHECK(worst_error(run_bf16(p, acc), r, 16, acc) <= 1.0);
        }
    }
}

namespace {

// Four 8x8 b16 matrices in a padded buffer, rows in a scrambled order so that each lane's own
// address matters. value(m, r, c) is unique.
struct Matrices {
    static constexpr int kStride = 24;  // b16 elements per stored row (16 bytes data + padding)
    alignas(16) uint16_t storage[32 * kStride];
    const void* rows[32];
    static uint16_t value(int m, int r, int c) { return static_cast<uint16_t>(0x1000 * (m + 1) + 16 * r + c); }
    Matrices() {
        std::memset(storage, 0xee, sizeof storage);
        for (int m = 0; m < 4; ++m)
            for (int r = 0; r < 8; ++r) {
                const int slot = (m * 8 + r) * 13 % 32;  // 13 is coprime to 32: a permutation
                for (int c = 0; c < 8; ++c) storage[slot * kStride + c] = value(m, r, c);
                rows[m * 8 + r] = &storage[slot * kStride];
            }
    }
};

}  // namespace

TEST_CASE("ldmatrix m8n8 x1/x2/x4 and .trans against the ISA's description") {
    // "Each thread in a warp loads fragments of a row, with thread 0 receiving the first
    // fragment in its register r, and so on. A group of four threads loads an entire row":
    // counting the 64 elements of a matrix row by row, lane l receives elements 2l (bits 15:0)
    // and 2l + 1 (bits 31:16). .trans loads the matrix column-major: the same counting runs
    // over the transpose.
    const Matrices mats;
    for (int num : {1, 2, 4})
        for (bool trans : {false, true}) {
            INFO("x" << num << (trans ? ".trans" : ""));
            const void* rows[32] = {};
            for (int l = 0; l < 8 * num; ++l) rows[l] = mats.rows[l];  // higher lanes: unused
            uint32_t out[32][4];
            std::memset(out, 0, sizeof out);
            ptx::ldmatrix_m8n8_b16(rows, num, trans, out);
            int mismatches = 0;
            for (int l = 0; l < 32; ++l)
                for (int m = 0; m < num; ++m)
                    for (int h = 0; h < 2; ++h) {
                        const int e = 2 * l + h, r = e / 8, c = e % 8;
                        const uint16_t expect = trans ? Matrices::value(m, c, r) : Matrices::value(m, r, c);
                        mismatches += static_cast<uint16_t>(out[l][m] >> (16 * h)) != expect;
                    }
            CHECK(mismatches == 0);
        }
}

TEST_CASE("ldmatrix feeding mma m16n8k16 bf16 reproduces the GEMM") {
    // The usual pairing: A (16x16, row-major in memory) through ldmatrix.x4 with lane l
    // addressing row l % 16 at column 8 (l / 16); B stored k-major (16x8, row-major [k][n])
    // through ldmatrix.x2.trans with lane l addressing row k = l % 16.
    const Problem p = random_problem(16, 8, 16, true);
    alignas(16) uint16_t As[16][16], Bs[16][8];
    for (int m = 0; m < 16; ++m)
        for (int k = 0; k < 16; ++k) As[m][k] = bf16_bits(p.A[m * 16 + k]);
    for (int k = 0; k < 16; ++k)
        for (int n = 0; n < 8; ++n) Bs[k][n] = bf16_bits(p.B[k * 8 + n]);
    const void* arows[32];
    const void* brows[32] = {};
    for (int l = 0; l < 32; ++l) arows[l] = &As[l % 16][8 * (l / 16)];
    for (int l = 0; l < 16; ++l) brows[l] = &Bs[l][0];
    uint32_t a[32][4], bx[32][4], b[32][2];
    ptx::ldmatrix_m8n8_b16(arows, 4, false, a);
    ptx::ldmatrix_m8n8_b16(brows, 2, true, bx);
    float c[32][4], d[32][4];
    for (int l = 0; l < 32; ++l) {
        b[l][0] = bx[l][0];
        b[l][1] = bx[l][1];
        for (int i = 0; i < 4; ++i) {
            const Coord y = isa_f32_c(l, i);
            c[l][i] = p.C[y.row * 8 + y.col];
        }
    }
    ptx::mma_m16n8k16_bf16(a, b, c, d, Accumulation::Exact);
    std::vector<float> D(16 * 8, NAN);
    for (int l = 0; l < 32; ++l)
        for (int i = 0; i < 4; ++i) {
            const Coord y = isa_f32_c(l, i);
            D[y.row * 8 + y.col] = d[l][i];
        }
    CHECK(worst_error(D, reference_gemm(p), 16, Accumulation::Exact) <= 1.0);
}
