// Channels-last (KRSC) weight parameters on the GPU (emulated in CI): a convolution with a
// channels-last weight gives the bits of the same weight stored KCRS in every pass (forward,
// grad-input, grad-weight; conv2d and conv_transpose2d; strict fp32 and TF32), converts no
// weight, and returns its weight gradient channels-last; Adam on channels-last parameters
// takes the steps it takes on KCRS ones, and a parameter whose gradient or state is in
// another format is refused by name.
#include <cstring>
#include <functional>

#include "core/cuda_counters.h"
#include "core/precision.h"
#include "test_util.h"

using namespace ganops;

namespace {
// The storage as it lies (NCHW or NHWC order), on the host.
std::vector<float> raw_storage(const Tensor& t) {
    const Tensor host = t.to(Device::CPU);
    return std::vector<float>(host.data<float>(), host.data<float>() + host.numel());
}

bool same_bits(const Tensor& a, const Tensor& b) {
    const std::vector<float> va = a.to_vector(), vb = b.to_vector();
    return va.size() == vb.size() && std::memcmp(va.data(), vb.data(), va.size() * sizeof(float)) == 0;
}

int64_t layout_launches() { return kernel_launches("batched_transpose_kernel") + kernel_launches("thin_transpose_kernel"); }

Tensor channels_last(const Tensor& t) { return t.to_memory_format(MemoryFormat::ChannelsLast); }
}  // namespace

TEST_CASE("a channels-last weight gives a KCRS weight's bits in every convolution pass, with no weight conversion") {
    REQUIRE(cuda::available());
    using Pass = std::function<Tensor(const Tensor& x, const Tensor& w)>;
    struct Case {
        const char* name;
        Shape x, w;
        Pass f;
    };
    // D's stride-2 conv, a 3-channel first layer (thin weights), and G's stride-2 and
    // one-pixel-input transposed convs (weight [C_in, C_out, R, S]: channels-last is KRSC in
    // conv2d's terms, the order the NHWC kernels read).
    const std::vector<Case> cases = {
        {"conv2d 16->32", {2, 16, 8, 8}, {32, 16, 4, 4}, [](const Tensor& x, const Tensor& w) {
             return conv2d(x, w, Tensor(), Conv2dOptions::square(2, 1));
         }},
        {"conv2d 3->8", {2, 3, 16, 16}, {8, 3, 4, 4}, [](const Tensor& x, const Tensor& w) {
             return conv2d(x, w, Tensor(), Conv2dOptions::square(2, 1));
         }},
        {"conv_transpose2d 32->16", {2, 32, 4, 4}, {32, 16, 4, 4}, [](const Tensor& x, const Tensor& w) {
             return conv_transpose2d(x, w, Tensor(), ConvTranspose2dOptions::square(2, 1));
         }},
        {"conv_transpose2d 8->32 from 1x1", {2, 8, 1, 1}, {8, 32, 4, 4}, [](const Tensor& x, const Tensor& w) {
             return conv_transpose2d(x, w, Tensor(), ConvTranspose2dOptions::square(1, 0));
         }},
    };
    for (Precision p : {Precision::FP32, Precision::TF32}) {
        const PrecisionScope mode(p);
        for (const Case& c : cases) {
            INFO(precision_name(p) << ", " << c.name);
            const Tensor x = channels_last(test::randn(c.x, DType::F32).to(Device::CUDA));
            const Tensor w = test::randn(c.w, DType::F32).to(Device::CUDA);
            const Tensor xk = x.clone().set_requires_grad(true), wk = w.clone().set_requires_grad(true);
            const Tensor xl = x.clone().set_requires_grad(true), wl = channels_last(w).set_requires_grad(true);
            REQUIRE(wl.is_channels_last());
            REQUIRE(raw_storage(wl) != raw_storage(wk));  // really another order

            const Tensor yk = c.f(xk, wk);
            const int64_t conversions_before = layout_launches();
            const Tensor yl = c.f(xl, wl);
            CHECK(layout_launches() == conversions_before);  // the KRSC weight is used as it is
            REQUIRE(yl.is_channels_last());
            CHECK(same_bits(yl, yk));

            const Tensor r = channels_last(test::randn(yk.shape(), DType::F32).to(Device::CUDA));
            yk.backward(r);
            const int64_t backward_before = layout_launches();
            yl.backward(r);
            CHECK(layout_launches() == backward_before);  // nor its gradient converted back
            REQUIRE(wl.grad().defined());
            CHECK(wl.grad().is_channels_last());  // in its parameter's format
            CHECK_FALSE(wk.grad().is_channels_last());
            CHECK(same_bits(xl.grad(), xk.grad()));
            CHECK(same_bits(wl.grad(), wk.grad()));
            CHECK(test::rel_error(wl.grad(), wk.grad()) == 0);
            CHECK(wl.grad().to_vector() != std::vector<float>(size_t(w.numel()), 0.0f));  // a gradient, not zeros
        }
    }
}

