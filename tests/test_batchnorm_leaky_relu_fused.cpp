// batchnorm2d + relu / leaky_relu fused into one CPU pass each way
// (kernels/cpu/batchnorm2d_activation.cpp, nn::batchnorm2d_leaky_relu, chosen by Sequential)
// against the unfused ops: outputs, running statistics and every gradient, on fresh random
// inputs with odd shapes, in float and double; gradients by central differences in double.
#include <cmath>

#include "nn/sequential.h"
#include "test_util.h"

using namespace ganops;
using test::randn;

namespace {

struct Result {
    Tensor y, dx, dweight, dbias, running_mean, running_var;
};

// One training step of batchnorm then the activation, fused or not, from the same inputs.
Result run(bool fused, const Tensor& x0, const Tensor& w0, const Tensor& b0, const Tensor& r, double slope) {
    Tensor x = x0.clone(), w = w0.clone(), b = b0.clone();
    x.set_requires_grad(true);
    w.set_requires_grad(true);
    b.set_requires_grad(true);
    const int64_t c = x0.size(1);
    Tensor running_mean = Tensor::zeros({c}, x0.dtype()), running_var = Tensor::full({c}, 1.0, x0.dtype());
    const Tensor y = fused ? batchnorm2d_leaky_relu(x, w, b, running_mean, running_var, slope, 0.1, 1e-5)
                           : leaky_relu(batchnorm2d(x, w, b, running_mean, running_var, true, 0.1, 1e-5), slope);
    y.backward(r);
    return {y.detach(), x.grad(), w.grad(), b.grad(), running_mean, running_var};
}

void compare(const Result& a, const Result& b, double tolerance) {
    CHECK(test::rel_error(a.y, b.y) < tolerance);
    CHECK(test::rel_error(a.dx, b.dx) < tolerance);
    CHECK(test::rel_error(a.dweight, b.dweight) < tolerance);
    CHECK(test::rel_error(a.dbias, b.dbias) < tolerance);
    CHECK(test::rel_error(a.running_mean, b.running_mean) < tolerance);
    CHECK(test::rel_error(a.running_var, b.running_var) < tolerance);
}

}  // namespace

TEST_CASE("fused batchnorm2d + leaky_relu matches the two ops", "[batchnorm]") {
    for (const DType t : {DType::F32, DType::F64})
        for (const Shape& s : {Shape{7, 5, 3, 5}, Shape{64, 16, 8, 8}, Shape{9, 6}, Shape{3, 4, 1, 1}})
            for (const double slope : {0.0, 0.2}) {
                INFO(s.str() << (t == DType::F32 ? " float" : " double") << " slope " << slope);
                const int64_t c = s[1];
                // A shifted, scaled input (not centred at zero) and weights of both signs.
                const Tensor x = add(mul(randn(s, t), 3.0), Tensor::full(s, 1.5, t));
                const Tensor w = randn({c}, t), b = randn({c}, t), r = randn(s, t);
                compare(run(true, x, w, b, r, slope), run(false, x, w, b, r, slope), t == DType::F32 ? 2e-5 : 1e-12);
            }
}

TEST_CASE("fused batchnorm2d + leaky_relu gradients by central differences", "[batchnorm]") {
    using Inputs = std::vector<Tensor>;
    for (const Shape& s : {Shape{3, 2, 3, 3}, Shape{5, 3}, Shape{2, 4, 1, 3}})
        for (const double slope : {0.0, 0.2})
            test::gradcheck("batchnorm2d_leaky_relu " + s.str(),
                            [&](const Inputs& in) {
                                return batchnorm2d_leaky_relu(in[0], in[1], in[2], Tensor(), Tensor(), slope);
                            },
                            {randn(s), randn({s[1]}), randn({s[1]})});
}

TEST_CASE("Sequential runs BatchNorm2d + ReLU / LeakyReLU fused, with the unfused results", "[batchnorm]") {
    for (const bool leaky : {false, true}) {
        INFO((leaky ? "LeakyReLU" : "ReLU"));
        auto make = [&] {
            auto seq = std::make_shared<nn::Sequential>();
            seq->emplace<nn::BatchNorm2d>(6);
            if (leaky)
                seq->emplace<nn::LeakyReLU>(0.2);
            else
                seq->emplace<nn::ReLU>();
            return seq;
        };
        auto seq = make();
        auto& bn = dynamic_cast<nn::BatchNorm2d&>((*seq)[0]);
        bn.weight = randn({6}, DType::F32);
        bn.bias = randn({6}, DType::F32);
        bn.weight.set_requires_grad(true);
        bn.bias.set_requires_grad(true);
        // The same layer run unfused, child by child.
        nn::BatchNorm2d ref(6);
        ref.weight = bn.weight.detach().clone();
        ref.bias = bn.bias.detach().clone();
        ref.weight.set_requires_grad(true);
        ref.bias.set_requires_grad(true);

        const Tensor x0 = randn({10, 6, 5, 7}, DType::F32), r = randn({10, 6, 5, 7}, DType::F32);
        Tensor x = x0.clone(), x_ref = x0.clone();
        x.set_requires_grad(true);
        x_ref.set_requires_grad(true);
        const Tensor y = seq->forward(x);
        const Tensor y_ref = leaky ? leaky_relu(ref.forward(x_ref), 0.2) : relu(ref.forward(x_ref));
        y.backward(r);
        y_ref.backward(r);
        CHECK(test::rel_error(y, y_ref) < 2e-5);
        CHECK(test::rel_error(x.grad(), x_ref.grad()) < 2e-5);
        CHECK(test::rel_error(bn.weight.grad(), ref.weight.grad()) < 2e-5);
        CHECK(test::rel_error(bn.bias.grad(), ref.bias.grad()) < 2e-5);
        CHECK(test::rel_error(bn.running_mean, ref.running_mean) < 2e-5);
        CHECK(test::rel_error(bn.running_var, ref.running_var) < 2e-5);
        CHECK(bn.num_batches_tracked == 1);
        // The fused op is what ran: its node is the output's.
        REQUIRE(y.grad_fn());
        CHECK(std::string(y.grad_fn()->name) == "batchnorm2d_leaky_relu");

        // Evaluation mode falls back to the two ops, with the running statistics.
        seq->eval();
        ref.eval();
        NoGradGuard no_grad;
        const Tensor e = seq->forward(x0), e_ref = leaky ? leaky_relu(ref.forward(x0), 0.2) : relu(ref.forward(x0));
        CHECK(test::rel_error(e, e_ref) < 2e-5);
    }
}

TEST_CASE("the fused op refuses what it cannot compute", "[batchnorm]") {
    const Tensor x = randn({4, 3, 2, 2}, DType::F32), w = randn({3}, DType::F32), b = randn({3}, DType::F32);
    CHECK_THROWS_WITH(batchnorm2d_leaky_relu(x, w, b, Tensor(), Tensor(), -0.1),
                      Catch::Contains("negative_slope must be >= 0"));
    CHECK_THROWS_WITH(batchnorm2d_leaky_relu(x, randn({4}, DType::F32), b, Tensor(), Tensor(), 0.2),
                      Catch::Contains("does not match the 3 channels"));
    // A negative slope through Sequential runs unfused, with the right result.
    nn::Sequential seq;
    seq.emplace<nn::BatchNorm2d>(3);
    seq.emplace<nn::LeakyReLU>(-0.5);
    nn::BatchNorm2d ref(3);
    const Tensor y = seq.forward(x), y_ref = leaky_relu(ref.forward(x), -0.5);
    CHECK(test::rel_error(y, y_ref) < 1e-6);
}
