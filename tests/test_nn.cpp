#include "test_util.h"

using namespace ganops;

namespace {
std::vector<std::pair<std::string, Shape>> names_and_shapes(const std::vector<std::pair<std::string, Tensor>>& v) {
    std::vector<std::pair<std::string, Shape>> out;
    for (const auto& [name, t] : v) out.emplace_back(name, t.shape());
    return out;
}
int64_t count(const nn::Module& m) {
    int64_t n = 0;
    for (const Tensor& p : m.parameters()) n += p.numel();
    return n;
}
void check_gradients_finite_and_nonzero(const nn::Module& m, const char* which) {
    for (const auto& [name, p] : m.named_parameters()) {
        INFO(which << " " << name);
        REQUIRE(p.grad().defined());
        double norm = 0;
        for (float v : p.grad().to_vector()) {
            REQUIRE(std::isfinite(v));
            norm += double(v) * v;
        }
        CHECK(norm > 0);
    }
}
}  // namespace

TEST_CASE("DCGAN 64x64 has pytorch/examples' parameter names, shapes and counts") {
    const nn::DcganConfig config;  // nz 100, ngf = ndf = 64, nc 3, 64x64
    nn::DcganGenerator g(config);
    nn::DcganDiscriminator d(config);
    using V = std::vector<std::pair<std::string, Shape>>;
    CHECK(names_and_shapes(g.named_parameters()) ==
          V{{"main.0.weight", {100, 512, 4, 4}}, {"main.1.weight", {512}}, {"main.1.bias", {512}},
            {"main.3.weight", {512, 256, 4, 4}}, {"main.4.weight", {256}}, {"main.4.bias", {256}},
            {"main.6.weight", {256, 128, 4, 4}}, {"main.7.weight", {128}}, {"main.7.bias", {128}},
            {"main.9.weight", {128, 64, 4, 4}}, {"main.10.weight", {64}}, {"main.10.bias", {64}},
            {"main.12.weight", {64, 3, 4, 4}}});
    CHECK(names_and_shapes(d.named_parameters()) ==
          V{{"main.0.weight", {64, 3, 4, 4}}, {"main.2.weight", {128, 64, 4, 4}}, {"main.3.weight", {128}},
            {"main.3.bias", {128}}, {"main.5.weight", {256, 128, 4, 4}}, {"main.6.weight", {256}},
            {"main.6.bias", {256}}, {"main.8.weight", {512, 256, 4, 4}}, {"main.9.weight", {512}},
            {"main.9.bias", {512}}, {"main.11.weight", {1, 512, 4, 4}}});
    CHECK(count(g) == 3576704);  // the figures PyTorch prints for this model
    CHECK(count(d) == 2765568);
    const auto buffers = names_and_shapes(d.named_buffers());
    REQUIRE(buffers.size() == 6);
    CHECK(buffers[0] == std::pair<std::string, Shape>{"main.3.running_mean", {128}});
    CHECK(buffers[1] == std::pair<std::string, Shape>{"main.3.running_var", {128}});
}

TEST_CASE("DCGAN builders give the right output shapes for every image size") {
    for (int64_t size : {16, 32, 64, 128}) {
        for (int64_t nc : {1, 3}) {
            INFO("image size " << size << ", " << nc << " channels");
            nn::DcganConfig c{.nz = 8, .ngf = 4, .ndf = 4, .nc = nc, .image_size = size};
            nn::DcganGenerator g(c);
            nn::DcganDiscriminator d(c);
            NoGradGuard no_grad;
            const Tensor fake = g(test::randn({2, 8, 1, 1}, DType::F32));
            CHECK(fake.shape() == Shape{2, nc, size, size});
            for (float v : fake.to_vector()) REQUIRE((v > -1.0f && v < 1.0f));
            const Tensor p = d(fake);
            CHECK(p.shape() == Shape{2});
            for (float v : p.to_vector()) REQUIRE((v > 0.0f && v < 1.0f));
        }
    }
    CHECK_THROWS_CONTAINING(nn::DcganGenerator(nn::DcganConfig{.image_size = 48}),
                            "image_size must be a power of two >= 16, got 48");
    nn::DcganGenerator g(nn::DcganConfig{.nz = 8, .ngf = 4, .nc = 1, .image_size = 16});
    CHECK_THROWS_CONTAINING(g(test::randn({2, 7, 1, 1}, DType::F32)), "noise must be [N, 8, 1, 1], got [2, 7, 1, 1]");
}

