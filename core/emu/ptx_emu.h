// The arithmetic of the PTX instructions that kernels/cuda/ptx.cuh wraps, as plain C++ over
// whole-warp arrays (index = lane), for the CPU execution mode. No CUDA and no emulator runtime
// needed: tests/test_emu_ptx.cpp checks these functions against plain loops, and ptx.cuh's
// emulated bodies gather a warp's registers (ganops_emu::warp_collective) and call them.
//
// Sources, PTX ISA (docs.nvidia.com/cuda/parallel-thread-execution), 9.x:
//   9.7.14.5.7  Matrix Fragments for mma.m16n8k8 (.tf32 A, B; .f32 C/D)
//   9.7.14.5.8  Matrix Fragments for mma.m16n8k16 with floating point type (.bf16 A, B; .f32 C/D)
//   9.7.14.5.15 Warp-level matrix load instruction: ldmatrix (.m8n8 .b16, .x1/.x2/.x4, .trans)
//   9.7.9.21    cvt (.rna.tf32.f32; .rn.bf16.f32; .rn.bf16x2.f32 puts a in d[31:16], b in d[15:0])
// The notation below is the ISA's: groupID = lane >> 2, threadID_in_group = lane % 4.
#pragma once
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace ganops_emu::ptx {

// ---------------------------------------------------------------------------------------------
// Conversions
// ---------------------------------------------------------------------------------------------
inline uint32_t float_bits(float x) { return std::bit_cast<uint32_t>(x); }
inline float bits_float(uint32_t u) { return std::bit_cast<float>(u); }

// cvt.rna.tf32.f32: round to 10 stored mantissa bits, to nearest, ties away from zero; the
// result is a .b32 whose low 13 bits are zero. Adding 0x1000 to the magnitude bits rounds half
// away (a carry out of the mantissa moves into the exponent, which is exactly the next binade;
// out of the largest binade it gives 0x7f800000, +-Inf, as round-to-nearest overflow should).
// Inf stays Inf. NaN stays NaN (quiet, sign kept): clearing the low 13 bits alone could turn a
// NaN whose payload sits in those bits into Inf. Subnormals round like normals (no flush).
inline uint32_t cvt_rna_tf32(float x) {
    const uint32_t u = float_bits(x);
    const uint32_t sign = u & 0x80000000u, mag = u & 0x7fffffffu;
    if (mag > 0x7f800000u) return (u & 0xffffe000u) | 0x00400000u;  // NaN
    if (mag == 0x7f800000u) return u;                               // +-Inf
    return sign | ((mag + 0x1000u) & 0xffffe000u);
}
inline float round_tf32(float x) { return bits_float(cvt_rna_tf32(x)); }
inline bool is_tf32(uint32_t bits) { return (bits & 0x1fffu) == 0; }

// cvt.rn.bf16.f32: the high 16 bits of the float rounded to nearest, ties to even. Overflow
// rounds to +-Inf; NaN stays NaN (quiet, sign kept).
inline uint16_t cvt_rn_bf16(float x) {
    const uint32_t u = float_bits(x);
    if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x0040u);
    const uint32_t lsb = (u >> 16) & 1u;
    return static_cast<uint16_t>((u + 0x7fffu + lsb) >> 16);
}
// cvt.rn.bf16x2.f32 d, a, b: d[31:16] = bf16(a), d[15:0] = bf16(b) (PTX ISA, cvt semantics).
// Note the order: an mma fragment register holds its lower-numbered element in the low half,
// so packing elements (e0, e1) is cvt_rn_bf16x2(e1, e0).
inline uint32_t cvt_rn_bf16x2(float a, float b) {
    return (uint32_t(cvt_rn_bf16(a)) << 16) | cvt_rn_bf16(b);
}
inline float bf16_float(uint16_t h) { return bits_float(uint32_t(h) << 16); }
inline float round_bf16(float x) { return bf16_float(cvt_rn_bf16(x)); }

