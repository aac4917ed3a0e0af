// The batchnorm kernels' statistics (kernels/cuda/welford.h), on the CPU: any split of the
// data into summaries, merged in any tree, gives the two-pass mean and variance, including
// where a naive sum of squares loses everything to cancellation.
#include "kernels/cuda/welford.h"

#include "test_util.h"

using ganops::cuda::Moments;

namespace {
Moments summarise(const std::vector<double>& v, size_t begin, size_t end) {
    Moments m{0, 0, 0};
    for (size_t i = begin; i < end; ++i) m = ganops::cuda::add(m, v[i]);
    return m;
}
}  // namespace

TEST_CASE("Welford summaries merge to the two-pass statistics") {
    for (double offset : {0.0, 1e4, 1e7}) {
        INFO("offset " << offset);
        std::vector<double> v = test::randn({1000}).to_double_vector();
        for (double& x : v) x = offset + 3 * x;
        double mean = 0, m2 = 0;
        for (double x : v) mean += x;
        mean /= double(v.size());
        for (double x : v) m2 += (x - mean) * (x - mean);

        // Uneven pieces (one empty), merged left to right and as a balanced tree.
        const std::vector<size_t> cuts{0, 1, 1, 77, 500, 999, 1000};
        std::vector<Moments> parts;
        for (size_t i = 0; i + 1 < cuts.size(); ++i) parts.push_back(summarise(v, cuts[i], cuts[i + 1]));
        Moments chain{0, 0, 0};
        for (const Moments& p : parts) chain = ganops::cuda::merge(chain, p);
        const Moments tree = ganops::cuda::merge(ganops::cuda::merge(parts[0], parts[1]),
                                                 ganops::cuda::merge(ganops::cuda::merge(parts[2], parts[3]),
                                                                     ganops::cuda::merge(parts[4], parts[5])));
        for (const Moments& m : {chain, tree}) {
            CHECK(m.count == 1000);
            CHECK(std::abs(m.mean - mean) <= 1e-12 * std::max(1.0, std::abs(mean)));
            CHECK(std::abs(m.m2 - m2) <= 1e-9 * m2);
        }
    }
}
