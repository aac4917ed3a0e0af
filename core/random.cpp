#include "random.h"

#include <algorithm>
#include <numeric>

#include "tensor.h"

namespace ganops {

Generator& default_generator() {
    static Generator gen;
    return gen;
}

void manual_seed(uint64_t seed) { default_generator() = Generator{seed, 0}; }

std::vector<int64_t> random_permutation(int64_t n, Generator& gen) {
    GANOPS_CHECK(n >= 0, "random_permutation: negative size ", n);
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    if (n == 0) return order;
    const std::vector<double> u = Tensor::uniform({n}, 0, 1, gen, DType::F64).to_double_vector();
    for (int64_t i = n - 1; i > 0; --i)
        std::swap(order[size_t(i)], order[size_t(std::min<int64_t>(i, int64_t(u[size_t(i)] * double(i + 1))))]);
    return order;
}

}  // namespace ganops