// ---------------------------------------------------------------------------------------------
// Dot products as the tensor core's adder might do them
// ---------------------------------------------------------------------------------------------
// How an emulated mma adds c and its k products (ganops_emu::MmaRounding picks one; this enum
// mirrors it so that this header stands alone).
//
// Exact: d = fl(c + sum_k a_k b_k), the exact sum rounded once to fp32, nearest-even. The
//   products of two TF32 (11-bit significands) or BF16 (8-bit) values are exact in double, but
//   their sum is not: with exponents from 2^-272 to 2^256 a double (53 bits) or long double
//   (64 bits) loses bits of the smaller terms, and rounding a rounded sum again to fp32 is a
//   double rounding. When all terms lie within 45 bits of each other (lowest set bit to
//   highest), the double additions are exact and the one conversion to float is the single
//   rounding; otherwise the terms go into a 640-bit fixed-point accumulator (bit 0 = 2^-320:
//   every product of two floats is a multiple of 2^-298, c of 2^-149; |sum| < 2^261), which
//   holds the sum exactly, and that is rounded once.
// Truncate: a model of the truncating multi-operand adder that Fasi, Higham, Mikaitis and
//   Pranesh (PeerJ CS 7:e330, 2021) measured on V100/T4/A100: the products are exact; every
//   term (products and c) is aligned to the largest exponent among them and the bits below
//   the 24-bit window of that term (weight < 2^(emax-23)) are dropped, magnitude truncated;
//   the aligned terms are added exactly (carries never lost); the sum is normalised to 24 bits
//   with truncation (round toward zero). All k products and c go through one such addition.
//   (The aligned terms span at most 31 bits, so doubles add them exactly.)
//   This is a model with the published features, not a bit-exact copy of any one GPU (the
//   block size of the fused addition and extra carry/guard bits differ between generations;
//   Khattak and Mikaitis 2025 give bit-accurate models). Overflow beyond the fp32 range gives
//   +-Inf in both modes.
// Special values in both modes follow IEEE: a NaN operand or Inf * 0 gives NaN, Inf + -Inf
// gives NaN, otherwise an Inf term gives that Inf. Subnormal operands and results are kept (no
// flush to zero). NaN results are the canonical 0x7fffffff. An exactly zero sum is +0 unless
// every term is -0.
enum class Accumulation { Exact, Truncate };

namespace detail {

// Unsigned fixed point: bit i has weight 2^(i - kBias).
struct Wide {
    static constexpr int kLimbs = 10;
    static constexpr int kBits = 64 * kLimbs;
    static constexpr int kBias = 320;
    uint64_t limb[kLimbs] = {};

