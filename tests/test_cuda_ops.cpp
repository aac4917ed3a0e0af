// Every op on the GPU against the CPU reference, forward and backward, on fresh random
// inputs over many shapes: every DCGAN layer at batch 1, 3 and 128, and odd ones (sizes
// that are no multiple of any tile, 1 and 3 channels, 100 channels, 7x7 and 5x5 maps,
// stride 1 and 2, padding 0/1/2). The reference runs in float64 on the CPU, so the error
// measured is the GPU's: ||gpu - ref|| / ||ref|| below 1e-5 in strict fp32. Outputs start
// as NaN (GANOPS_POISON_ALLOCATIONS=1, set by ctest), so an unwritten element fails.
#include <cstring>
#include <functional>

#include "kernels/activation.h"
#include "dcgan_steps.h"
#include "test_util.h"

using namespace ganops;

namespace {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

// Runs f on the GPU (float32) and on the CPU (float64) from the same float32 inputs, back-
// propagates the same random upstream gradient, and compares the output and the gradient
// of every input marked in `differentiable`.
void compare(const std::string& what, const Fn& f, const std::vector<Tensor>& inputs,
             const std::vector<bool>& differentiable, double tolerance = 1e-5) {
    INFO(what);
    std::vector<Tensor> gpu, ref;
    for (size_t i = 0; i < inputs.size(); ++i) {
        gpu.push_back(inputs[i].to(Device::CUDA));
        ref.push_back(inputs[i].to(DType::F64));
        if (differentiable[i]) {
            gpu.back().set_requires_grad(true);
            ref.back().set_requires_grad(true);
        }
    }
    const Tensor y_gpu = f(gpu), y_ref = f(ref);
    REQUIRE(y_gpu.device() == Device::CUDA);
    REQUIRE(y_gpu.shape() == y_ref.shape());
    const std::vector<double> yg = y_gpu.to_double_vector();
    for (double v : yg) REQUIRE(std::isfinite(v));
    const double err = test::rel_error(yg, y_ref.to_double_vector());
    INFO("forward error " << err);
    CHECK(err < tolerance);

    if (!y_gpu.requires_grad()) return;
    const Tensor dy = test::randn(y_gpu.shape(), DType::F32);
    y_gpu.backward(dy.to(Device::CUDA));
    y_ref.backward(dy.to(DType::F64));
    for (size_t i = 0; i < inputs.size(); ++i) {
        if (!differentiable[i]) continue;
        INFO("gradient of input " << i << " " << inputs[i].str());
        const std::vector<double> g = gpu[i].grad().to_double_vector();
        for (double v : g) REQUIRE(std::isfinite(v));
        const double gerr = test::rel_error(g, ref[i].grad().to_double_vector());
        INFO("gradient error " << gerr);
        CHECK(gerr < tolerance);
    }
}

Tensor rnd(const Shape& s, double stddev = 1.0) { return test::randn(s, DType::F32, stddev); }

struct Conv {
    const char* name;
    bool transposed;
    int64_t n, in_c, out_c, hw_h, hw_w, kernel;
    int stride, pad, output_pad;
    bool bias;
};

// The 64x64 DCGAN's layers (nz 100, ngf = ndf = 64, nc 3) at the given batch sizes.
std::vector<Conv> dcgan_cases(std::initializer_list<int64_t> batches) {
    std::vector<Conv> cases;
    for (int64_t n : batches) {
        cases.push_back({"G1", true, n, 100, 512, 1, 1, 4, 1, 0, 0, false});
        cases.push_back({"G2", true, n, 512, 256, 4, 4, 4, 2, 1, 0, false});
        cases.push_back({"G3", true, n, 256, 128, 8, 8, 4, 2, 1, 0, false});
        cases.push_back({"G4", true, n, 128, 64, 16, 16, 4, 2, 1, 0, false});
        cases.push_back({"G5", true, n, 64, 3, 32, 32, 4, 2, 1, 0, false});
        cases.push_back({"D1", false, n, 3, 64, 64, 64, 4, 2, 1, 0, false});
        cases.push_back({"D2", false, n, 64, 128, 32, 32, 4, 2, 1, 0, false});
        cases.push_back({"D3", false, n, 128, 256, 16, 16, 4, 2, 1, 0, false});
        cases.push_back({"D4", false, n, 256, 512, 8, 8, 4, 2, 1, 0, false});
        cases.push_back({"D5", false, n, 512, 1, 4, 4, 4, 1, 0, 0, false});
    }
    return cases;
}

std::vector<Conv> odd_cases() {
    std::vector<Conv> cases;
    cases.push_back({"1 channel 7x7 stride 1 pad 1", false, 2, 1, 5, 7, 7, 3, 1, 1, 0, true});
    cases.push_back({"3 channels 5x5 stride 2 pad 2", false, 3, 3, 7, 5, 5, 3, 2, 2, 0, true});
    cases.push_back({"100 channels 7x5 pad 0", false, 2, 100, 33, 7, 5, 3, 1, 0, 0, true});
    cases.push_back({"transposed 1 channel 5x5 stride 2 output_padding 1", true, 3, 1, 3, 5, 5, 3, 2, 1, 1, true});
    cases.push_back({"transposed 100 -> 7, 7x7 stride 1 pad 2", true, 2, 100, 7, 7, 7, 5, 1, 2, 0, true});
    cases.push_back({"transposed 3 -> 65, 5x7 stride 2 pad 0", true, 1, 3, 65, 5, 7, 4, 2, 0, 0, false});
    // Grad-input runs in stride^2 phases: stride 3 with uneven phases, kernels smaller than
    // the stride (phases no tap reaches, which must come out zero), output padding.
    cases.push_back({"stride 3 pad 1, 11x10", false, 2, 3, 4, 11, 10, 4, 3, 1, 0, true});
    cases.push_back({"1x1 kernel stride 2, 8x7", false, 2, 4, 3, 8, 7, 1, 2, 0, 0, false});
    cases.push_back({"transposed stride 3 output_padding 2", true, 2, 3, 2, 4, 5, 4, 3, 1, 2, true});
    cases.push_back({"transposed 2x2 kernel stride 3", true, 1, 3, 4, 4, 4, 2, 3, 0, 0, false});
    return cases;
}

void check_convs(const std::vector<Conv>& cases) {
    for (const Conv& c : cases) {
        const std::string what = std::string(c.name) + " batch " + std::to_string(c.n);
        const Tensor x = rnd({c.n, c.in_c, c.hw_h, c.hw_w});
        const Tensor b = rnd({c.out_c});
        if (c.transposed) {
            ConvTranspose2dOptions o = ConvTranspose2dOptions::square(c.stride, c.pad, c.output_pad);
            const Tensor w = rnd({c.in_c, c.out_c, c.kernel, c.kernel}, 0.1);
            compare(what, [&](const std::vector<Tensor>& in) { return conv_transpose2d(in[0], in[1], c.bias ? in[2] : Tensor(), o); },
                    {x, w, b}, {true, true, c.bias});
        } else {
            const Conv2dOptions o = Conv2dOptions::square(c.stride, c.pad);
            const Tensor w = rnd({c.out_c, c.in_c, c.kernel, c.kernel}, 0.1);
            compare(what, [&](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], c.bias ? in[2] : Tensor(), o); },
                    {x, w, b}, {true, true, c.bias});
        }
    }
}

}  // namespace

