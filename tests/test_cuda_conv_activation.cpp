// conv2d_leaky_relu (nn/functional.h; kernels/conv2d_leaky_relu.h): conv2d + LeakyReLU (or
// ReLU) with the activation in the channels-last GEMM's store, in TF32 and BF16. Checked:
//  - against the unfused pair on the same CUDA tensors: output and every gradient (input,
//    weight, bias) bit for bit, and no activation kernel launched forward;
//  - against the unfused ops in float64 on the CPU (NCHW), within the mode's tolerance;
//  - in strict fp32 and fp32-accurate (no fused kernel) and on the CPU it is the two ops;
//  - nn::Sequential runs Conv2d -> LeakyReLU through it (same bits as the modules one by one);
//  - its gradients by finite differences in double (the CPU path).
// Geometries: the discriminator's first layer (a 3-channel image: the padded-channel path)
// and a general one (8 channels: chunks straight from x), with and without bias.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/cuda_counters.h"
#include "core/precision.h"
#include "ganops.h"
#include "kernels/conv2d_leaky_relu.h"
#include "kernels/cuda/conv2d_nhwc_activation.h"
#include "test_util.h"

using namespace ganops;

namespace {

struct Case {
    std::string name;
    Shape x_shape, w_shape;
    bool bias;
    double slope;
};

const Case kCases[] = {
    {"3-channel image 3 -> 8, 16x16, stride 2, bias, slope 0.2", {2, 3, 16, 16}, {8, 3, 4, 4}, true, 0.2},
    {"8 -> 12, 10x12, stride 2, no bias, relu", {3, 8, 10, 12}, {12, 8, 4, 4}, false, 0.0},
};
const Conv2dOptions kOpt = Conv2dOptions::square(2, 1);

struct Result {
    std::vector<std::vector<float>> values;  // y, dx, dw, db (empty without bias)
};
const char* kNames[] = {"y", "dx", "dw", "db"};

// The op (fused) or the two ops (unfused) on leaves made from the float64 inputs, and the
// gradients of sum(y * r).
Result run(const Case& c, const std::vector<Tensor>& in, const Tensor& r, Device device, bool fused) {
    const auto leaf = [&](const Tensor& t, bool activation) {
        Tensor l = t.to(DType::F32).to(device).clone();
        if (device == Device::CUDA && activation) l = l.to_memory_format(MemoryFormat::ChannelsLast);
        return l.set_requires_grad(true);
    };
    const Tensor x = leaf(in[0], true), w = leaf(in[1], false), b = c.bias ? leaf(in[2], false) : Tensor();
    const Tensor y = fused ? conv2d_leaky_relu(x, w, b, kOpt, c.slope) : leaky_relu(conv2d(x, w, b, kOpt), c.slope);
    backward(sum(mul(y, r.to(DType::F32).to(device))));
    Result out;
    for (const Tensor& t : {y, x.grad(), w.grad(), c.bias ? b.grad() : Tensor()})
        out.values.push_back(t.defined() ? t.to_vector() : std::vector<float>());
    return out;
}

std::vector<Tensor> inputs(const Case& c) {
    return {test::randn(c.x_shape), test::randn(c.w_shape, DType::F64, 0.3), test::randn(Shape{c.w_shape[0]})};
}
Tensor weights_of_output(const Case& c) {
    return test::randn(Shape{c.x_shape[0], c.w_shape[0], c.x_shape[2] / 2, c.x_shape[3] / 2});
}

std::vector<double> as_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// The float64 CPU reference: the two ops in NCHW.
std::vector<std::vector<double>> reference(const Case& c, const std::vector<Tensor>& in, const Tensor& r) {
    const Tensor x = in[0].clone().set_requires_grad(true), w = in[1].clone().set_requires_grad(true);
    const Tensor b = c.bias ? in[2].clone().set_requires_grad(true) : Tensor();
    const Tensor y = leaky_relu(conv2d(x, w, b, kOpt), c.slope);
    backward(sum(mul(y, r)));
    std::vector<std::vector<double>> out;
    for (const Tensor& t : {y, x.grad(), w.grad(), c.bias ? b.grad() : Tensor()})
        out.push_back(t.defined() ? t.to_double_vector() : std::vector<double>());
    return out;
}

double tolerance(Precision p) {
    switch (p) {
        case Precision::TF32: return 5e-3;  // measured up to 3e-4
        // bf16 moves some outputs across 0: the mask flips there, and db (a sum of the masked
        // gradient over few pixels) shows it most: measured up to 6.6e-2.
        case Precision::BF16: return 1.5e-1;
        default: return 2e-6;
    }
}

}  // namespace