    // += m * 2^(pos - kBias)
    void add(uint64_t m, int pos) {
        if (m == 0) return;
        int li = pos / 64;
        const int sh = pos % 64;
        uint64_t lo = m << sh, hi = sh ? m >> (64 - sh) : 0;
        for (uint64_t carry = 0; li < kLimbs && (lo || hi || carry); ++li) {
            const uint64_t before = limb[li];
            uint64_t s = before + lo;
            uint64_t c1 = s < before;
            const uint64_t s2 = s + carry;
            c1 += s2 < s;
            limb[li] = s2;
            carry = c1;
            lo = hi;
            hi = 0;
        }
    }
    int compare(const Wide& o) const {
        for (int i = kLimbs - 1; i >= 0; --i)
            if (limb[i] != o.limb[i]) return limb[i] < o.limb[i] ? -1 : 1;
        return 0;
    }
    void subtract(const Wide& o) {  // requires *this >= o
        uint64_t borrow = 0;
        for (int i = 0; i < kLimbs; ++i) {
            const uint64_t a = limb[i], b = o.limb[i];
            const uint64_t d = a - b - borrow;
            borrow = (a < b) || (a - b < borrow);
            limb[i] = d;
        }
    }
    int top_bit() const {  // -1 when zero
        for (int i = kLimbs - 1; i >= 0; --i)
            if (limb[i]) return 64 * i + 63 - std::countl_zero(limb[i]);
        return -1;
    }
    bool bit(int i) const { return i >= 0 && i < kBits && ((limb[i / 64] >> (i % 64)) & 1u); }
    bool any_below(int i) const {  // any set bit with index < i
        if (i <= 0) return false;
        const int full = std::min(i / 64, kLimbs);
        for (int l = 0; l < full; ++l)
            if (limb[l]) return true;
        if (full < kLimbs && i % 64) return (limb[full] & ((uint64_t(1) << (i % 64)) - 1)) != 0;
        return false;
    }
    uint64_t bits(int lo, int hi) const {  // bits [lo, hi] as an integer; hi - lo < 64
        uint64_t r = 0;
        for (int i = hi; i >= lo; --i) r = (r << 1) | (i >= 0 && bit(i) ? 1u : 0u);
        return r;
    }
};

// Exponents of the leading and of the lowest set bit of a finite non-zero double.
struct Span {
    int top, low;
};
inline Span span(double x) {
    const uint64_t u = std::bit_cast<uint64_t>(x);
    const int biased = static_cast<int>((u >> 52) & 0x7ff);
    uint64_t m = u & ((uint64_t(1) << 52) - 1);
    if (biased == 0) return {-1074 + 63 - std::countl_zero(m), -1074 + std::countr_zero(m)};  // subnormal
    m |= uint64_t(1) << 52;
    const int top = biased - 1023;
    return {top, top - 52 + std::countr_zero(m)};
}

// The exact sum of n finite non-zero terms (n <= 65), rounded once to fp32, nearest-even,
// through the 640-bit accumulator. Terms must be multiples of 2^-320 below 2^300 (products of
// two floats and floats are).
inline float exact_sum_wide(const double* terms, int n) {
    Wide plus, minus;
    for (int i = 0; i < n; ++i) {
        const Span e = span(terms[i]);
        const uint64_t u = std::bit_cast<uint64_t>(terms[i]);
        uint64_t m = (u & ((uint64_t(1) << 52) - 1)) | (((u >> 52) & 0x7ff) ? uint64_t(1) << 52 : 0);
        m >>= std::countr_zero(m);  // odd: m * 2^low
        (std::signbit(terms[i]) ? minus : plus).add(m, e.low + Wide::kBias);
    }
    const int order = plus.compare(minus);
    if (order == 0) return 0.0f;
    Wide& big = order > 0 ? plus : minus;
    big.subtract(order > 0 ? minus : plus);
    const int p = big.top_bit();
    const int q = std::max(p - 23, Wide::kBias - 149);  // the result's last bit (2^-149 at least)
    uint64_t m = p >= q ? big.bits(q, p) : 0;
    if (big.bit(q - 1) && (big.any_below(q - 1) || (m & 1u))) ++m;  // nearest, ties to even
    float r = 0.0f;
    if (m) {
        const int exponent = q - Wide::kBias;  // r = m * 2^exponent
        r = exponent + 63 - std::countl_zero(m) > 127 ? std::numeric_limits<float>::infinity()
                                                      : std::ldexp(static_cast<float>(m), exponent);
    }
    return order < 0 ? -r : r;
}

// Exact: when every term lies on the grid 2^low and the sum stays below 2^(low + 53), the
// double additions are exact and the one conversion to float rounds once (nearest-even, also
// into the subnormal range): the usual case, ~50x faster than the accumulator.
inline float exact_sum(const double* terms, int n) {
    int top = std::numeric_limits<int>::min(), low = std::numeric_limits<int>::max();
    for (int i = 0; i < n; ++i) {
        const Span e = span(terms[i]);
        top = std::max(top, e.top);
        low = std::min(low, e.low);
    }
    // |sum| < n * 2^(top + 1) <= 2^(top + 8) for n <= 65
    if (top + 8 - low <= 53) {
        double s = 0;
        for (int i = 0; i < n; ++i) s += terms[i];
        if (std::fabs(s) <= double(std::numeric_limits<float>::max())) return static_cast<float>(s);
    }
    return exact_sum_wide(terms, n);
}

// Truncate: every term cut to the grid 2^(emax - 23) toward zero, then added; the cut terms
// are multiples of that grid below 2^(emax + 8) in sum, so the double additions are exact.
// The sum is then truncated to fp32 (toward zero); 2^128 or more in magnitude is Inf.
inline float truncated_sum(const double* terms, int n) {
    int emax = std::numeric_limits<int>::min();
    for (int i = 0; i < n; ++i) emax = std::max(emax, span(terms[i]).top);
    // Scaled by 2^-cut every term is below 2^24 in magnitude: an integer conversion truncates
    // it toward zero. The scalings are exact (powers of two well inside double's range).
    const int cut = emax - 23;
    const double down = std::bit_cast<double>(uint64_t(1023 - cut) << 52), up = std::bit_cast<double>(uint64_t(1023 + cut) << 52);
    double s = 0;
    for (int i = 0; i < n; ++i) s += static_cast<double>(static_cast<int64_t>(terms[i] * down)) * up;
    if (std::fabs(s) >= std::ldexp(1.0, 128)) return std::copysign(std::numeric_limits<float>::infinity(), s);
    float f = static_cast<float>(std::fabs(s) > double(std::numeric_limits<float>::max())
                                     ? std::copysign(double(std::numeric_limits<float>::max()), s)
                                     : s);
    if (std::fabs(double(f)) > std::fabs(s)) f = std::nextafter(f, 0.0f);  // rounded away: step back
    return f;
}

}  // namespace detail

