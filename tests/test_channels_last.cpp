// Channels-last (NHWC) memory format on the CPU: the format on tensors, the conversions,
// autograd through them, views, checkpoints, and every op's handling of it
// (channels_last_cases.h). The GPU side is test_cuda_channels_last.
#include <filesystem>

#include "channels_last_cases.h"
#include "kernels/cpu/layout.h"
#include "nn/checkpoint.h"

using namespace ganops;

namespace {
// x[n][c][h][w] for x of shape [N, C, H, W] in logical order.
double at(const std::vector<double>& v, const Shape& s, int64_t n, int64_t c, int64_t h, int64_t w) {
    return v[size_t(((n * s[1] + c) * s[2] + h) * s[3] + w)];
}
}  // namespace

TEST_CASE("the CPU batched transpose moves every element, blocks and edges alike") {
    for (auto [b, r, c] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1}, {2, 3, 70}, {3, 37, 33}, {1, 64, 64}, {2, 100, 9}}) {
        std::vector<float> in(size_t(b * r * c)), out(in.size(), -1.0f);
        for (size_t i = 0; i < in.size(); ++i) in[i] = float(i) * 0.5f + 1;
        kernels::cpu::batched_transpose(in.data(), b, r, c, out.data());
        for (int64_t k = 0; k < b; ++k)
            for (int64_t i = 0; i < r; ++i)
                for (int64_t j = 0; j < c; ++j)
                    REQUIRE(out[size_t((k * c + j) * r + i)] == in[size_t((k * r + i) * c + j)]);
    }
}

TEST_CASE("to_memory_format stores NHWC, keeps the logical values, and round-trips") {
    const Shape s{2, 3, 4, 5};
    const Tensor x = test::randn(s);
    const Tensor y = x.to_memory_format(MemoryFormat::ChannelsLast);
    REQUIRE(y.is_channels_last());
    REQUIRE(y.shape() == s);
    REQUIRE_FALSE(y.shares_storage_with(x));
    CHECK(y.str().find("channels_last") != std::string::npos);
    const std::vector<double> v = x.to_double_vector();
    const double* raw = y.data<double>();  // storage order: [n][h][w][c]
    for (int64_t n = 0; n < 2; ++n)
        for (int64_t c = 0; c < 3; ++c)
            for (int64_t h = 0; h < 4; ++h)
                for (int64_t w = 0; w < 5; ++w) REQUIRE(raw[((n * 4 + h) * 5 + w) * 3 + c] == at(v, s, n, c, h, w));
    CHECK(y.to_double_vector() == v);  // logical order, whatever the storage
    const Tensor back = y.to_memory_format(MemoryFormat::Contiguous);
    CHECK_FALSE(back.is_channels_last());
    CHECK(std::equal(v.begin(), v.end(), back.data<double>()));
    CHECK(y.to_memory_format(MemoryFormat::ChannelsLast).is_same(y));  // already there: itself
}

TEST_CASE("one channel or one pixel: channels-last is a relabelled view, not a copy") {
    for (const Shape& s : {Shape{4, 1, 3, 3}, Shape{4, 7, 1, 1}}) {
        const Tensor x = test::randn(s);
        const Tensor y = x.to_memory_format(MemoryFormat::ChannelsLast);
        CHECK(y.is_channels_last());
        CHECK(y.shares_storage_with(x));
        CHECK(y.storage_is_nchw());
        CHECK(y.to_double_vector() == x.to_double_vector());
    }
}

TEST_CASE("channels-last needs a 4-d tensor: other shapes are refused naming the shape") {
    CHECK_THROWS_CONTAINING(test::randn({3, 4}).to_memory_format(MemoryFormat::ChannelsLast), "needs a 4-d");
    CHECK_THROWS_CONTAINING(Tensor::empty({2, 3, 4}, DType::F32, Device::CPU, MemoryFormat::ChannelsLast), "[2, 3, 4]");
}

TEST_CASE("clone, detach, slice_rows, to(dtype) and to(device) keep the format; copy_from converts") {
    const Tensor x = test::randn({4, 3, 2, 5}).to_memory_format(MemoryFormat::ChannelsLast);
    const std::vector<double> v = x.to_double_vector();
    for (const Tensor& t : {x.clone(), x.detach(), x.to(DType::F32), x.to(Device::CPU)}) {
        CHECK(t.is_channels_last());
        CHECK(test::max_abs_diff(t.to_double_vector(), v) < 1e-6);
    }
    const Tensor rows = x.slice_rows(1, 3);
    CHECK(rows.is_channels_last());
    CHECK(std::vector<double>(v.begin() + 30, v.begin() + 90) == rows.to_double_vector());

    const Tensor plain = Tensor::full(x.shape(), 7.0, DType::F64);
    plain.copy_from(x);  // NHWC into NCHW: converted, not copied byte for byte
    CHECK(std::equal(v.begin(), v.end(), plain.data<double>()));
    const Tensor last = Tensor::empty(x.shape(), DType::F64, Device::CPU, MemoryFormat::ChannelsLast);
    last.copy_from(plain);
    CHECK(last.to_double_vector() == v);
}

