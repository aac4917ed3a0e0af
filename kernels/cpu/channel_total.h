// The sum over one channel of an NCHW tensor, shared by the batchnorm passes on the CPU
// (batchnorm2d.cpp, batchnorm2d_activation.cpp), so that the fused and unfused statistics are
// the same numbers.
#pragma once
#include <cmath>
#include <cstdint>

namespace ganops::cpu {

// The sum over channel ch's n rows of hw values of term(k) (k the element's index), in
// double with eight partial sums per row, added in a fixed order: the eight independent
// chains vectorise and keep the adder busy, where one running sum waits for each add; the
// order does not depend on threads.
template <class Term>
double channel_total(int64_t n, int64_t c, int64_t hw, int64_t ch, const Term& term) {
    constexpr int lanes = 8;
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
        const int64_t base = (i * c + ch) * hw;
        double part[lanes] = {};
        int64_t j = 0;
        for (; j + lanes <= hw; j += lanes)
            for (int l = 0; l < lanes; ++l) part[l] += term(base + j + l);
        double row = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
        for (; j < hw; ++j) row += term(base + j);
        total += row;
    }
    return total;
}

// One channel's batch statistics: the mean, then the centred sum of squares (two passes, in
// double, so the statistics carry no cancellation error), and 1 / sqrt(var + eps).
struct ChannelStatistics {
    double mean, var, invstd;
};
template <class T>
ChannelStatistics channel_statistics(const T* x, int64_t n, int64_t c, int64_t hw, int64_t ch, double eps) {
    const double count = static_cast<double>(n * hw);
    const double m = channel_total(n, c, hw, ch, [&](int64_t k) { return double(x[k]); }) / count;
    const double var = channel_total(n, c, hw, ch, [&](int64_t k) {
                           const double d = x[k] - m;
                           return d * d;
                       }) /
                       count;
    return {m, var, 1.0 / std::sqrt(var + eps)};
}

}  // namespace ganops::cpu
