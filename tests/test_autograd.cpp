#include "test_util.h"
#include <cstring>

#include "kernels/activation.h"
#include "kernels/elementwise.h"

using namespace ganops;

namespace {
Tensor scalar(double v) { return Tensor::from_vector({1}, std::vector<double>{v}); }
double grad_of(const Tensor& t) { return t.grad().item(); }
}  // namespace

TEST_CASE("gradients of a chain by hand") {
    const Tensor a = scalar(3.0).set_requires_grad(true);
    const Tensor b = scalar(-2.0).set_requires_grad(true);
    const Tensor y = mul(add(mul(a, b), a), 2.0);  // y = 2 (ab + a)
    y.backward();
    CHECK(grad_of(a) == 2.0 * (-2.0 + 1.0));
    CHECK(grad_of(b) == 2.0 * 3.0);
}

TEST_CASE("a tensor used twice receives the sum of its gradients") {
    const Tensor x = scalar(1.5).set_requires_grad(true);
    const Tensor y = mul(x, x);  // both inputs are x
    y.backward();
    CHECK(grad_of(x) == 3.0);
}

TEST_CASE("gradients accumulate across backward calls until cleared") {
    const Tensor x = scalar(2.0).set_requires_grad(true);
    const Tensor y = mul(x, 3.0);
    y.backward();
    y.backward();  // the graph is kept: a second pass through it accumulates
    CHECK(grad_of(x) == 6.0);
    x.set_grad(Tensor());
    mul(x, 4.0).backward();
    CHECK(grad_of(x) == 4.0);
}

TEST_CASE("the GAN pattern: one fake batch feeds a detached D step and a G step") {
    // g -> fake; D step sees fake.detach() (no gradient to g); G step sees fake.
    const Tensor g = test::randn({4}).set_requires_grad(true);
    const Tensor d = test::randn({4}).set_requires_grad(true);
    const Tensor fake = tanh(g);
    const Tensor d_loss = sum(mul(fake.detach(), d));
    d_loss.backward();
    CHECK_FALSE(g.grad().defined());
    const auto d_grad_after_d_step = d.grad().to_double_vector();
    CHECK(d_grad_after_d_step == fake.to_double_vector());

    const Tensor g_loss = sum(mul(fake, d));
    g_loss.backward();
    const auto gv = g.to_double_vector(), dv = d.to_double_vector(), gg = g.grad().to_double_vector();
    for (size_t i = 0; i < gv.size(); ++i) {
        const double t = std::tanh(gv[i]);
        CHECK(std::abs(gg[i] - dv[i] * (1 - t * t)) < 1e-14);
    }
    // D's gradient accumulated once more through the G step, as in PyTorch.
    const auto dg = d.grad().to_double_vector();
    for (size_t i = 0; i < dg.size(); ++i) CHECK(std::abs(dg[i] - 2 * d_grad_after_d_step[i]) < 1e-14);
}

TEST_CASE("no-grad scopes record nothing; detach cuts the graph") {
    const Tensor x = test::randn({3}).set_requires_grad(true);
    {
        NoGradGuard no_grad;
        const Tensor y = mul(x, 2.0);
        CHECK_FALSE(y.requires_grad());
        CHECK(y.grad_fn() == nullptr);
    }
    CHECK(grad_mode_enabled());
    const Tensor y = mul(x, 2.0);
    CHECK(y.requires_grad());
    CHECK(y.grad_fn()->name == "mul_scalar");
    const Tensor z = y.detach();
    CHECK_FALSE(z.requires_grad());
    CHECK(z.shares_storage_with(y));
}

TEST_CASE("a leaf's gradient never aliases the caller's grad_output") {
    const Tensor x = test::randn({3}).set_requires_grad(true);
    const Tensor y = add(x, Tensor::zeros({3}, DType::F64));
    const Tensor upstream = test::randn({3});
    y.backward(upstream);
    CHECK_FALSE(x.grad().shares_storage_with(upstream));
    CHECK(x.grad().to_double_vector() == upstream.to_double_vector());
}

