// Philox4x32-10 counter-based random numbers (Salmon et al., SC11), shared by
// CPU code and CUDA kernels so that both produce bit-identical tensors.
//
// Stream contract. A generator state is (seed, offset), both uint64. Element i
// (0-based, i >= 0) of a stream of n values starting at `offset` comes from
// block b = offset + i/4, lane i%4, where the block is
//   philox4x32_10(counter = {lo32(b), hi32(b), 0, 0}, key = {lo32(seed), hi32(seed)}).
// Drawing n values advances the offset by blocks_for(n) = ceil(n/4) blocks, so
// a fill always begins at lane 0 of a fresh block.
//   uniform: u = ((r >> 9) + 0.5) * 2^-23, in the open interval (0, 1).
//   normal:  Box-Muller on each lane pair (0,1) and (2,3) of a block; the even
//            lane gets r*cos(2*pi*u1), the odd lane r*sin(2*pi*u1), with
//            r = sqrt(-2 ln u0), evaluated in double and rounded to float.
//   scaled:  lo + (hi-lo)*u and mean + stddev*z, via affine() (no FMA).
//
// Bit-identity between host and device: libm's and CUDA's transcendental
// functions differ in the last ulp, so log and sin/cos below are built only
// from correctly rounded +, -, *, / and sqrt. On the device every such op goes
// through an __d*_rn / __f*_rn intrinsic, which nvcc never fuses into an FMA;
// on the host the plain operators are used, so host code must be compiled with
// -ffp-contract=off (GCC otherwise may contract a*b+c when FMA is available).
#pragma once
#include <cmath>
#include <cstdint>

#ifndef GANOPS_HD
#if defined(__CUDACC__)
#define GANOPS_HD __host__ __device__ __forceinline__
#else
#define GANOPS_HD inline
#endif
#endif

