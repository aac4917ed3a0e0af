// The ops the classifier, conditional and evaluation code need: softmax, softmax cross
// entropy, channel concatenation and adaptive max pooling. Gradients by finite differences
// in double, values by hand, errors by message.
#include "test_util.h"

using namespace ganops;
using Inputs = std::vector<Tensor>;

namespace {
Tensor t(const Shape& s, std::vector<double> v) { return Tensor::from_vector(s, v); }
}  // namespace

TEST_CASE("softmax and softmax cross entropy gradients") {
    test::gradcheck("softmax", [](const Inputs& in) { return softmax(in[0]); }, {test::randn({4, 10}, DType::F64, 3.0)});
    test::gradcheck("softmax batch 1", [](const Inputs& in) { return softmax(in[0]); }, {test::randn({1, 3})});
    const Tensor labels = t({5}, {0, 9, 3, 3, 7});
    test::gradcheck("softmax_cross_entropy", [&](const Inputs& in) { return softmax_cross_entropy(in[0], labels); },
                    {test::randn({5, 10}, DType::F64, 2.0)});
}

TEST_CASE("softmax cross entropy by hand, stable for huge logits") {
    // Row [0, ln 3]: softmax = [1/4, 3/4]; label 1 costs -ln(3/4), label 0 costs ln 4.
    const Tensor logits = t({2, 2}, {0, std::log(3.0), 0, std::log(3.0)});
    CHECK(std::abs(softmax_cross_entropy(logits, t({2}, {1, 0})).item() - (std::log(4.0 / 3.0) + std::log(4.0)) / 2) < 1e-12);
    const auto p = softmax(logits).to_double_vector();
    CHECK(std::abs(p[0] - 0.25) < 1e-15);
    CHECK(std::abs(p[1] - 0.75) < 1e-15);
    // Logits of 1000 would overflow a naive exp.
    const Tensor huge = t({1, 3}, {1000, 0, -1000});
    CHECK(std::abs(softmax_cross_entropy(huge, t({1}, {0})).item()) < 1e-12);
    CHECK(std::abs(softmax_cross_entropy(huge, t({1}, {1})).item() - 1000) < 1e-9);
    for (double v : softmax(huge).to_double_vector()) CHECK(std::isfinite(v));
}

TEST_CASE("concat_channels joins and its gradient splits") {
    const Tensor a = t({2, 1, 2}, {1, 2, 3, 4}), b = t({2, 2, 2}, {10, 20, 30, 40, 50, 60, 70, 80});
    CHECK(concat_channels(a, b).to_double_vector() == std::vector<double>{1, 2, 10, 20, 30, 40, 3, 4, 50, 60, 70, 80});
    CHECK(concat_channels(a, b).shape() == Shape{2, 3, 2});
    test::gradcheck("concat 4-d", [](const Inputs& in) { return concat_channels(in[0], in[1]); },
                    {test::randn({3, 2, 4, 5}), test::randn({3, 10, 4, 5})});
    test::gradcheck("concat noise and one-hot", [](const Inputs& in) { return concat_channels(in[0], in[1]); },
                    {test::randn({4, 7, 1, 1}), test::randn({4, 3, 1, 1})});
}

TEST_CASE("adaptive_max_pool2d uses PyTorch's overlapping windows") {
    // 5 rows to 2: windows are rows [0, 3) and [2, 5); row 2 belongs to both.
    std::vector<double> v(25);
    for (int i = 0; i < 25; ++i) v[size_t(i)] = double((i * 7) % 25);  // a permutation of 0..24
    const Tensor x = t({1, 1, 5, 5}, v);
    const auto y = adaptive_max_pool2d(x, 2, 2).to_double_vector();
    auto window_max = [&](int r0, int r1, int c0, int c1) {
        double m = -1;
        for (int r = r0; r < r1; ++r)
            for (int c = c0; c < c1; ++c) m = std::max(m, v[size_t(r * 5 + c)]);
        return m;
    };
    CHECK(y == std::vector<double>{window_max(0, 3, 0, 3), window_max(0, 3, 2, 5), window_max(2, 5, 0, 3), window_max(2, 5, 2, 5)});
    // Pooling to the input's own size is the identity; to 1x1 it is the global max.
    CHECK(adaptive_max_pool2d(x, 5, 5).to_double_vector() == v);
    CHECK(adaptive_max_pool2d(x, 1, 1).item() == 24);
    // Gradients (random inputs have distinct maxima, so the function is smooth there).
    test::gradcheck("adaptive_max_pool2d 16x16 -> 4x4", [](const Inputs& in) { return adaptive_max_pool2d(in[0], 4, 4); },
                    {test::randn({2, 3, 16, 16})});
    test::gradcheck("adaptive_max_pool2d 7x5 -> 4x4", [](const Inputs& in) { return adaptive_max_pool2d(in[0], 4, 4); },
                    {test::randn({1, 2, 7, 5})});
}

TEST_CASE("classifier ops refuse bad input by name") {
    CHECK_THROWS_CONTAINING(softmax_cross_entropy(test::randn({3, 4}), t({3}, {0, 4, 1})),
                            "softmax_cross_entropy: label 4 at row 1 is not a class index of input [3, 4] float64 cpu");
    CHECK_THROWS_CONTAINING(softmax_cross_entropy(test::randn({3, 4}), t({3}, {0, 1.5, 1})), "label 1.5 at row 1");
    CHECK_THROWS_CONTAINING(softmax_cross_entropy(test::randn({3, 4}), t({2}, {0, 1})),
                            "softmax_cross_entropy: labels [2] float64 cpu must be [3] for input [3, 4] float64 cpu");
    CHECK_THROWS_CONTAINING(softmax(test::randn({3, 4, 2})), "softmax: input must be 2-d, got [3, 4, 2] float64 cpu");
    CHECK_THROWS_CONTAINING(concat_channels(test::randn({2, 3, 4, 4}), test::randn({2, 1, 4, 5})),
                            "concat: [2, 3, 4, 4] float64 cpu and [2, 1, 4, 5] float64 cpu must agree in every dimension but 1");
    CHECK_THROWS_CONTAINING(adaptive_max_pool2d(test::randn({2, 3, 4, 4}), 0, 4), "adaptive_max_pool2d: cannot pool input [2, 3, 4, 4] float64 cpu to 0x4");
}
