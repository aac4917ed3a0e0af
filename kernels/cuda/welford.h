// Running mean and centred sum of squares (Welford), and the merge of two such summaries
// (Chan et al.): batch statistics in one read of the data without the cancellation of
// sum(x^2) - n mean^2. Host-and-device code, so tests/test_welford.cpp checks it on the CPU.
#pragma once
#include "../../core/philox.h"  // GANOPS_HD

namespace ganops::cuda {

struct Moments {
    double count, mean, m2;  // m2 = sum of (x - mean)^2
};

GANOPS_HD Moments add(Moments m, double v) {
    m.count += 1;
    const double delta = v - m.mean;
    m.mean += delta / m.count;
    m.m2 += delta * (v - m.mean);
    return m;
}

GANOPS_HD Moments merge(Moments a, Moments b) {
    const double count = a.count + b.count;
    if (count == 0) return a;
    const double delta = b.mean - a.mean;
    return {count, a.mean + delta * (b.count / count), a.m2 + b.m2 + delta * delta * (a.count * b.count / count)};
}

}  // namespace ganops::cuda
