// Every differentiable op against central finite differences in double, on fresh random
// inputs, over shapes with odd sizes, batch 1, strides 1 and 2, padding 0/1/2, 1 and 3
// channels.
#include "test_util.h"

using namespace ganops;
using test::gradcheck;
using test::randn;
using Inputs = std::vector<Tensor>;

struct ConvCase {
    int64_t n, c, h, w, k, r, s;
    Conv2dOptions opt;
    bool bias;
};

TEST_CASE("conv2d gradients") {
    const std::vector<ConvCase> cases = {
        {1, 1, 5, 5, 2, 3, 3, Conv2dOptions::square(1, 0), false},
        {2, 3, 7, 6, 4, 3, 3, Conv2dOptions::square(2, 1), true},
        {1, 3, 6, 6, 1, 4, 4, Conv2dOptions::square(2, 2), true},
        {2, 2, 7, 7, 3, 3, 3, Conv2dOptions::square(1, 2, 2), true},  // dilation 2
        {3, 1, 5, 8, 2, 2, 3, Conv2dOptions{1, 2, 1, 0, 1, 1}, true},   // rectangular everything
        {2, 3, 8, 8, 2, 4, 4, Conv2dOptions::square(2, 1), false},      // a DCGAN discriminator layer
        {1, 2, 4, 4, 1, 4, 4, Conv2dOptions::square(1, 0), false},      // its 4x4 valid output layer
    };
    for (const ConvCase& k : cases) {
        gradcheck("conv2d " + Shape{k.n, k.c, k.h, k.w}.str(),
                  [&](const Inputs& in) { return conv2d(in[0], in[1], k.bias ? in[2] : Tensor(), k.opt); },
                  {randn({k.n, k.c, k.h, k.w}), randn({k.k, k.c, k.r, k.s}), randn({k.k})},
                  1e-6, k.bias ? std::vector<size_t>{} : std::vector<size_t>{2});
    }
}

TEST_CASE("conv_transpose2d gradients") {
    struct Case {
        int64_t n, c, h, w, k, r;
        ConvTranspose2dOptions opt;
        bool bias;
    };
    const std::vector<Case> cases = {
        {1, 3, 1, 1, 4, 4, ConvTranspose2dOptions::square(1, 0), false},  // DCGAN's first layer from z
        {2, 4, 3, 3, 3, 4, ConvTranspose2dOptions::square(2, 1), true},   // a DCGAN generator layer
        {1, 1, 5, 4, 2, 3, ConvTranspose2dOptions::square(2, 1, 1), true},  // output_padding 1
        {2, 2, 3, 3, 1, 3, ConvTranspose2dOptions::square(1, 2), false},  // padding 2
        {1, 3, 4, 4, 2, 3, ConvTranspose2dOptions::square(1, 1, 0, 2), true},  // dilation 2
    };
    for (const Case& k : cases) {
        gradcheck("conv_transpose2d " + Shape{k.n, k.c, k.h, k.w}.str(),
                  [&](const Inputs& in) { return conv_transpose2d(in[0], in[1], k.bias ? in[2] : Tensor(), k.opt); },
                  {randn({k.n, k.c, k.h, k.w}), randn({k.c, k.k, k.r, k.r}), randn({k.k})}, 1e-6,
                  k.bias ? std::vector<size_t>{} : std::vector<size_t>{2});
    }
}

TEST_CASE("batchnorm2d gradients, training and evaluation") {
    for (const Shape& s : {Shape{3, 2, 3, 3}, Shape{1, 3, 2, 5}, Shape{5, 4}, Shape{2, 1, 1, 1}}) {
        const int64_t c = s[1];
        gradcheck("batchnorm2d train " + s.str(),
                  [&](const Inputs& in) {
                      return batchnorm2d(in[0], in[1], in[2], Tensor(), Tensor(), true);
                  },
                  {randn(s, DType::F64, 2.0), test::rand({c}, 0.5, 1.5), randn({c})});
        const Tensor running_mean = randn({c}), running_var = test::rand({c}, 0.5, 2.0);
        gradcheck("batchnorm2d eval " + s.str(),
                  [&](const Inputs& in) {
                      return batchnorm2d(in[0], in[1], in[2], running_mean, running_var, false);
                  },
                  {randn(s), test::rand({c}, 0.5, 1.5), randn({c})});
    }
    gradcheck("batchnorm2d without affine", [](const Inputs& in) {
        return batchnorm2d(in[0], Tensor(), Tensor(), Tensor(), Tensor(), true);
    }, {randn({4, 3, 2, 2})});
}