namespace ganops::philox {

struct Uint4 { uint32_t x, y, z, w; };

// Correctly rounded arithmetic that the device compiler may not contract.
// Reciprocal constants below use plain '/': it is IEEE-exact for double on both
// sides and folds to the same constant once the fixed-trip loops unroll.
#ifdef __CUDA_ARCH__
GANOPS_HD double dmul(double a, double b) { return __dmul_rn(a, b); }
GANOPS_HD double dadd(double a, double b) { return __dadd_rn(a, b); }
GANOPS_HD double dsub(double a, double b) { return __dsub_rn(a, b); }
GANOPS_HD double ddiv(double a, double b) { return __ddiv_rn(a, b); }
GANOPS_HD double dsqrt(double a) { return __dsqrt_rn(a); }
GANOPS_HD float affine(float base, float scale, float v) { return __fadd_rn(base, __fmul_rn(scale, v)); }
#else
GANOPS_HD double dmul(double a, double b) { return a * b; }
GANOPS_HD double dadd(double a, double b) { return a + b; }
GANOPS_HD double dsub(double a, double b) { return a - b; }
GANOPS_HD double ddiv(double a, double b) { return a / b; }
GANOPS_HD double dsqrt(double a) { return std::sqrt(a); }
GANOPS_HD float affine(float base, float scale, float v) { return base + scale * v; }
#endif

GANOPS_HD Uint4 philox4x32_10(Uint4 c, uint32_t k0, uint32_t k1) {
  constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
  for (int round = 0; round < 10; ++round) {
#ifdef __CUDA_ARCH__
    const uint32_t hi0 = __umulhi(M0, c.x), lo0 = M0 * c.x;
    const uint32_t hi1 = __umulhi(M1, c.z), lo1 = M1 * c.z;
#else
    const uint64_t p0 = uint64_t(M0) * c.x, p1 = uint64_t(M1) * c.z;
    const uint32_t hi0 = uint32_t(p0 >> 32), lo0 = uint32_t(p0);
    const uint32_t hi1 = uint32_t(p1 >> 32), lo1 = uint32_t(p1);
#endif
    c = Uint4{hi1 ^ c.y ^ k0, lo1, hi0 ^ c.w ^ k1, lo0};
    k0 += 0x9E3779B9u;  // Weyl sequence, wraps mod 2^32 by design
    k1 += 0xBB67AE85u;
  }
  return c;
}

GANOPS_HD uint64_t blocks_for(int64_t n) { return (uint64_t(n) + 3) / 4; }

GANOPS_HD Uint4 block_at(uint64_t seed, uint64_t block) {
  return philox4x32_10(Uint4{uint32_t(block), uint32_t(block >> 32), 0u, 0u},
                       uint32_t(seed), uint32_t(seed >> 32));
}

// Structs cannot be indexed as arrays without UB, hence the select.
GANOPS_HD uint32_t lane(const Uint4& v, int k) {
  return k == 0 ? v.x : k == 1 ? v.y : k == 2 ? v.z : v.w;
}

// 23 bits, not 24: (m + 0.5) needs one bit more than m, and a float holds 24,
// so with 24-bit m the top value would round up to exactly 1.0f. With 23 bits
// every value is exact and the interval is open and symmetric about 1/2.
GANOPS_HD float uniform_from_bits(uint32_t r) {
  return (float(r >> 9) + 0.5f) * 0x1p-23f;
}

// Natural log for u in (0, 1]. Exact power-of-two scaling brings u to
// m in [sqrt(1/2), sqrt(2)), then log m = 2 atanh(s), s = (m-1)/(m+1), |s| <= 0.1716,
// so 12 odd terms leave a truncation error below 1e-18 relative.
GANOPS_HD double log_unit(double u) {
  int e = 0;
  while (u < 0x1p-64) { u = dmul(u, 0x1p64); e -= 64; }  // only subnormals loop more than once
  if (u < 0x1p-32) { u = dmul(u, 0x1p32); e -= 32; }
  if (u < 0x1p-16) { u = dmul(u, 0x1p16); e -= 16; }
  if (u < 0x1p-8) { u = dmul(u, 0x1p8); e -= 8; }
  if (u < 0x1p-4) { u = dmul(u, 0x1p4); e -= 4; }
  if (u < 0x1p-2) { u = dmul(u, 0x1p2); e -= 2; }
  if (u < 0x1p-1) { u = dmul(u, 2.0); e -= 1; }
  if (u < 0.70710678118654752440) { u = dmul(u, 2.0); e -= 1; }
  const double s = ddiv(dsub(u, 1.0), dadd(u, 1.0));  // u - 1 is exact (Sterbenz)
  const double s2 = dmul(s, s);
  double p = 1.0 / 23.0;
  for (int k = 10; k >= 0; --k) p = dadd(1.0 / double(2 * k + 1), dmul(s2, p));
  return dadd(dmul(double(e), 0.69314718055994530942), dmul(dmul(2.0, s), p));
}

// sin and cos of 2*pi*u for u in (0, 1). Reduction works on u itself, where it
// is exact: w = 4u, q = nearest integer to w, t = w - q in [-1/2, 1/2] (both
// subtractions exact by Sterbenz), so 2*pi*u = q*pi/2 + x with x = t*pi/2,
// |x| <= pi/4. Nested Taylor series to x^17 / x^20: truncation < 1e-18.
GANOPS_HD void sincos_2pi(double u, double& s, double& c) {
  const double w = dmul(u, 4.0);
  int q = int(w);
  double t = dsub(w, double(q));
  if (t > 0.5) { t = dsub(t, 1.0); ++q; }
  const double x = dmul(t, 1.57079632679489661923);
  const double x2 = dmul(x, x);
  double ps = 1.0, pc = 1.0;
  for (int n = 17; n >= 3; n -= 2) ps = dsub(1.0, dmul(dmul(x2, 1.0 / double((n - 1) * n)), ps));
  for (int n = 20; n >= 2; n -= 2) pc = dsub(1.0, dmul(dmul(x2, 1.0 / double((n - 1) * n)), pc));
  const double sx = dmul(x, ps), cx = pc;
  switch (q & 3) {
    case 0: s = sx; c = cx; break;
    case 1: s = cx; c = -sx; break;
    case 2: s = -sx; c = -cx; break;
    default: s = -cx; c = sx; break;
  }
}

// Both normals of one lane pair; u0 >= 2^-24 bounds |z| by sqrt(48 ln 2) ~ 5.77.
GANOPS_HD void box_muller(float u0, float u1, float& z0, float& z1) {
  const double r = dsqrt(dmul(-2.0, log_unit(u0)));
  double s, c;
  sincos_2pi(u1, s, c);
  z0 = float(dmul(r, c));
  z1 = float(dmul(r, s));
}

GANOPS_HD float uniform_at(uint64_t seed, uint64_t offset, int64_t i) {
  return uniform_from_bits(lane(block_at(seed, offset + uint64_t(i) / 4), int(i & 3)));
}

GANOPS_HD float normal_at(uint64_t seed, uint64_t offset, int64_t i) {
  const Uint4 r = block_at(seed, offset + uint64_t(i) / 4);
  const int pair = int(i & 2);
  float z0, z1;
  box_muller(uniform_from_bits(lane(r, pair)), uniform_from_bits(lane(r, pair + 1)), z0, z1);
  return (i & 1) ? z1 : z0;
}

namespace detail {
// One Philox call and two Box-Mullers per block instead of one per element.
// Values are always formed in float, then widened, so float and double
// tensors drawn from the same state hold the same numbers.
template <class T>
inline void uniform_fill(T* out, int64_t n, uint64_t seed, uint64_t offset, float lo, float hi) {
  for (int64_t i0 = 0; i0 < n; i0 += 4) {
    const Uint4 r = block_at(seed, offset + uint64_t(i0) / 4);
    for (int k = 0; k < 4 && i0 + k < n; ++k)
      out[i0 + k] = T(affine(lo, hi - lo, uniform_from_bits(lane(r, k))));
  }
}
template <class T>
inline void normal_fill(T* out, int64_t n, uint64_t seed, uint64_t offset, float mean, float stddev) {
  for (int64_t i0 = 0; i0 < n; i0 += 4) {
    const Uint4 r = block_at(seed, offset + uint64_t(i0) / 4);
    float z[4];
    box_muller(uniform_from_bits(r.x), uniform_from_bits(r.y), z[0], z[1]);
    box_muller(uniform_from_bits(r.z), uniform_from_bits(r.w), z[2], z[3]);
    for (int k = 0; k < 4 && i0 + k < n; ++k) out[i0 + k] = T(affine(mean, stddev, z[k]));
  }
}
}  // namespace detail

inline void uniform_fill(float* out, int64_t n, uint64_t seed, uint64_t offset, float lo, float hi) {
  detail::uniform_fill(out, n, seed, offset, lo, hi);
}
inline void uniform_fill(double* out, int64_t n, uint64_t seed, uint64_t offset, float lo, float hi) {
  detail::uniform_fill(out, n, seed, offset, lo, hi);
}
inline void normal_fill(float* out, int64_t n, uint64_t seed, uint64_t offset, float mean, float stddev) {
  detail::normal_fill(out, n, seed, offset, mean, stddev);
}
inline void normal_fill(double* out, int64_t n, uint64_t seed, uint64_t offset, float mean, float stddev) {
  detail::normal_fill(out, n, seed, offset, mean, stddev);
}

}  // namespace ganops::philox

namespace ganops {

struct Generator {
  uint64_t seed = 0;
  uint64_t offset = 0;
  // Returns the offset at which to draw n values and reserves their blocks.
  uint64_t take(int64_t n) {
    const uint64_t at = offset;
    offset += philox::blocks_for(n);
    return at;
  }
};

}  // namespace ganops