TEST_CASE("a leaf's first gradient is kept without a copy when nothing else holds it, copied when something does") {
    // An op whose backward returns a fresh tensor it made (as a conv's weight gradient is), and
    // one whose backward hands out a tensor the test also holds.
    const Tensor x = test::randn({5}).set_requires_grad(true);
    const Tensor kept_by_test = test::randn({5});
    const void* fresh_data = nullptr;
    auto fresh_grad_op = [&](const Tensor& in) {
        return record("fresh", in.detach().clone(), {in}, [&](const Tensor& dy, const std::vector<bool>&) {
            Tensor g = kernels::add(dy, kept_by_test);  // a new tensor, held only by the returned vector
            fresh_data = g.data_ptr();
            return std::vector<Tensor>{g};
        });
    };
    auto shared_grad_op = [&](const Tensor& in) {
        return record("shared", in.detach().clone(), {in},
                      [&](const Tensor&, const std::vector<bool>&) { return std::vector<Tensor>{kept_by_test}; });
    };
    const Tensor upstream = test::randn({5});
    fresh_grad_op(x).backward(upstream);
    CHECK(x.grad().data_ptr() == fresh_data);  // no copy
    const std::vector<double> expected = kernels::add(upstream, kept_by_test).to_double_vector();
    CHECK(x.grad().to_double_vector() == expected);

    // A later gradient is added out of place: the .grad the caller kept does not change.
    const Tensor first = x.grad();
    shared_grad_op(x).backward(upstream);
    CHECK(first.to_double_vector() == expected);
    CHECK(x.grad().to_double_vector() == kernels::add(kernels::add(upstream, kept_by_test), kept_by_test).to_double_vector());

    // The first gradient held elsewhere: copied, so that writing one does not write the other.
    const Tensor z = test::randn({5}).set_requires_grad(true);
    shared_grad_op(z).backward(upstream);
    CHECK_FALSE(z.grad().shares_storage_with(kept_by_test));
    CHECK(z.grad().to_double_vector() == kept_by_test.to_double_vector());
}

TEST_CASE("gradients flow through reshape views") {
    const Tensor x = test::randn({2, 3}).set_requires_grad(true);
    const Tensor w = test::randn({6});
    sum(mul(x.reshape({6}), w)).backward();
    CHECK(x.grad().shape() == Shape{2, 3});
    CHECK(x.grad().to_double_vector() == w.to_double_vector());
}

TEST_CASE("backward refuses what it cannot do, naming the tensor") {
    const Tensor x = test::randn({3});
    CHECK_THROWS_CONTAINING(x.backward(), "does not require grad");
    const Tensor w = test::randn({3}).set_requires_grad(true);
    const Tensor y = mul(w, 2.0);
    CHECK_THROWS_CONTAINING(y.backward(), "has more than one element");
    CHECK_THROWS_CONTAINING(y.backward(test::randn({4})), "does not match tensor [3] float64 cpu");
    CHECK_THROWS_CONTAINING(y.set_requires_grad(true), "only leaves can be marked");
}

namespace {
// y = x * w, recorded with a backward that notes which gradients it was asked for: the
// place where a convolution decides whether to run its weight-gradient kernel.
struct Probe {
    int calls = 0;
    std::vector<bool> last_needs;
};
Tensor probed_mul(const Tensor& x, const Tensor& w, Probe& probe) {
    const Tensor y = [&] {
        NoGradGuard no_grad;
        return mul(x, w);
    }();
    return record("probed_mul", y, {x, w}, [x, w, &probe](const Tensor& dy, const std::vector<bool>& needs) {
        ++probe.calls;
        probe.last_needs = needs;
        return std::vector<Tensor>{needs[0] ? mul(dy, w) : Tensor(), needs[1] ? mul(dy, x) : Tensor()};
    });
}
}  // namespace

TEST_CASE("backward with inputs: only those leaves get gradients, equal to the full backward's, and no other work runs") {
    // The GAN generator step in miniature: g -> fake -> D (weight d) -> loss.
    const Tensor z = test::randn({6});
    const Tensor g = test::randn({6}).set_requires_grad(true);
    const Tensor d = test::randn({6}).set_requires_grad(true);
    Probe probe;
    auto loss_of = [&] { return sum(tanh(probed_mul(mul(tanh(g), z), d, probe))); };

    const Tensor full = loss_of();
    full.backward();
    CHECK(probe.last_needs == std::vector<bool>{true, true});
    const auto g_full = g.grad().to_double_vector();

    g.set_grad(Tensor());
    const Tensor sentinel = test::randn({6});
    d.set_grad(sentinel.clone());
    const Tensor only_g = loss_of();
    backward(only_g, Tensor(), {g});
    CHECK(probe.last_needs == std::vector<bool>{true, false});  // D's weight gradient is not asked for
    CHECK(g.grad().to_double_vector() == g_full);                 // the same bits as the full backward
    CHECK(d.grad().to_double_vector() == sentinel.to_double_vector());  // untouched

    // And the gradient is right: central differences in double.
    const auto gv = g.to_double_vector();
    for (size_t i = 0; i < gv.size(); ++i) {
        auto at = [&](double delta) {
            std::vector<double> v = gv;
            v[i] += delta;
            NoGradGuard no_grad;
            const Tensor gi = Tensor::from_vector({6}, v);
            return sum(tanh(mul(mul(tanh(gi), z), d))).item();
        };
        const double h = 1e-6, numeric = (at(h) - at(-h)) / (2 * h);
        CHECK(std::abs(g_full[i] - numeric) < 1e-7 * std::max(1.0, std::abs(numeric)));
    }
}

