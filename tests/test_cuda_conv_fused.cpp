// conv_fused (nn/functional.h, kernels/conv_bn_fusion.h): the DCGAN's chains
//   D: Conv2d -> BatchNorm2d -> LeakyReLU(0.2) -> Conv2d
//   G: ConvTranspose2d -> BatchNorm2d -> ReLU -> ConvTranspose2d
// with the batchnorm's statistics gathered by the first conv and batchnorm + activation
// applied by the second conv on load, against the unfused ops in float64 on the CPU (whose
// gradients test_gradcheck checks by finite differences in double): output, every gradient
// (input, both conv weights, the second conv's bias, batchnorm weight and bias) and the
// running statistics, in every precision mode. Tolerances (relative, in the 2-norm): the
// conv tolerance of the mode times the batchnorm's gradient amplification; measured errors
// are printed. The same chain on CPU tensors composes the unfused ops: bit-identical to them.
#include <cstdio>
#include <string>
#include <vector>

#include "core/precision.h"
#include "ganops.h"
#include "kernels/conv_bn_fusion.h"
#include "test_util.h"

using namespace ganops;

namespace {

struct Chain {
    bool transposed;
    double slope;
    Tensor x, w1, w2, b2, bn_w, bn_b, rm, rv;  // F64, CPU, NCHW / KCRS
    Conv2dOptions conv_opt = Conv2dOptions::square(2, 1);
    ConvTranspose2dOptions tconv_opt = ConvTranspose2dOptions::square(2, 1);

    Chain(bool transposed_, const Shape& x_shape, int64_t c1, int64_t c2)
        : transposed(transposed_), slope(transposed_ ? 0.0 : 0.2), x(test::randn(x_shape)),
          w1(test::randn(transposed_ ? Shape{x_shape[1], c1, 4, 4} : Shape{c1, x_shape[1], 4, 4}, DType::F64, 0.2)),
          w2(test::randn(transposed_ ? Shape{c1, c2, 4, 4} : Shape{c2, c1, 4, 4}, DType::F64, 0.2)),
          b2(test::randn(Shape{c2})), bn_w(test::rand(Shape{c1}, 0.5, 1.5)), bn_b(test::randn(Shape{c1}, DType::F64, 0.5)),
          rm(test::randn(Shape{c1})), rv(test::rand(Shape{c1}, 0.5, 1.5)) {}