TEST_CASE("activation gradients") {
    const Shape s{2, 3, 5, 5};
    gradcheck("relu", [](const Inputs& in) { return relu(in[0]); }, {randn(s)});
    gradcheck("leaky_relu", [](const Inputs& in) { return leaky_relu(in[0], 0.2); }, {randn(s)});
    gradcheck("tanh", [](const Inputs& in) { return ganops::tanh(in[0]); }, {randn(s, DType::F64, 2.0)});
    gradcheck("sigmoid", [](const Inputs& in) { return sigmoid(in[0]); }, {randn(s, DType::F64, 3.0)});
}

TEST_CASE("loss gradients") {
    const Shape s{7, 1};
    const Tensor soft_target = test::rand(s, 0.0, 1.0);
    gradcheck("binary_cross_entropy", [&](const Inputs& in) { return binary_cross_entropy(in[0], soft_target); },
              {test::rand(s, 0.05, 0.95)});
    gradcheck("binary_cross_entropy_with_logits",
              [&](const Inputs& in) { return binary_cross_entropy_with_logits(in[0], soft_target); },
              {randn(s, DType::F64, 3.0)});
}

TEST_CASE("linear, dropout and arithmetic gradients") {
    gradcheck("linear", [](const Inputs& in) { return linear(in[0], in[1], in[2]); },
              {randn({3, 5}), randn({4, 5}), randn({4})});
    gradcheck("linear batch 1", [](const Inputs& in) { return linear(in[0], in[1]); }, {randn({1, 7}), randn({2, 7})});
    gradcheck("dropout", [](const Inputs& in) {
        Generator g{99, 0};  // the same mask on every evaluation
        return dropout(in[0], 0.3, true, g);
    }, {randn({4, 6})});
    gradcheck("add, sub, mul", [](const Inputs& in) { return mul(sub(add(in[0], in[1]), in[2]), in[1]); },
              {randn({2, 3}), randn({2, 3}), randn({2, 3})});
    gradcheck("sum and mean", [](const Inputs& in) { return add(sum(mul(in[0], 3.0)), mean(in[0])); },
              {randn({2, 3, 2})});
    gradcheck("reshape", [](const Inputs& in) { return mul(in[0].reshape({6}), in[1]); }, {randn({2, 3}), randn({6})});
}

TEST_CASE("a small discriminator composed of every op, end to end") {
    gradcheck("conv -> leaky -> conv -> bn -> leaky -> conv -> sigmoid -> bce", [](const Inputs& in) {
        const Tensor labels = Tensor::full({2}, 1.0, DType::F64);
        Tensor h = leaky_relu(conv2d(in[0], in[1], Tensor(), Conv2dOptions::square(2, 1)), 0.2);
        h = conv2d(h, in[2], Tensor(), Conv2dOptions::square(2, 1));
        h = leaky_relu(batchnorm2d(h, in[3], in[4], Tensor(), Tensor(), true), 0.2);
        h = sigmoid(conv2d(h, in[5], Tensor(), Conv2dOptions::square(1, 0)));
        return binary_cross_entropy(h.reshape({2}), labels);
    }, {randn({2, 3, 16, 16}), randn({4, 3, 4, 4}, DType::F64, 0.3), randn({6, 4, 4, 4}, DType::F64, 0.3),
        test::rand({6}, 0.5, 1.5), randn({6}), randn({1, 6, 4, 4}, DType::F64, 0.3)});
}

TEST_CASE("mean over the batch: values and gradients") {
    const Tensor x = Tensor::from_vector({2, 3}, std::vector<double>{1, 2, 3, 5, 6, 10});
    CHECK(mean_rows(x).to_double_vector() == std::vector<double>{3, 4, 6.5});
    CHECK(mean_rows(x).shape() == Shape{3});
    gradcheck("mean_rows 4-d", [](const Inputs& in) { return mean_rows(in[0]); }, {randn({5, 3, 2, 2})});
    gradcheck("feature matching loss", [](const Inputs& in) {
        const Tensor d = sub(mean_rows(in[0]), mean_rows(in[1]));
        return sum(mul(d, d));
    }, {randn({4, 6}), randn({3, 6})});
    CHECK_THROWS_CONTAINING(mean_rows(Tensor::zeros({0, 3}, DType::F64)), "mean_rows: expects [N, ...] with N > 0, got [0, 3]");
}