// [large] cases are left out of the compute-sanitizer passes, which run ~100x slower.
// These hold the strict-fp32 path (the SIMT loop) to 1e-5; the tensor-core modes, TF32 the
// default among them, have their own tolerances in test_conv_tensor_core.cu.
TEST_CASE("DCGAN convolutions at batch 128 on the GPU equal the reference", "[large]") {
    const PrecisionScope strict(Precision::FP32);
    check_convs(dcgan_cases({128}));
}

TEST_CASE("conv2d and conv_transpose2d on the GPU equal the reference") {
    const PrecisionScope strict(Precision::FP32);
    check_convs(dcgan_cases({1, 3}));
    check_convs(odd_cases());
    // Dilation and rectangular options.
    const Conv2dOptions o{1, 2, 2, 1, 2, 1};
    compare("dilated, rectangular stride", [&](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], o); },
            {rnd({2, 3, 9, 8}), rnd({4, 3, 3, 2}), rnd({4})}, {true, true, true});
    // Dilation 2 at stride 2: the odd phases get no taps.
    const Conv2dOptions od = Conv2dOptions::square(2, 2, 2);
    compare("dilation 2, stride 2", [&](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], od); },
            {rnd({2, 3, 13, 12}), rnd({3, 3, 3, 3}), rnd({3})}, {true, true, true});
}