    kernels::FusedConv conv() const {
        kernels::FusedConv c;
        c.transposed = transposed;
        c.conv_opt = conv_opt;
        c.tconv_opt = tconv_opt;
        return c;
    }
    Tensor conv_op(const Tensor& h, const Tensor& w, const Tensor& b) const {
        return transposed ? conv_transpose2d(h, w, b, tconv_opt) : conv2d(h, w, b, conv_opt);
    }
};

struct Result {
    std::vector<std::vector<double>> values;  // y, dx, dw1, dw2, db2, dbn_w, dbn_b, running mean, running var
};
const char* kNames[] = {"y", "dx", "dw1", "dw2", "db2", "dbn_w", "dbn_b", "running mean", "running var"};

// Leaves on `device` in `dtype`; activations channels-last on CUDA.
Result run(const Chain& c, Device device, DType dtype, bool fused, const Tensor& r) {
    const auto leaf = [&](const Tensor& t, bool grad) {
        Tensor l = t.to(dtype).to(device).clone();  // .to may return t itself: the runs must not share leaves
        if (device == Device::CUDA && l.ndim() == 4 && &t == &c.x) l = l.to_memory_format(MemoryFormat::ChannelsLast);
        if (grad) l.set_requires_grad(true);
        return l;
    };
    const Tensor x = leaf(c.x, true), w1 = leaf(c.w1, true), w2 = leaf(c.w2, true), b2 = leaf(c.b2, true);
    const Tensor bn_w = leaf(c.bn_w, true), bn_b = leaf(c.bn_b, true), rm = leaf(c.rm, false), rv = leaf(c.rv, false);
    Tensor y;
    if (fused) {
        kernels::BatchnormOnLoad bn;
        bn.weight = bn_w;
        bn.bias = bn_b;
        bn.running_mean = rm;
        bn.running_var = rv;
        bn.negative_slope = c.slope;
        const Tensor h = conv_fused(x, nullptr, w1, Tensor(), c.conv(), &bn);
        y = conv_fused(h, &bn, w2, b2, c.conv(), nullptr);
    } else {
        const Tensor h = batchnorm2d(c.conv_op(x, w1, Tensor()), bn_w, bn_b, rm, rv, true);
        y = c.conv_op(c.slope == 0 ? relu(h) : leaky_relu(h, c.slope), w2, b2);
    }
    backward(sum(mul(y, r.to(dtype).to(device))));
    Result out;
    for (const Tensor& t : {y, x.grad(), w1.grad(), w2.grad(), b2.grad(), bn_w.grad(), bn_b.grad(), rm, rv})
        out.values.push_back(t.to_double_vector());
    return out;
}

// Relative tolerance of the chain's results in a mode: outputs and gradients pass through two
// convolutions and a batchnorm backward (which subtracts its means: a few times the error).
double tolerance(Precision p) {
    switch (p) {
        case Precision::FP32: return 2e-6;          // measured up to 2.6e-7
        case Precision::FP32Accurate: return 2e-6;
        case Precision::TF32: return 5e-3;   // measured up to 4.5e-4
        case Precision::BF16: return 1.5e-1;  // measured up to 4.9e-2 (D's dx: bf16 products through the batchnorm backward)
    }
    return 0;
}

void check_chain(const std::string& what, const Chain& c) {
    const Tensor r = test::randn(c.transposed ? Shape{c.x.size(0), c.w2.size(1), 4 * c.x.size(2), 4 * c.x.size(3)}
                                              : Shape{c.x.size(0), c.w2.size(0), c.x.size(2) / 4, c.x.size(3) / 4});
    const Result ref = run(c, Device::CPU, DType::F64, false, r);
    for (Precision p : {Precision::FP32, Precision::TF32, Precision::BF16, Precision::FP32Accurate}) {
        const PrecisionScope scope(p);
        const Result fused = run(c, Device::CUDA, DType::F32, true, r);
        for (size_t i = 0; i < ref.values.size(); ++i) {
            const double err = test::rel_error(fused.values[i], ref.values[i]);
            INFO(what << " in " << precision_name(p) << ": " << kNames[i] << " relative error " << err);
            std::printf("%s %s %s: %.2e\n", what.c_str(), precision_name(p), kNames[i], err);
            CHECK(err < tolerance(p));
        }
    }
}

}  // namespace

TEST_CASE("conv_fused: the discriminator's chain against the unfused ops in float64, every mode") {
    REQUIRE(cuda::available());
    check_chain("D chain 8 -> 16 -> 12", Chain(false, Shape{3, 8, 16, 12}, 16, 12));
}

TEST_CASE("conv_fused: the generator's chain against the unfused ops in float64, every mode") {
    REQUIRE(cuda::available());
    check_chain("G chain 12 -> 16 -> 6", Chain(true, Shape{3, 12, 3, 4}, 16, 6));
}

TEST_CASE("conv_fused on CPU tensors composes the unfused ops: the same bits") {
    const Chain c(false, Shape{2, 4, 8, 8}, 8, 4);
    const Tensor r = test::randn(Shape{2, 4, 2, 2});
    const Result fused = run(c, Device::CPU, DType::F64, true, r), plain = run(c, Device::CPU, DType::F64, false, r);
    for (size_t i = 0; i < plain.values.size(); ++i) {
        INFO(kNames[i]);
        CHECK(test::max_abs_diff(fused.values[i], plain.values[i]) == 0.0);
    }
}