TEST_CASE("grad returns gradients for leaves and intermediate tensors and writes no .grad") {
    const Tensor a = test::randn({5}).set_requires_grad(true);
    const Tensor b = test::randn({5}).set_requires_grad(true);
    const Tensor h = tanh(mul(a, b));
    const Tensor y = sum(mul(h, h));  // dy/dh = 2h
    Probe probe;
    const Tensor unrelated = probed_mul(a, b, probe);
    const std::vector<Tensor> grads = grad(y, {h, b, unrelated.detach().set_requires_grad(true)});
    REQUIRE(grads.size() == 3);
    const auto hv = h.to_double_vector(), av = a.to_double_vector(), gh = grads[0].to_double_vector(),
               gb = grads[1].to_double_vector();
    for (size_t i = 0; i < hv.size(); ++i) {
        CHECK(gh[i] == 2 * hv[i]);
        CHECK(std::abs(gb[i] - 2 * hv[i] * (1 - hv[i] * hv[i]) * av[i]) < 1e-14);
    }
    CHECK_FALSE(grads[2].defined());  // y does not depend on it
    CHECK(probe.calls == 0);          // nor on the probe: its backward never ran
    CHECK_FALSE(a.grad().defined());
    CHECK_FALSE(b.grad().defined());

    // Equal to what a full backward leaves in b.grad.
    y.backward();
    CHECK(b.grad().to_double_vector() == gb);
}

TEST_CASE("backward with inputs and grad refuse what they cannot do, naming the tensor") {
    const Tensor a = test::randn({3}).set_requires_grad(true);
    const Tensor y = sum(mul(a, a));
    CHECK_THROWS_CONTAINING(backward(y, Tensor(), {mul(a, 2.0)}), "not a leaf tensor that requires grad");
    CHECK_THROWS_CONTAINING(backward(y, Tensor(), {test::randn({3})}), "inputs[0]");
    CHECK_THROWS_CONTAINING(grad(y, {test::randn({3})}), "does not require grad");
    CHECK_THROWS_CONTAINING(grad(test::randn({1}), {a}), "does not require grad");
}

TEST_CASE("ReLU and LeakyReLU differentiate through their saved output, bit for bit as through their input") {
    // Autograd keeps the activation's output (nn/functional/activation.cpp), which the next
    // layer saves anyway; the kernels read only its sign. Zeros and negatives included.
    Tensor x = test::randn({257}, DType::F32);
    std::vector<float> v = x.to_vector();
    for (size_t i = 0; i < v.size(); i += 7) v[i] = 0.0f;
    v[1] = -0.0f;
    v[2] = 1e-42f;   // subnormal: its product with the slope underflows
    v[3] = -1e-42f;
    x = Tensor::from_vector({257}, v).set_requires_grad(true);
    const Tensor dy = test::randn({257}, DType::F32);
    for (double slope : {0.2, 0.0, 1e-3}) {
        const Tensor y = slope == 0.0 ? relu(x) : leaky_relu(x, slope);
        y.backward(dy);
        const Tensor expected = slope == 0.0 ? kernels::relu_backward(dy, x.detach()) : kernels::leaky_relu_backward(dy, x.detach(), slope);
        const std::vector<float> got = x.grad().to_vector(), want = expected.to_vector();
        CHECK(std::memcmp(got.data(), want.data(), want.size() * sizeof(float)) == 0);
        x.set_grad(Tensor());
    }
    // A negative slope flips the sign: that LeakyReLU keeps its input, and is still right.
    const Tensor y = leaky_relu(x, -0.5);
    y.backward(dy);
    CHECK(test::rel_error(x.grad(), kernels::leaky_relu_backward(dy, x.detach(), -0.5)) == 0.0);
}

TEST_CASE("backward with SavedTensors::Free gives the same gradients and refuses a second pass through the freed graph") {
    const Tensor w = test::randn({6, 5}).set_requires_grad(true);
    const Tensor x = test::randn({3, 5});
    auto loss = [&] { return sum(mul(sigmoid(relu(linear(x, w, Tensor()))), test::randn({3, 6}))); };
    Generator saved = test::rng();
    const Tensor kept = loss();
    kept.backward();
    const Tensor g_keep = w.grad();
    w.set_grad(Tensor());
    test::rng() = saved;  // the same random weights in the loss
    const Tensor freed = loss();
    backward(freed, Tensor(), SavedTensors::Free);
    CHECK(test::rel_error(w.grad(), g_keep) == 0.0);
    CHECK_THROWS_CONTAINING(backward(freed, Tensor(), SavedTensors::Free), "was freed by an earlier backward");
    // A kept graph can be walked again, and accumulates.
    kept.backward();
    CHECK(test::rel_error(w.grad(), kernels::add(g_keep, g_keep)) == 0.0);
}
