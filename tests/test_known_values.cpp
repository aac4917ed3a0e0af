// Values worked out by hand, and identities between ops.
#include "test_util.h"

using namespace ganops;

namespace {
Tensor t(const Shape& s, std::vector<double> v) { return Tensor::from_vector(s, v); }
void check_values(const Tensor& got, const std::vector<double>& want, double tol = 1e-12) {
    const auto g = got.to_double_vector();
    REQUIRE(g.size() == want.size());
    for (size_t i = 0; i < g.size(); ++i) {
        INFO("element " << i);
        CHECK(std::abs(g[i] - want[i]) <= tol * std::max(1.0, std::abs(want[i])));
    }
}
}  // namespace

TEST_CASE("conv2d by hand") {
    const Tensor x = t({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
    const Tensor w = t({1, 1, 2, 2}, {1, 2, 3, 4});
    // out[p][q] = x[p][q] + 2 x[p][q+1] + 3 x[p+1][q] + 4 x[p+1][q+1]
    check_values(conv2d(x, w), {37, 47, 67, 77});
    check_values(conv2d(x, w, t({1}, {0.5})), {37.5, 47.5, 67.5, 77.5});
    // stride 2, padding 1: the window starts at (-1, -1) and only sees what overlaps.
    check_values(conv2d(x, w, Tensor(), Conv2dOptions::square(2, 1)), {4, 2 * 3 + 3 * 4, 4 * 2 + 7 * 4, 77});
    // Two input channels add up; two output channels are independent.
    const Tensor x2 = t({1, 2, 2, 2}, {1, 2, 3, 4, 10, 20, 30, 40});
    const Tensor w2 = t({2, 2, 1, 1}, {1, 1, 2, -1});
    check_values(conv2d(x2, w2), {11, 22, 33, 44, -8, -16, -24, -32});
}

TEST_CASE("conv_transpose2d by hand") {
    const Tensor x = t({1, 1, 2, 2}, {1, 2, 3, 4});
    const Tensor w = t({1, 1, 2, 2}, {1, 10, 100, 1000});
    // Stride 2: every input pixel stamps a scaled copy of the kernel, without overlap.
    check_values(conv_transpose2d(x, w, Tensor(), ConvTranspose2dOptions::square(2, 0)),
                 {1, 10, 2, 20, 100, 1000, 200, 2000, 3, 30, 4, 40, 300, 3000, 400, 4000});
    // Stride 1: the stamps overlap and add.
    check_values(conv_transpose2d(x, w), {1, 12, 20, 103, 1234, 2040, 300, 3400, 4000});
    // Padding 1 crops one pixel from each border of the stride-2 result.
    check_values(conv_transpose2d(x, w, Tensor(), ConvTranspose2dOptions::square(2, 1)), {1000, 200, 30, 4});
    // Output padding keeps one more row and column of the uncropped result.
    const Tensor y = conv_transpose2d(x, w, t({1}, {0.25}), ConvTranspose2dOptions::square(2, 1, 1));
    CHECK(y.shape() == Shape{1, 1, 3, 3});
    check_values(y, {1000.25, 200.25, 2000.25, 30.25, 4.25, 40.25, 3000.25, 400.25, 4000.25});
}

TEST_CASE("batchnorm2d by hand, with its running statistics") {
    // One channel holding 1, 2, 3, 4: mean 2.5, biased variance 1.25, unbiased 5/3.
    const Tensor x = t({1, 1, 2, 2}, {1, 2, 3, 4});
    const Tensor running_mean = t({1}, {0.0}), running_var = t({1}, {1.0});
    const Tensor y = batchnorm2d(x, t({1}, {2.0}), t({1}, {1.0}), running_mean, running_var, true);
    const double inv = 1 / std::sqrt(1.25 + 1e-5);
    check_values(y, {1 - 3 * inv, 1 - inv, 1 + inv, 1 + 3 * inv});
    check_values(running_mean, {0.25});
    check_values(running_var, {0.9 + 0.1 * 5.0 / 3.0});
    // Evaluation uses the running statistics.
    const Tensor e = batchnorm2d(x, t({1}, {2.0}), t({1}, {1.0}), running_mean, running_var, false);
    const double inv_r = 1 / std::sqrt(0.9 + 0.5 / 3.0 + 1e-5);
    check_values(e, {1 + 2 * (1 - 0.25) * inv_r, 1 + 2 * (2 - 0.25) * inv_r, 1 + 2 * (3 - 0.25) * inv_r,
                     1 + 2 * (4 - 0.25) * inv_r});
}

TEST_CASE("binary cross entropy by hand, PyTorch's clamping included") {
    const Tensor p = t({2}, {0.5, 0.9}), target = t({2}, {1, 0});
    check_values(binary_cross_entropy(p, target), {(std::log(2.0) + std::log(10.0)) / 2});
    // log(0) is clamped at -100: a confident wrong answer costs 100, not infinity.
    check_values(binary_cross_entropy(t({1}, {0.0}), t({1}, {1.0})), {100.0});
    check_values(binary_cross_entropy(t({2}, {1.0, 0.0}), t({2}, {1.0, 0.0})), {0.0});
    // d/dp = (p - t) / (p (1 - p)) / n
    const Tensor q = t({2}, {0.25, 0.8}).set_requires_grad(true);
    binary_cross_entropy(q, t({2}, {1, 0})).backward();
    check_values(q.grad(), {(0.25 - 1) / (0.25 * 0.75) / 2, 0.8 / (0.8 * 0.2) / 2});
}

TEST_CASE("binary cross entropy with logits is finite at +-100 and equals BCE(sigmoid) elsewhere") {
    const Tensor logits = t({4}, {100, -100, 100, -100}).set_requires_grad(true);
    const Tensor target = t({4}, {1, 0, 0, 1});
    const Tensor loss = binary_cross_entropy_with_logits(logits, target);
    check_values(loss, {(0 + 0 + 100 + 100) / 4.0}, 1e-12);
    loss.backward();
    for (double g : logits.grad().to_double_vector()) CHECK(std::isfinite(g));
    check_values(logits.grad(), {0, 0, 0.25, -0.25}, 1e-12);

    for (DType dtype : {DType::F64, DType::F32}) {
        const Tensor x = test::randn({64}, dtype, 3.0);
        const Tensor y = test::rand({64}, 0.0, 1.0, dtype);
        const double a = binary_cross_entropy_with_logits(x, y).item();
        const double b = binary_cross_entropy(sigmoid(x), y).item();
        CHECK(std::abs(a - b) < (dtype == DType::F64 ? 1e-12 : 1e-5));
    }
}

TEST_CASE("conv_transpose2d forward equals conv2d's input gradient for the same weight") {
    struct Case {
        Shape x;
        int64_t out_channels, kernel;
        int stride, padding;
    };
    for (const Case& c : {Case{{2, 3, 5, 5}, 4, 3, 2, 1}, Case{{1, 1, 4, 7}, 2, 4, 2, 1},
                          Case{{3, 8, 6, 6}, 3, 4, 1, 0}, Case{{1, 2, 5, 5}, 2, 5, 1, 2}}) {
        // conv2d maps [N, C_in] -> [N, C_out] with w [C_out, C_in]; its transpose maps back.
        const Tensor w = test::randn({c.out_channels, c.x[1], c.kernel, c.kernel});
        const Conv2dOptions o = Conv2dOptions::square(c.stride, c.padding);
        const Tensor y = conv2d(test::randn(c.x), w, Tensor(), o);
        const Tensor dy = test::randn(y.shape());
        const Tensor x = test::randn(c.x).set_requires_grad(true);
        conv2d(x, w, Tensor(), o).backward(dy);
        // output_padding recovers the input size when the strided conv dropped a remainder.
        ConvTranspose2dOptions t = ConvTranspose2dOptions::square(c.stride, c.padding);
        t.output_pad_h = static_cast<int>((c.x[2] + 2 * c.padding - c.kernel) % c.stride);
        t.output_pad_w = static_cast<int>((c.x[3] + 2 * c.padding - c.kernel) % c.stride);
        const Tensor t_out = conv_transpose2d(dy, w, Tensor(), t);
        REQUIRE(t_out.shape() == c.x);
        CHECK(test::rel_error(t_out, x.grad()) < 1e-14);
    }
}