TEST_CASE("batchnorm2d on the GPU equals the reference, training and evaluation") {
    for (const Shape& s : {Shape{128, 512, 4, 4}, Shape{128, 64, 32, 32}, Shape{3, 256, 8, 8}, Shape{1, 3, 7, 5},
                           Shape{5, 100, 1, 1}, Shape{7, 9}}) {
        const int64_t c = s[1];
        const Tensor x = rnd(s, 3.0), w = test::rand({c}, 0.5, 1.5, DType::F32), b = rnd({c});
        // Running statistics are updated in place on each device: give each its own copy.
        const Tensor rm = rnd({c}), rv = test::rand({c}, 0.5, 2.0, DType::F32);
        Tensor rm_gpu = rm.to(Device::CUDA), rv_gpu = rv.to(Device::CUDA), rm_ref = rm.to(DType::F64), rv_ref = rv.to(DType::F64);
        compare("train " + s.str(), [&](const std::vector<Tensor>& in) {
            const bool gpu = in[0].device() == Device::CUDA;
            return batchnorm2d(in[0], in[1], in[2], gpu ? rm_gpu : rm_ref, gpu ? rv_gpu : rv_ref, true);
        }, {x, w, b}, {true, true, true});
        CHECK(test::rel_error(rm_gpu.to_double_vector(), rm_ref.to_double_vector()) < 1e-6);
        CHECK(test::rel_error(rv_gpu.to_double_vector(), rv_ref.to_double_vector()) < 1e-6);
        compare("eval " + s.str(), [&](const std::vector<Tensor>& in) {
            const bool gpu = in[0].device() == Device::CUDA;
            return batchnorm2d(in[0], in[1], in[2], gpu ? rm_gpu : rm_ref, gpu ? rv_gpu : rv_ref, false);
        }, {x, w, b}, {true, true, true});
    }
    // A large common offset: a naive sum of squares would lose the variance to cancellation,
    // and normalising as x * scale + shift would cancel in float; centring first does not.
    Tensor shifted = rnd({64, 8, 16, 16});
    shifted = Tensor::from_vector(shifted.shape(), [&] {
        std::vector<float> v = shifted.to_vector();
        for (float& e : v) e += 1000.0f;
        return v;
    }());
    compare("offset 1000", [](const std::vector<Tensor>& in) {
        return batchnorm2d(in[0], Tensor(), Tensor(), Tensor(), Tensor(), true);
    }, {shifted}, {true});
}

TEST_CASE("batchnorm2d on the GPU takes empty inputs: no channels, no samples") {
    // A grid of 0 blocks is a launch error on a GPU (the CPU loops just do nothing).
    for (const Shape& s : {Shape{4, 0, 3, 3}, Shape{5, 0}, Shape{0, 0, 2, 2}}) {
        const Tensor x = rnd(s), w = rnd({0}), b = rnd({0});
        Tensor rm_gpu = Tensor::zeros({0}, DType::F32, Device::CUDA), rv_gpu = Tensor::full({0}, 1.0, DType::F32, Device::CUDA);
        Tensor rm_ref = Tensor::zeros({0}, DType::F64), rv_ref = Tensor::full({0}, 1.0, DType::F64);
        for (bool training : {true, false}) {
            if (training && s[0] == 0) continue;  // no value per channel: refused below
            compare(std::string(training ? "train " : "eval ") + s.str(), [&](const std::vector<Tensor>& in) {
                const bool gpu = in[0].device() == Device::CUDA;
                return batchnorm2d(in[0], in[1], in[2], gpu ? rm_gpu : rm_ref, gpu ? rv_gpu : rv_ref, training);
            }, {x, w, b}, {true, true, true});
        }
    }
    // No samples: evaluation gives an empty output and zero weight gradients; training has
    // no value per channel to normalise by and is refused as on the CPU.
    const Tensor x = rnd({0, 3, 2, 2}), w = rnd({3}), b = rnd({3}), rm = rnd({3}), rv = test::rand({3}, 0.5, 2.0, DType::F32);
    compare("eval [0, 3, 2, 2]", [&](const std::vector<Tensor>& in) {
        const bool gpu = in[0].device() == Device::CUDA;
        return batchnorm2d(in[0], in[1], in[2], gpu ? rm.to(Device::CUDA) : rm.to(DType::F64),
                           gpu ? rv.to(Device::CUDA) : rv.to(DType::F64), false);
    }, {x, w, b}, {true, true, true});
    CHECK_THROWS_CONTAINING(batchnorm2d(x.to(Device::CUDA), Tensor(), Tensor(), Tensor(), Tensor(), true),
                            "training needs more than one value per channel");
}