TEST_CASE("dcgan_init draws conv weights from N(0, 0.02) and BN weights from N(1, 0.02)") {
    manual_seed(3);
    nn::DcganDiscriminator d(nn::DcganConfig{});
    nn::dcgan_init(d);
    auto stats = [](const Tensor& t) {
        double s = 0, ss = 0;
        const auto v = t.to_double_vector();
        for (double x : v) s += x;
        const double mean = s / static_cast<double>(v.size());
        for (double x : v) ss += (x - mean) * (x - mean);
        return std::pair{mean, std::sqrt(ss / static_cast<double>(v.size()))};
    };
    for (const auto& [name, t] : d.named_parameters()) {
        INFO(name);
        const auto [mean, sd] = stats(t);
        if (t.ndim() == 4) {
            CHECK(std::abs(mean) < 0.005);
            CHECK(std::abs(sd - 0.02) < 0.003);
        } else if (name.ends_with("weight")) {
            CHECK(std::abs(mean - 1) < 0.01);
            CHECK(std::abs(sd - 0.02) < 0.01);
        } else {
            CHECK((mean == 0 && sd == 0));
        }
    }
}

TEST_CASE("train and eval mode switch batchnorm and dropout") {
    nn::Sequential net;
    auto bn = net.emplace<nn::BatchNorm2d>(3);
    Generator gen{11, 0};
    net.emplace<nn::Dropout>(0.5, &gen);
    const Tensor x = test::randn({4, 3, 2, 2}, DType::F32, 3.0);
    const Tensor train_out = net(x);
    CHECK(bn->num_batches_tracked == 1);
    int zeros = 0;
    for (float v : train_out.to_vector()) zeros += v == 0.0f;
    CHECK(zeros > 8);   // about half of 48 dropped
    CHECK(zeros < 40);
    net.eval();
    CHECK_FALSE(bn->is_training());
    const auto eval_out = net(x).to_vector();
    const auto xs = x.to_vector(), rm = bn->running_mean.to_vector(), rv = bn->running_var.to_vector();
    for (size_t i = 0; i < xs.size(); ++i) {
        const size_t c = (i / 4) % 3;
        REQUIRE(std::abs(eval_out[i] - (xs[i] - rm[c]) / std::sqrt(rv[c] + 1e-5f)) < 1e-5);
    }
    CHECK(bn->num_batches_tracked == 1);
}

TEST_CASE("a tiny DCGAN does one full training iteration on the CPU") {
    manual_seed(1);
    const nn::DcganConfig c{.nz = 16, .ngf = 8, .ndf = 8, .nc = 3, .image_size = 32};
    nn::DcganGenerator g(c);
    nn::DcganDiscriminator d(c);
    nn::dcgan_init(g);
    nn::dcgan_init(d);
    nn::Adam opt_g(g.parameters(), {.lr = 2e-4, .beta1 = 0.5});
    nn::Adam opt_d(d.parameters(), {.lr = 2e-4, .beta1 = 0.5});
    const int64_t batch = 4;
    const Tensor real = test::rand({batch, 3, 32, 32}, -1, 1, DType::F32);
    const Tensor noise = test::randn({batch, 16, 1, 1}, DType::F32);
    const Tensor ones = Tensor::full({batch}, 1.0), zeros = Tensor::zeros({batch});
    const auto d_before = d.parameters()[0].to_vector();
    const auto g_before = g.parameters()[0].to_vector();

    // D step: real batch, then the fake batch detached from G.
    opt_d.zero_grad();
    const Tensor err_real = binary_cross_entropy(d(real), ones);
    err_real.backward();
    const Tensor fake = g(noise);
    const Tensor err_fake = binary_cross_entropy(d(fake.detach()), zeros);
    err_fake.backward();
    for (const auto& [name, p] : g.named_parameters()) {
        INFO(name);
        CHECK_FALSE(p.grad().defined());  // the D step never reaches G
    }
    check_gradients_finite_and_nonzero(d, "D");
    opt_d.step();

    // G step: the same fake batch, labelled real.
    opt_g.zero_grad();
    const Tensor err_g = binary_cross_entropy(d(fake), ones);
    err_g.backward();
    check_gradients_finite_and_nonzero(g, "G");
    opt_g.step();
    for (double l : {err_real.item(), err_fake.item(), err_g.item()}) CHECK(std::isfinite(l));
    CHECK(d.parameters()[0].to_vector() != d_before);
    CHECK(g.parameters()[0].to_vector() != g_before);
}

TEST_CASE("Linear, Sequential naming and zero_grad") {
    nn::Sequential net;
    net.emplace<nn::Linear>(5, 3);
    net.emplace<nn::LeakyReLU>(0.2);
    net.emplace<nn::Linear>(3, 1, false);
    const auto names = names_and_shapes(net.named_parameters());
    using V = std::vector<std::pair<std::string, Shape>>;
    CHECK(names == V{{"0.weight", {3, 5}}, {"0.bias", {3}}, {"2.weight", {1, 3}}});
    sum(net(test::randn({2, 5}, DType::F32))).backward();
    for (const Tensor& p : net.parameters()) CHECK(p.grad().defined());
    net.zero_grad();
    for (const Tensor& p : net.parameters()) CHECK_FALSE(p.grad().defined());
    CHECK(net.size() == 3);
}