TEST_CASE("conv2d_leaky_relu on CUDA: the unfused pair's bits, one kernel forward, near the float64 reference") {
    REQUIRE(cuda::available());
    for (const Case& c : kCases) {
        const std::vector<Tensor> in = inputs(c);
        const Tensor r = weights_of_output(c);
        const auto ref = reference(c, in, r);
        for (Precision p : {Precision::TF32, Precision::BF16, Precision::FP32, Precision::FP32Accurate}) {
            const PrecisionScope scope(p);
            const bool expect_fused = p == Precision::TF32 || p == Precision::BF16;
            {
                const Tensor x = in[0].to(DType::F32).to(Device::CUDA).to_memory_format(MemoryFormat::ChannelsLast);
                const Tensor w = in[1].to(DType::F32).to(Device::CUDA);
                CHECK(kernels::conv2d_leaky_relu_fuses(x, w, Tensor(), kOpt, c.slope) == expect_fused);
                CHECK_FALSE(kernels::conv2d_leaky_relu_fuses(x, w, Tensor(), kOpt, -0.5));  // the output's sign would not tell
            }
            const int64_t activations_before = kernel_launches("forward_kernel");
            const Result fused = run(c, in, r, Device::CUDA, true);
            const int64_t activations = kernel_launches("forward_kernel") - activations_before;
            const Result plain = run(c, in, r, Device::CUDA, false);
            CHECK(activations == (expect_fused ? 0 : 1));
            for (size_t i = 0; i < plain.values.size(); ++i) {
                INFO(c.name << " in " << precision_name(p) << ": " << kNames[i]);
                REQUIRE(fused.values[i].size() == plain.values[i].size());
                CHECK(std::memcmp(fused.values[i].data(), plain.values[i].data(), plain.values[i].size() * sizeof(float)) == 0);
                if (ref[i].empty()) continue;
                const double err = test::rel_error(as_double(fused.values[i]), ref[i]);
                std::printf("%s %s %s: relative error %.2e\n", c.name.c_str(), precision_name(p), kNames[i], err);
                CHECK(err < tolerance(p));
            }
        }
    }
}

TEST_CASE("nn::Sequential runs Conv2d -> LeakyReLU as one op on CUDA channels-last, with the modules' bits") {
    REQUIRE(cuda::available());
    const PrecisionScope scope(Precision::TF32);
    nn::Sequential seq;
    auto conv = seq.emplace<nn::Conv2d>(3, 8, 4, kOpt, false);
    auto act = seq.emplace<nn::LeakyReLU>(0.2);
    seq.to(Device::CUDA);
    const Tensor x = test::randn({2, 3, 16, 16}).to(DType::F32).to(Device::CUDA).to_memory_format(MemoryFormat::ChannelsLast);
    const int64_t before = kernel_launches("forward_kernel");
    const Tensor y = seq.forward(x);
    CHECK(kernel_launches("forward_kernel") == before);  // no activation pass
    const Tensor y_modules = act->forward(conv->forward(x));
    CHECK(y.is_channels_last());
    CHECK(y.to_vector() == y_modules.to_vector());
    CHECK(y.grad_fn() != nullptr);
    CHECK(y.grad_fn()->name == "conv2d_leaky_relu");
}

TEST_CASE("conv2d_leaky_relu on the CPU is the two ops; its gradients by finite differences") {
    const Case& c = kCases[0];
    const std::vector<Tensor> in = inputs(c);
    const Tensor x = in[0].clone().set_requires_grad(true), w = in[1].clone().set_requires_grad(true);
    const Tensor b = in[2].clone().set_requires_grad(true);
    const Tensor y = conv2d_leaky_relu(x, w, b, kOpt, c.slope);
    CHECK(y.to_double_vector() == leaky_relu(conv2d(x, w, b, kOpt), c.slope).to_double_vector());
    const Case small{"", {1, 3, 6, 6}, {2, 3, 4, 4}, true, 0.2};
    test::gradcheck(
        "conv2d_leaky_relu", [&](const std::vector<Tensor>& t) { return conv2d_leaky_relu(t[0], t[1], t[2], kOpt, small.slope); },
        inputs(small));
}

// round_tf32 (kernels/cuda/conv2d_nhwc_activation.h): in TF32, y stored as cvt.rna of the
// unrounded y's bits; not asked (the default), y keeps its low bits; BF16 ignores it.
TEST_CASE("conv2d + leaky_relu NHWC on CUDA rounds y to TF32 only when asked, in TF32 only") {
    REQUIRE(cuda::available());
    const auto low_bits_set = test::tf32_low_bits_set;
    for (const Case& c : kCases) {
        const ConvGeometry g = conv2d_geometry("test", c.x_shape, c.w_shape, kOpt);
        const auto dev = [](const Shape& s, double stddev) { return test::randn(s, DType::F32, stddev).to(Device::CUDA); };
        // Channels-last x, KRSC w: random values in any layout will do.
        const Tensor x = dev({c.x_shape.numel()}, 1.0), w = dev({c.w_shape.numel()}, 0.2), b = dev({c.w_shape[0]}, 1.0);
        const auto run_once = [&](bool round) {
            Tensor y = Tensor::full({g.y_shape().numel()}, std::nan(""), DType::F32, Device::CUDA);
            cuda::conv2d_forward_nhwc_leaky_relu(g, x.data<float>(), w.data<float>(), c.bias ? b.data<float>() : nullptr,
                                                 static_cast<float>(c.slope), y.data<float>(), round);
            return y.to_vector();
        };
        for (Precision p : {Precision::TF32, Precision::BF16}) {
            INFO(c.name << " in " << precision_name(p));
            const PrecisionScope scope(p);
            const std::vector<float> plain = run_once(false), rounded = run_once(true);
            REQUIRE(plain.size() == rounded.size());
            CHECK(low_bits_set(plain) > plain.size() / 4);  // not asked: not rounded (relu's zeros have none)
            size_t wrong = 0;
            for (size_t i = 0; i < plain.size(); ++i) {
                uint32_t bits;
                std::memcpy(&bits, &plain[i], 4);
                if (p == Precision::TF32) bits = (bits + 0x1000u) & 0xffffe000u;  // cvt.rna.tf32 of a finite float
                wrong += std::memcmp(&bits, &rounded[i], 4) != 0 || std::isnan(plain[i]);
            }
            CHECK(wrong == 0);
        }
    }
}