TEST_CASE("activations, losses, linear and arithmetic on the GPU equal the reference") {
    for (const Shape& s : {Shape{128, 64, 32, 32}, Shape{3, 5, 7, 7}, Shape{1}}) {
        compare("relu " + s.str(), [](const std::vector<Tensor>& in) { return relu(in[0]); }, {rnd(s)}, {true});
        compare("leaky_relu " + s.str(), [](const std::vector<Tensor>& in) { return leaky_relu(in[0], 0.2); }, {rnd(s)}, {true});
        // Both gradients are computed from the saved float output y, as PyTorch does; where y
        // nears its limits, 1 - y^2 and y (1 - y) inherit y's rounding amplified by the
        // conditioning (about 1e-4 relative at |x| = 4). The backward ops themselves are held
        // to 1e-5 below, given the same float y on both sides.
        compare("tanh " + s.str(), [](const std::vector<Tensor>& in) { return ganops::tanh(in[0]); }, {rnd(s, 2.0)}, {true}, 3e-4);
        compare("sigmoid " + s.str(), [](const std::vector<Tensor>& in) { return sigmoid(in[0]); }, {rnd(s, 3.0)}, {true}, 3e-4);
        const Tensor y = test::rand(s, -0.999, 0.999, DType::F32), p = test::rand(s, 0.001, 0.999, DType::F32);
        compare("tanh_backward " + s.str(), [](const std::vector<Tensor>& in) { return kernels::tanh_backward(in[0], in[1]); },
                {rnd(s), y}, {false, false});
        compare("sigmoid_backward " + s.str(), [](const std::vector<Tensor>& in) { return kernels::sigmoid_backward(in[0], in[1]); },
                {rnd(s), p}, {false, false});
        compare("add/sub/mul " + s.str(), [](const std::vector<Tensor>& in) { return mul(sub(add(in[0], in[1]), in[1]), in[1]); },
                {rnd(s), rnd(s)}, {true, true});
        compare("sum and mean " + s.str(), [](const std::vector<Tensor>& in) { return add(sum(in[0]), mul(mean(in[0]), 3.0)); },
                {rnd(s)}, {true});
    }
    for (int64_t n : {1, 3, 128, 1000}) {
        const Tensor target = test::rand({n}, 0.0, 1.0, DType::F32);
        compare("bce " + std::to_string(n), [&](const std::vector<Tensor>& in) {
            return binary_cross_entropy(in[0], in[0].device() == Device::CUDA ? target.to(Device::CUDA) : target.to(DType::F64));
        }, {test::rand({n}, 0.02, 0.98, DType::F32)}, {true});
        compare("bce with logits " + std::to_string(n), [&](const std::vector<Tensor>& in) {
            return binary_cross_entropy_with_logits(in[0], in[0].device() == Device::CUDA ? target.to(Device::CUDA) : target.to(DType::F64));
        }, {rnd({n}, 5.0)}, {true});
    }
    for (auto [rows, in, out] : {std::tuple{128, 784, 256}, std::tuple{1, 100, 1}, std::tuple{3, 65, 70}}) {
        compare("linear", [](const std::vector<Tensor>& t) { return linear(t[0], t[1], t[2]); },
                {rnd({rows, in}), rnd({out, in}, 0.1), rnd({out})}, {true, true, true});
    }
}

TEST_CASE("linear over more rows than grid.y has blocks (65535 tiles of 64 rows)", "[large]") {
    // Rows are the GEMM's n in all three passes but the weight gradient's: 4.2M rows made
    // 65537 tiles along grid.y, which the driver refuses.
    const int64_t rows = int64_t{65535} * 64 + 130;
    compare("linear " + std::to_string(rows) + " x 3 -> 2", [](const std::vector<Tensor>& t) { return linear(t[0], t[1], t[2]); },
            {rnd({rows, 3}), rnd({2, 3}), rnd({2})}, {true, true, true},
            1e-4);  // the weight gradient sums 4.2M products in fp32 (64 splits of 65k each)
}