TEST_CASE("a channels-last weight with contiguous activations, or on the CPU, gives the KCRS weight's values") {
    // The passes then run NCHW and convert the weight (and its gradient back to channels-last).
    const PrecisionScope strict(Precision::FP32);
    for (Device d : {Device::CPU, Device::CUDA}) {
        INFO(device_name(d));
        const Tensor x = test::randn({2, 4, 6, 6}, DType::F32).to(d), w = test::randn({6, 4, 3, 3}, DType::F32).to(d);
        const Tensor wk = w.clone().set_requires_grad(true), wl = channels_last(w).set_requires_grad(true);
        const Tensor yk = conv2d(x, wk, Tensor(), Conv2dOptions::square(1, 1)), yl = conv2d(x, wl, Tensor(), Conv2dOptions::square(1, 1));
        CHECK_FALSE(yl.is_channels_last());
        CHECK(same_bits(yl, yk));
        const Tensor r = test::randn(yk.shape(), DType::F32).to(d);
        yk.backward(r);
        yl.backward(r);
        CHECK(wl.grad().is_channels_last());
        CHECK(same_bits(wl.grad(), wk.grad()));
    }
}

TEST_CASE("Adam on channels-last parameters takes the steps it takes on KCRS parameters, bit for bit") {
    for (Device d : {Device::CPU, Device::CUDA}) {
        INFO(device_name(d));
        const Shape s{8, 5, 4, 4};
        const Tensor start = test::randn(s, DType::F32).to(d);
        const Tensor pk = start.clone().set_requires_grad(true), pl = channels_last(start).set_requires_grad(true);
        nn::Adam ok({pk}, {.lr = 1e-2, .beta1 = 0.5, .weight_decay = 1e-3}), ol({pl}, {.lr = 1e-2, .beta1 = 0.5, .weight_decay = 1e-3});
        CHECK(ol.exp_avg()[0].is_channels_last());  // the moments sit beside the parameter, in its format
        CHECK(ol.exp_avg_sq()[0].is_channels_last());
        for (int step = 0; step < 3; ++step) {
            const Tensor g = test::randn(s, DType::F32).to(d);  // fresh gradients each step
            pk.set_grad(g.clone());
            pl.set_grad(channels_last(g));
            ok.step();
            ol.step();
        }
        CHECK(pl.is_channels_last());
        CHECK(same_bits(pl, pk));
        CHECK(same_bits(ol.exp_avg()[0], ok.exp_avg()[0]));
        CHECK(same_bits(ol.exp_avg_sq()[0], ok.exp_avg_sq()[0]));
        CHECK_FALSE(same_bits(pl, start));  // it moved
    }
}

TEST_CASE("nn modules move their weights to channels-last in place: optimizers keep them, Adam's moments follow") {
    REQUIRE(cuda::available());
    nn::Conv2d conv(4, 6, 3, Conv2dOptions::square(1, 1));
    conv.to(Device::CUDA);
    nn::Adam opt(conv.parameters(), {.lr = 1e-2});
    const Tensor before = conv.weight.detach().clone();
    opt.step();  // no gradient yet: nothing moves
    conv.to(MemoryFormat::ChannelsLast);
    CHECK(conv.weight.is_channels_last());
    CHECK(opt.params()[0].is_same(conv.weight));  // the same leaf
    CHECK(conv.weight.requires_grad());
    CHECK(same_bits(conv.weight, before));  // same values, another order
    CHECK_FALSE(conv.bias.is_channels_last());  // 1-d: untouched
    opt.follow_parameter_formats();
    CHECK(opt.exp_avg()[0].is_channels_last());
    const Tensor x = channels_last(test::randn({2, 4, 8, 8}, DType::F32).to(Device::CUDA));
    conv(x).backward(channels_last(test::randn({2, 6, 8, 8}, DType::F32).to(Device::CUDA)));
    CHECK(conv.weight.grad().is_channels_last());
    opt.step();
    CHECK_FALSE(same_bits(conv.weight, before));
}

TEST_CASE("Adam and SGD refuse a gradient or a state in another memory format than the parameter, naming the op") {
    for (Device d : {Device::CPU, Device::CUDA}) {
        INFO(device_name(d));
        const Shape s{4, 3, 2, 2};
        const Tensor p = channels_last(test::randn(s, DType::F32).to(d)).set_requires_grad(true);
        nn::Adam adam({p}, {.lr = 1e-2});
        p.set_grad(test::randn(s, DType::F32).to(d));  // contiguous gradient for a channels-last weight
        const std::vector<float> kept = p.to_vector();
        CHECK_THROWS_WITH(adam.step(), Catch::Contains("Adam: param [4, 3, 2, 2]") && Catch::Contains("channels_last but its grad") &&
                                           Catch::Contains("share a memory format"));
        CHECK(p.to_vector() == kept);  // refused before anything was written
        // Moments left behind by a parameter that changed format after the optimizer was built.
        const Tensor q = test::randn(s, DType::F32).to(d).set_requires_grad(true);
        nn::Adam stale({q}, {.lr = 1e-2});
        q.change_memory_format_in_place(MemoryFormat::ChannelsLast);
        q.set_grad(channels_last(test::randn(s, DType::F32).to(d)));
        CHECK_THROWS_WITH(stale.step(), Catch::Contains("Adam: param") && Catch::Contains("but its state is contiguous"));
        stale.follow_parameter_formats();
        CHECK_NOTHROW(stale.step());
        nn::SGD sgd({p}, {.lr = 1e-2, .momentum = 0.9});
        CHECK_THROWS_WITH(sgd.step(), Catch::Contains("SGD: param") && Catch::Contains("share a memory format"));
    }
}