// c + sum of n exact terms (each must be a product of two floats, or a float), rounded to fp32
// as `acc` says. n <= 64.
inline float accumulate(const double* terms, int n, float c, Accumulation acc) {
    constexpr float kNaN = std::bit_cast<float>(0x7fffffffu);
    double all[65];
    int count = 0;
    bool pos_inf = false, neg_inf = false, all_negative_zero = std::signbit(c) && c == 0.0f;
    if (std::isnan(c)) return kNaN;
    if (std::isinf(c)) (c > 0 ? pos_inf : neg_inf) = true;
    else if (c != 0.0f) all[count++] = c;
    for (int i = 0; i < n; ++i) {
        const double t = terms[i];
        if (std::isnan(t)) return kNaN;
        if (std::isinf(t)) (t > 0 ? pos_inf : neg_inf) = true;
        else if (t != 0.0) all[count++] = t;
        if (!(t == 0.0 && std::signbit(t))) all_negative_zero = false;
    }
    if (pos_inf && neg_inf) return kNaN;
    if (pos_inf) return std::numeric_limits<float>::infinity();
    if (neg_inf) return -std::numeric_limits<float>::infinity();
    if (count == 0) return all_negative_zero ? -0.0f : 0.0f;
    return acc == Accumulation::Exact ? detail::exact_sum(all, count) : detail::truncated_sum(all, count);
}

// ---------------------------------------------------------------------------------------------
// mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 (PTX ISA 9.7.14.5.7)
//   A (16x8, row):  a0 (g, t)  a1 (g+8, t)  a2 (g, t+4)  a3 (g+8, t+4)
//   B (8x8, col):   b0 (k=t, n=g)  b1 (k=t+4, n=g)
//   C/D (16x8):     c0 (g, 2t)  c1 (g, 2t+1)  c2 (g+8, 2t)  c3 (g+8, 2t+1)
// with g = groupID, t = threadID_in_group. The tensor core reads the top 19 bits of each .tf32
// register (sign, exponent, 10 mantissa bits): the low 13 bits are ignored here (ptx.cuh's
// check mode reports them instead when GANOPS_EMU_CHECK_TF32=1).
// ---------------------------------------------------------------------------------------------
struct RowCol {
    int row, col;
};
constexpr RowCol m16n8k8_tf32_a(int lane, int i) { return {lane / 4 + 8 * (i & 1), lane % 4 + 4 * (i >> 1)}; }
constexpr RowCol m16n8k8_tf32_b(int lane, int i) { return {lane % 4 + 4 * i, lane / 4}; }  // {k, n}
constexpr RowCol m16n8_f32_c(int lane, int i) { return {lane / 4 + 8 * (i >> 1), 2 * (lane % 4) + (i & 1)}; }

inline void mma_m16n8k8_tf32(const uint32_t a[32][4], const uint32_t b[32][2], const float c[32][4],
                             float d[32][4], Accumulation acc) {
    float A[16][8], B[8][8], C[16][8];
    for (int lane = 0; lane < 32; ++lane) {
        for (int i = 0; i < 4; ++i) {
            const RowCol rc = m16n8k8_tf32_a(lane, i);
            A[rc.row][rc.col] = bits_float(a[lane][i] & 0xffffe000u);
            const RowCol cc = m16n8_f32_c(lane, i);
            C[cc.row][cc.col] = c[lane][i];
        }
        for (int i = 0; i < 2; ++i) {
            const RowCol kn = m16n8k8_tf32_b(lane, i);
            B[kn.row][kn.col] = bits_float(b[lane][i] & 0xffffe000u);
        }
    }
    for (int lane = 0; lane < 32; ++lane)
        for (int i = 0; i < 4; ++i) {
            const RowCol rc = m16n8_f32_c(lane, i);
            double products[8];
            for (int k = 0; k < 8; ++k) products[k] = double(A[rc.row][k]) * double(B[k][rc.col]);
            d[lane][i] = accumulate(products, 8, C[rc.row][rc.col], acc);
        }
}