TEST_CASE("dropout and random numbers on the GPU are the CPU's, bit for bit") {
    Generator a{77, 5}, b{77, 5};
    const Tensor x = rnd({4, 33, 7});
    const Tensor on_gpu = dropout(x.to(Device::CUDA), 0.3, true, a);
    const Tensor on_cpu = dropout(x, 0.3, true, b);
    CHECK(on_gpu.to_vector() == on_cpu.to_vector());
    CHECK(a.offset == b.offset);
    Generator c{9, 0}, d{9, 0};
    CHECK(Tensor::normal({100003}, 0, 1, c, DType::F32, Device::CUDA).to_vector() ==
          Tensor::normal({100003}, 0, 1, d, DType::F32, Device::CPU).to_vector());
    CHECK(Tensor::uniform({99}, -2, 5, c, DType::F32, Device::CUDA).to_vector() ==
          Tensor::uniform({99}, -2, 5, d, DType::F32, Device::CPU).to_vector());
}

TEST_CASE("Adam and SGD on the GPU follow the CPU's trajectory, one launch for the list") {
    std::vector<Tensor> cpu_params, gpu_params;
    for (const Shape& s : {Shape{512, 256, 4, 4}, Shape{7}, Shape{1}, Shape{64, 3, 4, 4}}) {
        const Tensor p = rnd(s);
        cpu_params.push_back(p.clone().set_requires_grad(true));
        gpu_params.push_back(p.to(Device::CUDA).set_requires_grad(true));
    }
    nn::Adam cpu_adam(cpu_params, {.lr = 2e-4, .beta1 = 0.5, .weight_decay = 0.01});
    nn::Adam gpu_adam(gpu_params, {.lr = 2e-4, .beta1 = 0.5, .weight_decay = 0.01});
    for (int step = 0; step < 3; ++step) {
        for (size_t i = 0; i < cpu_params.size(); ++i) {
            const Tensor g = rnd(cpu_params[i].shape());
            cpu_params[i].set_grad(g);
            gpu_params[i].set_grad(g.to(Device::CUDA));
        }
        cpu_adam.step();
        gpu_adam.step();
    }
    for (size_t i = 0; i < cpu_params.size(); ++i)
        CHECK(test::rel_error(gpu_params[i].to_double_vector(), cpu_params[i].to_double_vector()) < 1e-6);

    const Tensor p = rnd({1000});
    const Tensor pc = p.clone().set_requires_grad(true), pg = p.to(Device::CUDA).set_requires_grad(true);
    nn::SGD sc({pc}, {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
    nn::SGD sg({pg}, {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
    for (int step = 0; step < 3; ++step) {
        const Tensor g = rnd({1000});
        pc.set_grad(g);
        pg.set_grad(g.to(Device::CUDA));
        sc.step();
        sg.step();
    }
    CHECK(test::rel_error(pg.to_double_vector(), pc.to_double_vector()) < 1e-6);
}

TEST_CASE("five DCGAN 64x64 training iterations on CPU and GPU end with the same parameters", "[large]") {
    const PrecisionScope strict(Precision::FP32);  // 1e-4 after five steps: strict fp32 convolutions
    const nn::DcganConfig config{.nz = 100, .ngf = 64, .ndf = 64, .nc = 3, .image_size = 64};
    const int64_t batch = 32;
    auto train = [&](Device device) {
        manual_seed(123);
        auto g = std::make_shared<nn::DcganGenerator>(config);
        auto d = std::make_shared<nn::DcganDiscriminator>(config);
        Generator init{5, 0};
        nn::dcgan_init(*g, init);
        nn::dcgan_init(*d, init);
        g->to(device);
        d->to(device);
        nn::Adam opt_g(g->parameters(), {.lr = 2e-4, .beta1 = 0.5});
        nn::Adam opt_d(d->parameters(), {.lr = 2e-4, .beta1 = 0.5});
        Generator data{6, 0}, noise{7, 0};
        const Tensor ones = Tensor::full({batch}, 1.0, DType::F32, device);
        const Tensor zeros = Tensor::zeros({batch}, DType::F32, device);
        for (int it = 0; it < 5; ++it) {
            const Tensor real = Tensor::uniform({batch, 3, 64, 64}, -1, 1, data, DType::F32, device);
            opt_d.zero_grad();
            binary_cross_entropy((*d)(real), ones).backward();
            const Tensor fake = (*g)(Tensor::normal({batch, 100, 1, 1}, 0, 1, noise, DType::F32, device));
            binary_cross_entropy((*d)(fake.detach()), zeros).backward();
            opt_d.step();
            opt_g.zero_grad();
            binary_cross_entropy((*d)(fake), ones).backward();
            opt_g.step();
        }
        return std::pair{g, d};
    };
    const auto [g_cpu, d_cpu] = train(Device::CPU);
    const auto [g_gpu, d_gpu] = train(Device::CUDA);
    for (const auto& [cpu_model, gpu_model] : {std::pair<nn::Module*, nn::Module*>{g_cpu.get(), g_gpu.get()},
                                               {d_cpu.get(), d_gpu.get()}}) {
        const auto cpu_named = cpu_model->named_parameters(), gpu_named = gpu_model->named_parameters();
        REQUIRE(cpu_named.size() == gpu_named.size());
        for (size_t i = 0; i < cpu_named.size(); ++i) {
            INFO(cpu_named[i].first);
            CHECK(test::rel_error(gpu_named[i].second.to_double_vector(), cpu_named[i].second.to_double_vector()) < 1e-4);
        }
    }
}

TEST_CASE("softmax, cross entropy, concat and adaptive pooling on the GPU equal the reference") {
    for (int64_t rows : {1, 3, 128, 10000}) {
        compare("softmax " + std::to_string(rows), [](const std::vector<Tensor>& in) { return softmax(in[0]); },
                {rnd({rows, 10}, 3.0)}, {true});
        std::vector<float> labels(static_cast<size_t>(rows));
        for (int64_t i = 0; i < rows; ++i) labels[static_cast<size_t>(i)] = float((i * 7) % 10);
        const Tensor l = Tensor::from_vector({rows}, labels);
        compare("softmax_cross_entropy " + std::to_string(rows), [&](const std::vector<Tensor>& in) {
            return softmax_cross_entropy(in[0], in[0].device() == Device::CUDA ? l.to(Device::CUDA) : l.to(DType::F64));
        }, {rnd({rows, 10}, 3.0)}, {true});
    }
    compare("concat images and class maps", [](const std::vector<Tensor>& in) { return concat_channels(in[0], in[1]); },
            {rnd({128, 3, 64, 64}), rnd({128, 10, 64, 64})}, {true, true});
    compare("concat noise and one-hot", [](const std::vector<Tensor>& in) { return concat_channels(in[0], in[1]); },
            {rnd({5, 100, 1, 1}), rnd({5, 10, 1, 1})}, {true, true});
    for (const Shape& s : {Shape{128, 64, 32, 32}, Shape{3, 512, 4, 4}, Shape{2, 7, 5, 7}}) {
        compare("adaptive_max_pool2d " + s.str(), [](const std::vector<Tensor>& in) { return adaptive_max_pool2d(in[0], 4, 4); },
                {rnd(s)}, {true});
    }
}

TEST_CASE("mean over the batch on the GPU equals the reference") {
    compare("mean_rows [128, 256, 8, 8]", [](const std::vector<Tensor>& in) { return mean_rows(in[0]); },
            {rnd({128, 256, 8, 8})}, {true});
    compare("mean_rows [3, 5]", [](const std::vector<Tensor>& in) { return mean_rows(in[0]); }, {rnd({3, 5})}, {true});
}

namespace {
// Small enough for the emulated suite (a few seconds there); the weight gradients still
// take the split-K path (K = batch * 16 * 16 for the first layer).
test::TrainingState dcgan_steps_on_gpu(int steps) { return test::dcgan_training_state(Device::CUDA, steps, 8, 16); }
}  // namespace

TEST_CASE("the same GPU training steps give the same bits, run after run") {
    // No atomics, fixed reduction trees and split-K sums in a fixed order: the result may
    // not depend on scheduling. The second run also gets other (cached) memory blocks.
    const auto first = dcgan_steps_on_gpu(2);
    const auto second = dcgan_steps_on_gpu(2);
    REQUIRE(first.size() == second.size());
    for (size_t i = 0; i < first.size(); ++i) {
        INFO("tensor " << i << " of " << first.size());
        REQUIRE(first[i].second.size() == second[i].second.size());
        CHECK(std::memcmp(first[i].second.data(), second[i].second.data(), first[i].second.size() * sizeof(float)) == 0);
    }
    CHECK(first[0].second != dcgan_steps_on_gpu(0)[0].second);  // training moved the weights
}
