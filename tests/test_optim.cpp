// Optimizer trajectories against values computed independently from PyTorch's documented
// update rules.
#include "test_util.h"

using namespace ganops;

namespace {
std::vector<double> run(auto& optimizer, const Tensor& p, const std::vector<double>& grads) {
    std::vector<double> trajectory;
    for (double g : grads) {
        p.set_grad(Tensor::from_vector({1}, std::vector<double>{g}));
        optimizer.step();
        trajectory.push_back(p.item());
    }
    return trajectory;
}
void check_trajectory(const std::vector<double>& got, const std::vector<double>& want) {
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) {
        INFO("step " << i + 1);
        CHECK(std::abs(got[i] - want[i]) < 1e-11);
    }
}
Tensor param(double v) { return Tensor::from_vector({1}, std::vector<double>{v}).set_requires_grad(true); }
}  // namespace

TEST_CASE("Adam: three steps with bias correction") {
    const Tensor p = param(1.0);
    nn::Adam adam({p}, {.lr = 0.1, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8});
    check_trajectory(run(adam, p, {0.5, -0.25, 1.0}), {0.900000002000, 0.873366298708, 0.807555139677});
    CHECK(adam.steps_taken == 3);
}

TEST_CASE("Adam: DCGAN's beta1 with weight decay") {
    const Tensor p = param(-2.0);
    nn::Adam adam({p}, {.lr = 0.01, .beta1 = 0.5, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.1});
    check_trajectory(run(adam, p, {0.3, 0.3, -0.1}), {-2.009999999000, -2.019983146629, -2.013227412304});
}

TEST_CASE("Adam in float32 follows the double trajectory") {
    const Tensor p = Tensor::from_vector({1}, std::vector<float>{1.0f}).set_requires_grad(true);
    nn::Adam adam({p}, {.lr = 0.1});
    for (float g : {0.5f, -0.25f, 1.0f}) {
        p.set_grad(Tensor::from_vector({1}, std::vector<float>{g}));
        adam.step();
    }
    CHECK(std::abs(p.item() - 0.807555139677) < 1e-6);
}

TEST_CASE("SGD: momentum and Nesterov with weight decay") {
    const Tensor a = param(1.0);
    nn::SGD plain({a}, {.lr = 0.1, .momentum = 0.9});
    check_trajectory(run(plain, a, {0.5, -0.25, 1.0}), {0.95, 0.93, 0.812});
    const Tensor b = param(1.0);
    nn::SGD nesterov({b}, {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
    check_trajectory(run(nesterov, b, {0.5, -0.25, 1.0}), {0.9031, 0.90757411, 0.698189208191});
}

TEST_CASE("optimizers skip parameters without gradients and zero_grad clears them") {
    const Tensor a = param(1.0), b = param(2.0);
    nn::Adam adam({a, b});
    a.set_grad(Tensor::from_vector({1}, std::vector<double>{1.0}));
    adam.step();
    CHECK(a.item() < 1.0);
    CHECK(b.item() == 2.0);
    adam.zero_grad();
    CHECK_FALSE(a.grad().defined());
}

TEST_CASE("bad hyper-parameters are refused by name") {
    const Tensor p = param(1.0);
    CHECK_THROWS_CONTAINING(nn::Adam({p}, {.lr = -1}), "Adam: learning rate must be >= 0, got -1");
    CHECK_THROWS_CONTAINING(nn::Adam({p}, {.beta1 = 1.0}), "Adam: beta1 must be in [0, 1), got 1");
    CHECK_THROWS_CONTAINING(nn::Adam({p}, {.beta2 = -0.5}), "Adam: beta2 must be in [0, 1)");
    CHECK_THROWS_CONTAINING(nn::SGD({p}, {.lr = 0.1, .nesterov = true}), "nesterov momentum requires momentum > 0");
    CHECK_THROWS_CONTAINING(nn::Adam({test::randn({2})}), "is not a leaf tensor that requires grad");
}