// ---------------------------------------------------------------------------------------------
// mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 (PTX ISA 9.7.14.5.8)
//   A (16x16, row): elements a0..a7, register j holds a(2j) in bits 15:0 and a(2j+1) in 31:16;
//     row = g for a0, a1, a4, a5, g+8 otherwise; col = 2t + (i & 1), + 8 for i >= 4
//   B (16x8, col):  b0..b3, register j holds b(2j) low, b(2j+1) high;
//     k = 2t + (i & 1), + 8 for i >= 2; n = g
//   C/D: as for m16n8k8.
// ---------------------------------------------------------------------------------------------
constexpr RowCol m16n8k16_bf16_a(int lane, int i) {
    return {lane / 4 + 8 * ((i >> 1) & 1), 2 * (lane % 4) + (i & 1) + 8 * (i >> 2)};
}
constexpr RowCol m16n8k16_bf16_b(int lane, int i) { return {2 * (lane % 4) + (i & 1) + 8 * (i >> 1), lane / 4}; }

inline float bf16_half(uint32_t reg, int half) { return bf16_float(static_cast<uint16_t>(reg >> (16 * half))); }

inline void mma_m16n8k16_bf16(const uint32_t a[32][4], const uint32_t b[32][2], const float c[32][4],
                              float d[32][4], Accumulation acc) {
    float A[16][16], B[16][8], C[16][8];
    for (int lane = 0; lane < 32; ++lane) {
        for (int i = 0; i < 8; ++i) {
            const RowCol rc = m16n8k16_bf16_a(lane, i);
            A[rc.row][rc.col] = bf16_half(a[lane][i / 2], i % 2);
        }
        for (int i = 0; i < 4; ++i) {
            const RowCol kn = m16n8k16_bf16_b(lane, i);
            B[kn.row][kn.col] = bf16_half(b[lane][i / 2], i % 2);
            const RowCol cc = m16n8_f32_c(lane, i);
            C[cc.row][cc.col] = c[lane][i];
        }
    }
    for (int lane = 0; lane < 32; ++lane)
        for (int i = 0; i < 4; ++i) {
            const RowCol rc = m16n8_f32_c(lane, i);
            double products[16];
            for (int k = 0; k < 16; ++k) products[k] = double(A[rc.row][k]) * double(B[k][rc.col]);
            d[lane][i] = accumulate(products, 16, C[rc.row][rc.col], acc);
        }
}

// ---------------------------------------------------------------------------------------------
// ldmatrix.sync.aligned.m8n8{.x1,.x2,.x4}{.trans}.shared.b16 (PTX ISA 9.7.14.5.15)
// rows[8 * m + r] is the address of row r of matrix m (16 bytes, 8 b16 elements), supplied by
// lane 8m + r; lanes >= 8 * num supply nothing. Lane l receives in out[l][m] the fragment of
// matrix m that the ldmatrix figure gives it: without .trans, row l/4, columns 2(l%4) (bits
// 15:0) and 2(l%4)+1 (bits 31:16) -- the accumulator layout of mma m16n8; with .trans the
// matrix is read column-major, so the same fragment holds rows 2(l%4) and 2(l%4)+1 of column
// l/4 of the stored rows.
// ---------------------------------------------------------------------------------------------
inline uint16_t load_b16(const void* row, int col) {
    uint16_t v;
    std::memcpy(&v, static_cast<const unsigned char*>(row) + 2 * col, 2);
    return v;
}

inline void ldmatrix_m8n8_b16(const void* const rows[32], int num, bool trans, uint32_t out[32][4]) {
    for (int lane = 0; lane < 32; ++lane)
        for (int m = 0; m < num; ++m) {
            const int r = lane / 4, c0 = 2 * (lane % 4);
            uint16_t lo, hi;
            if (!trans) {
                lo = load_b16(rows[8 * m + r], c0);
                hi = load_b16(rows[8 * m + r], c0 + 1);
            } else {
                lo = load_b16(rows[8 * m + c0], r);
                hi = load_b16(rows[8 * m + c0 + 1], r);
            }
            out[lane][m] = uint32_t(lo) | (uint32_t(hi) << 16);
        }
}

}  // namespace ganops_emu::ptx