TEST_CASE("reshape of a channels-last tensor goes through a conversion and is differentiable") {
    const Tensor x = test::randn({2, 3, 4, 5}).to_memory_format(MemoryFormat::ChannelsLast).set_requires_grad(true);
    const Tensor flat = x.reshape({2, 60});
    CHECK_FALSE(flat.is_channels_last());
    CHECK(flat.to_double_vector() == x.to_double_vector());  // row n holds sample n in NCHW order
    const Tensor r = test::randn({2, 60});
    flat.backward(r);
    REQUIRE(x.grad().defined());
    CHECK(x.grad().to_double_vector() == r.to_double_vector());
}

TEST_CASE("autograd through to_memory_format: the gradient comes back in the input's format") {
    test::gradcheck("contiguous -> channels-last",
                    [](const std::vector<Tensor>& v) { return mul(v[0].to_memory_format(MemoryFormat::ChannelsLast), v[1]); },
                    {test::randn({2, 3, 4, 5}), test::randn({2, 3, 4, 5})});
    const Tensor x = test::randn({2, 3, 4, 5}).set_requires_grad(true);
    const Tensor y = relu(x.to_memory_format(MemoryFormat::ChannelsLast));
    REQUIRE(y.is_channels_last());
    const Tensor r = test::randn(y.shape());
    y.backward(r.to_memory_format(MemoryFormat::ChannelsLast));
    REQUIRE(x.grad().defined());
    CHECK_FALSE(x.grad().is_channels_last());
    const std::vector<double> xv = x.to_double_vector(), rv = r.to_double_vector(), g = x.grad().to_double_vector();
    for (size_t i = 0; i < g.size(); ++i) REQUIRE(g[i] == (xv[i] > 0 ? rv[i] : 0.0));
}

TEST_CASE("every op either works on channels-last inputs or refuses them by name (CPU, float64)") {
    test::check_channels_last_ops(Device::CPU, DType::F64, 1e-12);
}

TEST_CASE("batchnorm2d on channels-last updates the running statistics as on contiguous input") {
    const Tensor x = test::randn({3, 5, 4, 4});
    const Tensor w = test::randn({5}), b = test::randn({5});
    Tensor rm[2], rv[2];
    for (int k = 0; k < 2; ++k) {
        rm[k] = test::randn({5});
        rv[k] = test::rand({5}, 0.5, 2.0);
    }
    rm[1].copy_from(rm[0]);
    rv[1].copy_from(rv[0]);
    batchnorm2d(x, w, b, rm[0], rv[0], true, 0.1);
    batchnorm2d(x.to_memory_format(MemoryFormat::ChannelsLast), w, b, rm[1], rv[1], true, 0.1);
    CHECK(test::rel_error(rm[1], rm[0]) < 1e-13);
    CHECK(test::rel_error(rv[1], rv[0]) < 1e-13);
}

TEST_CASE("the DCGAN modules (Conv2d, ConvTranspose2d, BatchNorm2d) run channels-last with the same results") {
    const nn::DcganConfig config{.nz = 6, .ngf = 4, .ndf = 4, .nc = 3, .image_size = 16};
    nn::DcganGenerator g(config);
    nn::DcganDiscriminator d(config);
    Generator weights{5, 0};
    nn::dcgan_init(g, weights);
    nn::dcgan_init(d, weights);
    const Tensor z = Tensor::normal({3, 6, 1, 1}, 0, 1, test::rng());
    auto run = [&](bool last) {
        for (nn::Module* m : {static_cast<nn::Module*>(&g), static_cast<nn::Module*>(&d)}) m->zero_grad();
        const Tensor fake = g(last ? z.to_memory_format(MemoryFormat::ChannelsLast) : z);
        CHECK(fake.is_channels_last() == last);
        const Tensor out = d(fake);
        CHECK(out.shape() == Shape{3});
        mean(out).backward();
        std::vector<std::vector<double>> values{fake.to_double_vector(), out.to_double_vector()};
        for (nn::Module* m : {static_cast<nn::Module*>(&g), static_cast<nn::Module*>(&d)})
            for (const Tensor& p : m->parameters()) {
                CHECK_FALSE(p.grad().is_channels_last());  // in their (contiguous) parameter's format
                values.push_back(p.grad().to_double_vector());
            }
        return values;
    };
    const auto plain = run(false), last = run(true);
    REQUIRE(plain.size() == last.size());
    // float32: the convolutions run the same NCHW code (converted), batchnorm sums in
    // another order.
    for (size_t i = 0; i < plain.size(); ++i) CHECK(test::rel_error(last[i], plain[i]) < 1e-5);
}

TEST_CASE("checkpoints hold PyTorch's NCHW order whatever a tensor's memory format") {
    const Tensor x = test::randn({2, 3, 4, 5}, DType::F32);
    const Tensor last = x.to_memory_format(MemoryFormat::ChannelsLast);
    const nn::StoredTensor a = nn::stored_from_tensor(x), b = nn::stored_from_tensor(last);
    CHECK(a.shape == b.shape);
    CHECK(a.bytes == b.bytes);
}
