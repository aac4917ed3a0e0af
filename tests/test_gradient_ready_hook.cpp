// Gradient-ready hooks (core/autograd.h): backward() reports each leaf once, as soon as its
// gradient in the pass is final, while the nodes that do not lead to it are still waiting.
// What a data-parallel reducer builds on to start a bucket's all-reduce during backward.
#include <algorithm>
#include <string>
#include <vector>

#include "test_util.h"

using namespace ganops;

namespace {

// An identity op whose backward writes `name` into `events` when it runs: marks how far the
// reverse pass has got.
Tensor marker(const Tensor& x, const std::string& name, std::vector<std::string>& events) {
    Tensor out;
    {
        NoGradGuard no_grad;
        out = x.clone();
    }
    return record("marker", out, {x}, [&events, name](const Tensor& dy, const std::vector<bool>&) {
        events.push_back(name);
        return std::vector<Tensor>{dy};
    });
}

struct Leaves {
    Tensor x = test::randn({5}), a = test::randn({5}), b = test::randn({5}), c = test::randn({5});
    Leaves() {
        for (const Tensor* t : {&x, &a, &b, &c}) t->set_requires_grad(true);
    }
    std::string name_of(const Tensor& t) const {
        if (t.is_same(x)) return "x";
        if (t.is_same(a)) return "a";
        if (t.is_same(b)) return "b";
        if (t.is_same(c)) return "c";
        return "?";
    }
};

}  // namespace

TEST_CASE("gradient-ready hooks: each leaf once, with its final gradient, before the pass reaches the input side") {
    Leaves l;
    std::vector<std::string> events;
    std::vector<std::pair<std::string, std::vector<double>>> seen;  // the .grad each leaf had when reported
    // y = sum(((m(x) * a) + b) * c * a): a feeds the first and the last multiplication, so its
    // gradient is final only after the first one's backward; c's and b's long before.
    const Tensor h = add(mul(marker(l.x, "x side", events), l.a), l.b);
    const Tensor y = sum(mul(mul(h, l.c), l.a));
    {
        GradientReadyHook hook([&](const Tensor& leaf) {
            events.push_back("ready " + l.name_of(leaf));
            seen.push_back({l.name_of(leaf), leaf.grad().to_double_vector()});
        });
        y.backward();
    }
    // Every leaf once; c and b before the marker next to x ran, a and x after it.
    REQUIRE(seen.size() == 4);
    auto position = [&](const std::string& e) { return std::find(events.begin(), events.end(), e) - events.begin(); };
    for (const char* e : {"ready a", "ready b", "ready c", "ready x", "x side"}) {
        INFO(e);
        CHECK(std::count(events.begin(), events.end(), e) == 1);
    }
    CHECK(position("ready c") < position("x side"));
    CHECK(position("ready b") < position("x side"));
    CHECK(position("ready a") > position("ready b"));  // after a's first use, the last node before x's marker
    CHECK(position("ready a") < position("x side"));
    CHECK(position("ready x") > position("x side"));
    // The gradient a hook sees is the one backward leaves.
    for (const auto& [name, grad] : seen) {
        const Tensor& leaf = name == "x" ? l.x : name == "a" ? l.a : name == "b" ? l.b : l.c;
        INFO(name);
        CHECK(grad == leaf.grad().to_double_vector());
    }
    // A hook gone hears nothing; a second pass accumulates and reports the sum.
    events.clear();
    y.backward();
    CHECK(std::count_if(events.begin(), events.end(), [](const std::string& e) { return e.rfind("ready", 0) == 0; }) == 0);
    const std::vector<double> twice = l.c.grad().to_double_vector();
    std::vector<double> c_seen;
    {
        GradientReadyHook hook([&](const Tensor& leaf) {
            if (leaf.is_same(l.c)) c_seen = leaf.grad().to_double_vector();
        });
        y.backward();
    }
    REQUIRE(c_seen.size() == 5);
    for (size_t i = 0; i < 5; ++i) CHECK(c_seen[i] == Approx(1.5 * twice[i]).epsilon(1e-6));
}

TEST_CASE("gradient-ready hooks: backward with inputs reports only those; grad() reports none; hooks run in order") {
    Leaves l;
    const Tensor y = sum(mul(add(mul(l.x, l.a), l.b), l.c));
    std::vector<std::string> first, second;
    GradientReadyHook one([&](const Tensor& leaf) { first.push_back(l.name_of(leaf)); });
    GradientReadyHook two([&](const Tensor& leaf) {
        second.push_back(l.name_of(leaf));
        CHECK(first.size() == second.size());  // the older hook heard of it first
    });
    backward(y, Tensor(), {l.a, l.c});
    CHECK(first == std::vector<std::string>{"c", "a"});  // output side first
    CHECK(second == first);
    CHECK_FALSE(l.b.grad().defined());
    first.clear();
    second.clear();
    const std::vector<Tensor> g = grad(y, {l.a, l.b});
    CHECK(g[0].defined());
    CHECK(first.empty());
    // A leaf that is the root itself.
    l.b.backward(Tensor::full({5}, 2.0, DType::F64));
    CHECK(first == std::vector<std::string>{"b"});
}
