#include "catch_compat.h"
#include "core/philox.h"

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <vector>

using namespace ganops::philox;

namespace {
constexpr int64_t kN = 1000000;

bool same(const Uint4& a, const Uint4& b) { return a.x == b.x && a.y == b.y && a.z == b.z && a.w == b.w; }

// Long double references, so that the libm's own argument rounding of 2*pi*u
// in double does not count against the helpers.
const long double kPiL = 3.141592653589793238462643383279502884L;
bool close(double got, long double want) {
  const long double err = std::fabs((long double)got - want);
  return err < 1e-15L || err < 1e-14L * std::fabs(want);
}
}  // namespace

TEST_CASE("philox4x32_10 reproduces the Random123 known-answer vectors") {
  CHECK(same(philox4x32_10({0, 0, 0, 0}, 0, 0), {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  CHECK(same(philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, 0xffffffff, 0xffffffff),
             {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  CHECK(same(philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, 0xa4093822, 0x299f31d0),
             {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

TEST_CASE("block_at lays the block index and seed out as documented") {
  const uint64_t seed = 0x0123456789abcdefull, b = 0xfedcba9876543210ull;
  CHECK(same(block_at(seed, b), philox4x32_10({0x76543210, 0xfedcba98, 0, 0}, 0x89abcdef, 0x01234567)));
  CHECK(blocks_for(0) == 0);
  CHECK(blocks_for(1) == 1);
  CHECK(blocks_for(4) == 1);
  CHECK(blocks_for(5) == 2);
}

TEST_CASE("uniform_from_bits is open at both ends and exact") {
  CHECK(uniform_from_bits(0u) == 0x1p-24f);
  CHECK(uniform_from_bits(0xffffffffu) == 1.0f - 0x1p-24f);
  CHECK(uniform_from_bits(0xffffffffu) < 1.0f);
  CHECK(uniform_from_bits(0x80000000u) == 0.5f + 0x1p-24f);
  // Symmetric: complementing the bits mirrors u about 1/2, which needs exactness.
  for (uint32_t r : {0u, 12345u, 0x7fffffffu, 0xdeadbeefu})
    CHECK(uniform_from_bits(r) + uniform_from_bits(~r) == 1.0f);
}

TEST_CASE("uniforms lie in (0,1) with the right mean and variance") {
  std::vector<float> u(kN);
  uniform_fill(u.data(), kN, 42, 0, 0.0f, 1.0f);
  double sum = 0, sum2 = 0;
  bool inside = true;
  for (float v : u) {
    inside = inside && v > 0.0f && v < 1.0f;
    sum += v;
    sum2 += double(v) * v;
  }
  CHECK(inside);
  const double mean = sum / kN, var = sum2 / kN - mean * mean;
  // 5 sigma: sd(mean) = sqrt(1/12/n), sd(var) = sqrt((1/80 - 1/144)/n).
  CHECK(std::fabs(mean - 0.5) < 5 * std::sqrt(1.0 / 12 / kN));
  CHECK(std::fabs(var - 1.0 / 12) < 5 * std::sqrt((1.0 / 80 - 1.0 / 144) / kN));

  std::vector<float> s(1000);
  uniform_fill(s.data(), 1000, 42, 0, -3.0f, 5.0f);
  bool in_range = true;
  for (size_t i = 0; i < s.size(); ++i) {
    in_range = in_range && s[i] >= -3.0f && s[i] <= 5.0f;
    CHECK(s[i] == -3.0f + 8.0f * u[i]);
  }
  CHECK(in_range);
}

TEST_CASE("normals have standard moments, 1-sigma mass and 4-sigma tails") {
  std::vector<float> z(kN);
  normal_fill(z.data(), kN, 7, 123, 0.0f, 1.0f);
  double sum = 0, sum2 = 0;
  int64_t within1 = 0, beyond4 = 0;
  bool finite = true;
  for (float v : z) {
    finite = finite && std::isfinite(v);
    sum += v;
    sum2 += double(v) * v;
    within1 += std::fabs(v) < 1.0f;
    beyond4 += std::fabs(v) > 4.0f;
  }
  REQUIRE(finite);
  const double mean = sum / kN, var = sum2 / kN - mean * mean;
  CHECK(std::fabs(mean) < 5 / std::sqrt(double(kN)));
  CHECK(std::fabs(var - 1.0) < 5 * std::sqrt(2.0 / kN));
  const double p1 = 0.682689492137;
  CHECK(std::fabs(double(within1) / kN - p1) < 5 * std::sqrt(p1 * (1 - p1) / kN));
  // P(|z| > 4) = 6.334e-5: about 63 expected, Poisson sd about 8.
  CHECK(beyond4 > 25);
  CHECK(beyond4 < 105);

  std::vector<float> s(1000);
  normal_fill(s.data(), 1000, 7, 123, 2.0f, 0.5f);
  for (size_t i = 0; i < s.size(); ++i) CHECK(s[i] == 2.0f + 0.5f * z[i]);
}

TEST_CASE("Box-Muller stays finite at the extreme uniforms") {
  const float lo = uniform_from_bits(0), hi = uniform_from_bits(0xffffffffu);
  const float bound = float(std::sqrt(-2.0 * std::log(double(lo)))) * 1.000001f;
  for (float u0 : {lo, hi, 0.5f})
    for (float u1 : {lo, hi, 0.25f, 0.5f, 0.75f, 0.125f}) {
      float z0, z1;
      box_muller(u0, u1, z0, z1);
      CHECK(std::isfinite(z0));
      CHECK(std::isfinite(z1));
      CHECK(std::fabs(z0) <= bound);
      CHECK(std::fabs(z1) <= bound);
    }
  float z0, z1;
  box_muller(lo, lo, z0, z1);
  CHECK(z0 > 5.7f);  // the largest normal the stream can produce, about 5.77
}

TEST_CASE("log_unit and sincos_2pi match the long double libm") {
  int bad_log = 0, bad_sin = 0, bad_cos = 0;
  auto check = [&](double u) {
    if (!close(log_unit(u), std::log((long double)u))) ++bad_log;
    if (u < 1.0) {
      double s, c;
      sincos_2pi(u, s, c);
      const long double a = 2 * kPiL * u;
      if (!close(s, std::sin(a))) ++bad_sin;
      if (!close(c, std::cos(a))) ++bad_cos;
    }
  };
  // Every u the stream can produce on a coarse stride, plus arbitrary doubles.
  for (uint64_t r = 0; r <= 0xffffffffu; r += 0x135 << 9) check(uniform_from_bits(uint32_t(r)));
  for (uint32_t r = 0; r < 200000; ++r) check(uniform_from_bits(block_at(99, r).x) * 0.999 + 1e-7 * (r & 7));
  for (uint32_t k = 0; k < 32; ++k) check(double(k + 1) / 33.0);  // octant edges and near-misses
  for (int e = 1; e < 1074; e += 7) check(std::ldexp(1.2345, -e));
  CHECK(bad_log == 0);
  CHECK(bad_sin == 0);
  CHECK(bad_cos == 0);
  CHECK(log_unit(1.0) == 0.0);
  CHECK(log_unit(0.5) == -0.69314718055994530942);
  CHECK(close(log_unit(0x1p-1074), std::log(0x1p-1074L)));
  double s, c;
  sincos_2pi(0.25, s, c);
  CHECK(s == 1.0);
  CHECK(c == 0.0);
}

TEST_CASE("streams are deterministic, offset-sensitive and agree with *_at") {
  const int64_t n = 1001;  // not a multiple of 4, so the last block is partial
  std::vector<float> a(n), b(n), c(n), na(n), nb(n);
  uniform_fill(a.data(), n, 5, 17, 0.0f, 1.0f);
  uniform_fill(b.data(), n, 5, 17, 0.0f, 1.0f);
  uniform_fill(c.data(), n, 5, 18, 0.0f, 1.0f);
  normal_fill(na.data(), n, 5, 17, 0.0f, 1.0f);
  normal_fill(nb.data(), n, 5, 17, 0.0f, 1.0f);
  CHECK(a == b);
  CHECK(na == nb);
  CHECK(a != c);
  // One block further on is the same stream shifted by four elements.
  for (int64_t i = 0; i + 4 < n; ++i) CHECK(c[i] == a[i + 4]);
  std::vector<float> d(n);
  uniform_fill(d.data(), n, 6, 17, 0.0f, 1.0f);
  CHECK(a != d);
  for (int64_t i = 0; i < n; ++i) {
    CHECK(a[i] == uniform_at(5, 17, i));
    CHECK(na[i] == normal_at(5, 17, i));
  }
}

TEST_CASE("Generator::take splits a fill into consecutive pieces") {
  const int64_t n = 1000;  // a multiple of 4
  ganops::Generator g{11, 3};
  std::vector<float> first(n), second(n), whole(2 * n), nfirst(n), nsecond(n), nwhole(2 * n);
  const uint64_t o1 = g.take(n);
  const uint64_t o2 = g.take(n);
  CHECK(o1 == 3);
  CHECK(o2 == 3 + n / 4);
  CHECK(g.offset == 3 + n / 2);
  uniform_fill(first.data(), n, g.seed, o1, 0.0f, 1.0f);
  uniform_fill(second.data(), n, g.seed, o2, 0.0f, 1.0f);
  uniform_fill(whole.data(), 2 * n, g.seed, 3, 0.0f, 1.0f);
  normal_fill(nfirst.data(), n, g.seed, o1, 0.0f, 1.0f);
  normal_fill(nsecond.data(), n, g.seed, o2, 0.0f, 1.0f);
  normal_fill(nwhole.data(), 2 * n, g.seed, 3, 0.0f, 1.0f);
  for (int64_t i = 0; i < n; ++i) {
    CHECK(first[i] == whole[i]);
    CHECK(second[i] == whole[n + i]);
    CHECK(nfirst[i] == nwhole[i]);
    CHECK(nsecond[i] == nwhole[n + i]);
  }
  ganops::Generator h;
  CHECK(h.take(5) == 0);
  CHECK(h.offset == 2);  // a partial block is consumed whole
}

TEST_CASE("double fills hold the float fill's values widened") {
  const int64_t n = 999;
  std::vector<float> uf(n), nf(n);
  std::vector<double> ud(n), nd(n);
  uniform_fill(uf.data(), n, 3, 9, -0.1f, 0.3f);
  uniform_fill(ud.data(), n, 3, 9, -0.1f, 0.3f);
  normal_fill(nf.data(), n, 3, 9, 1.0f, 0.02f);
  normal_fill(nd.data(), n, 3, 9, 1.0f, 0.02f);
  for (int64_t i = 0; i < n; ++i) {
    CHECK(ud[i] == double(uf[i]));
    CHECK(nd[i] == double(nf[i]));
  }
}
