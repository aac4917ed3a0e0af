// Producers that round to TF32 and say so (Tensor::values_are_tf32), and the convolutions that
// then skip their own rounding pass (kernels/conv2d.cpp -> cuda/conv2d_nhwc.h's ActivationsTf32):
//  - the flag: set on a whole storage only, kept by read-only access, cleared by any writable
//    access (data<T>(), fill, copy_from, a view's data);
//  - each pass reading a flagged operand (forward's x, grad-input's dy, grad-weight's x and dy):
//    TF32 values flagged give the bits of the unflagged rounding path on the unrounded values;
//    unrounded values flagged give the bits of truncated values (the tensor core, and the
//    emulator's mma, read only the top 19 bits: the pass was skipped), until a write clears
//    the flag and the pass rounds again; BF16 ignores the flag;
//  - the fused batchnorm + activation (y, dx) and conv + LeakyReLU (y) store cvt.rna of their
//    unrounded values when asked (TF32 mode), marked, except positives below 2^-137, kept so
//    the backward's sign test decides as unrounded (shown to matter);
//  - the rule of nn/tf32_between_layers.h on the 64x64 DCGAN: which outputs and gradients round,
//    in TF32 only, never before the discriminator's fp32 GEMV or the generator's 3-channel SIMT
//    layer, never for a convolution whose bias takes a gradient.
// The step trains the same bits with and without it: test_cuda_dcgan_step.cpp.
#include <cmath>
#include <cstring>
#include <vector>

#include "core/precision.h"
#include "kernels/batchnorm2d.h"
#include "kernels/conv2d.h"
#include "kernels/conv2d_leaky_relu.h"
#include "kernels/cuda/batchnorm2d_activation.h"
#include "kernels/cuda/tf32_store.h"
#include "nn/conv2d.h"
#include "nn/dcgan.h"
#include "nn/tf32_between_layers.h"
#include "test_util.h"

using namespace ganops;

namespace {

std::vector<float> rounded(std::vector<float> v) {
    for (float& e : v) e = test::tf32_rna(e);
    return v;
}
std::vector<float> truncated(std::vector<float> v) {
    for (float& e : v) {
        uint32_t b;
        std::memcpy(&b, &e, 4);
        b &= 0xffffe000u;
        std::memcpy(&e, &b, 4);
    }
    return v;
}
bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}
std::vector<float> random_floats(int64_t n) {
    const std::vector<double> v = test::randn(Shape{n}, DType::F32).to_double_vector();
    return std::vector<float>(v.begin(), v.end());
}
// A channels-last float32 CUDA tensor of shape s holding `values` (logical NCHW order).
Tensor device_nhwc(const Shape& s, const std::vector<float>& values) {
    return Tensor::from_vector(s, values).to(Device::CUDA).to_memory_format(MemoryFormat::ChannelsLast);
}

}  // namespace

TEST_CASE("values_are_tf32 is set on a whole storage, kept by reads, and cleared by any writable access") {
    REQUIRE(cuda::available());
    const Tensor t = device_nhwc({2, 8, 4, 4}, rounded(random_floats(256)));
    CHECK_FALSE(t.values_are_tf32());  // nothing said so
    t.mark_values_tf32();
    CHECK(t.values_are_tf32());
    (void)t.const_data<float>();
    (void)t.to_memory_format(MemoryFormat::ChannelsLast);  // itself
    CHECK(t.values_are_tf32());
    CHECK(t.detach().values_are_tf32());  // the same storage
    CHECK_FALSE(t.clone().values_are_tf32());
    (void)t.data<float>();
    CHECK_FALSE(t.values_are_tf32());
    t.mark_values_tf32();
    t.fill(0.5);
    CHECK_FALSE(t.values_are_tf32());
    t.mark_values_tf32();
    t.copy_from(device_nhwc({2, 8, 4, 4}, random_floats(256)));
    CHECK_FALSE(t.values_are_tf32());
    const Tensor rows = t.slice_rows(0, 1);
    rows.mark_values_tf32();  // half the storage cannot speak for the rest
    CHECK_FALSE(t.values_are_tf32());
    CHECK_FALSE(rows.values_are_tf32());
    t.mark_values_tf32();
    (void)rows.data<float>();  // a write through a view
    CHECK_FALSE(t.values_are_tf32());
}

namespace {

enum class Read { ForwardX, GradInputDy, GradWeightX, GradWeightDy };

// One pass of a 4x4 stride-2 convolution (16 -> 32 channels, 8x8 -> 4x4), channels-last, the
// operand `read` holding `values` (flagged when `flag`; written in place after flagging when
// `write_after`), the other operand fixed TF32 values.
std::vector<float> run_pass(Read read, const std::vector<float>& values, bool flag, bool write_after = false) {
    const Shape xs{2, 16, 8, 8}, ws{32, 16, 4, 4}, ys{2, 32, 4, 4};
    const Conv2dOptions opt = Conv2dOptions::square(2, 1);
    static const std::vector<float> w_values = random_floats(ws.numel()), x_values = rounded(random_floats(xs.numel())),
                                    dy_values = rounded(random_floats(ys.numel()));
    const Tensor w = device_nhwc(ws, w_values);
    const bool reads_x = read == Read::ForwardX || read == Read::GradWeightX;
    const Tensor operand = device_nhwc(reads_x ? xs : ys, values);
    if (flag) operand.mark_values_tf32();
    if (write_after) operand.copy_from(device_nhwc(operand.shape(), values));  // the same values, written
    const Tensor x = reads_x ? operand : device_nhwc(xs, x_values);
    const Tensor dy = reads_x ? device_nhwc(ys, dy_values) : operand;
    switch (read) {
        case Read::ForwardX: return kernels::conv2d_forward(x, w, Tensor(), opt).to_vector();
        case Read::GradInputDy: return kernels::conv2d_backward_input(dy, w, xs, opt).to_vector();
        default: return kernels::conv2d_backward_weight(dy, x, ws, opt, MemoryFormat::ChannelsLast).to_vector();
    }
}

}  // namespace

TEST_CASE("a convolution skips rounding an operand flagged TF32, with the rounding path's bits, until a write clears it") {
    REQUIRE(cuda::available());
    const PrecisionScope tf32(Precision::TF32);
    for (Read read : {Read::ForwardX, Read::GradInputDy, Read::GradWeightX, Read::GradWeightDy}) {
        CAPTURE(int(read));
        const int64_t n = read == Read::ForwardX || read == Read::GradWeightX ? 2 * 16 * 8 * 8 : 2 * 32 * 4 * 4;
        const std::vector<float> raw = random_floats(n);
        REQUIRE(test::tf32_low_bits_set(raw) > size_t(n / 2));  // not TF32 values
        const std::vector<float> rounding = run_pass(read, raw, false);
        CHECK(same_bits(run_pass(read, rounded(raw), true), rounding));  // rounding a TF32 value: the identity
        // A flag on unrounded values (a lie) shows the pass skipped: the tensor core truncates.
        const std::vector<float> lied = run_pass(read, raw, true);
        CHECK(same_bits(lied, run_pass(read, truncated(raw), false)));
        CHECK_FALSE(same_bits(lied, rounding));
        CHECK(same_bits(run_pass(read, raw, true, true), rounding));  // written: rounded again
    }
    const PrecisionScope bf16(Precision::BF16);  // converts at the fragment: the flag is not read
    const std::vector<float> raw = random_floats(2 * 16 * 8 * 8);
    CHECK(same_bits(run_pass(Read::ForwardX, raw, true), run_pass(Read::ForwardX, raw, false)));
}

TEST_CASE("the fused batchnorm + activation and conv + LeakyReLU round y (and dx) to TF32 when asked, and mark them") {
    REQUIRE(cuda::available());
    const PrecisionScope tf32(Precision::TF32);
    const Shape xs{4, 8, 4, 4};
    const Tensor x = device_nhwc(xs, random_floats(xs.numel()));
    const Tensor weight = test::rand({8}, 0.5, 1.5, DType::F32).to(Device::CUDA), bias = test::randn({8}, DType::F32).to(Device::CUDA);
    const kernels::BatchNormStats plain = kernels::batchnorm2d_leaky_relu_forward_train(x, weight, bias, Tensor(), Tensor(), 0.1, 1e-5, 0.2);
    const kernels::BatchNormStats asked =
        kernels::batchnorm2d_leaky_relu_forward_train(x, weight, bias, Tensor(), Tensor(), 0.1, 1e-5, 0.2, true);
    CHECK_FALSE(plain.y.values_are_tf32());
    CHECK(asked.y.values_are_tf32());
    CHECK(test::tf32_low_bits_set(plain.y.to_vector()) > 0);
    CHECK(same_bits(asked.y.to_vector(), rounded(plain.y.to_vector())));
    const Tensor dy = device_nhwc(xs, random_floats(xs.numel()));
    const kernels::BatchNormGrads g0 =
        kernels::batchnorm2d_leaky_relu_backward(dy, x, plain.y, weight, plain.mean, plain.invstd, 0.2, true, true, true);
    const kernels::BatchNormGrads g1 =
        kernels::batchnorm2d_leaky_relu_backward(dy, x, asked.y, weight, asked.mean, asked.invstd, 0.2, true, true, true, true);
    CHECK(g1.dx.values_are_tf32());
    CHECK_FALSE(g0.dx.values_are_tf32());
    CHECK(same_bits(g1.dx.to_vector(), rounded(g0.dx.to_vector())));
    CHECK(same_bits(g1.dweight.to_vector(), g0.dweight.to_vector()));  // the sign test decided alike
    CHECK(same_bits(g1.dbias.to_vector(), g0.dbias.to_vector()));

    // D1's conv + LeakyReLU: a 3-channel image, 4x4 stride 2.
    const Tensor image = device_nhwc({2, 3, 16, 16}, random_floats(2 * 3 * 16 * 16));
    const Tensor w = device_nhwc({8, 3, 4, 4}, random_floats(8 * 3 * 16));
    const Conv2dOptions opt = Conv2dOptions::square(2, 1);
    REQUIRE(kernels::conv2d_leaky_relu_fuses(image, w, Tensor(), opt, 0.2));
    const Tensor y0 = kernels::conv2d_leaky_relu_forward(image, w, Tensor(), opt, 0.2);
    const Tensor y1 = kernels::conv2d_leaky_relu_forward(image, w, Tensor(), opt, 0.2, true);
    CHECK(y1.values_are_tf32());
    CHECK(same_bits(y1.to_vector(), rounded(y0.to_vector())));
    const PrecisionScope bf16(Precision::BF16);  // never rounds there
    const Tensor y2 = kernels::conv2d_leaky_relu_forward(image, w, Tensor(), opt, 0.2, true);
    CHECK_FALSE(y2.values_are_tf32());
    CHECK(same_bits(y2.to_vector(), kernels::conv2d_leaky_relu_forward(image, w, Tensor(), opt, 0.2).to_vector()));
}

TEST_CASE("a positive below 2^-137 keeps its value when rounded, so the activation's backward decides as unrounded") {
    REQUIRE(cuda::available());
    const float tiny = std::ldexp(1.0f, -140);  // cvt.rna takes it to +0
    CHECK(test::tf32_rna(tiny) == 0.0f);
    CHECK(cuda::tf32_store_value(tiny, test::tf32_rna(tiny)) == tiny);
    CHECK(cuda::tf32_store_value(-tiny, test::tf32_rna(-tiny)) == test::tf32_rna(-tiny));
    CHECK(cuda::tf32_store_value(1.1f, test::tf32_rna(1.1f)) == test::tf32_rna(1.1f));
    // The normalise-and-activate pass with mean 0, invstd 1, weight 1, bias 0 (z = x) over tiny
    // and ordinary values, 2 channels of 8, then the backward from each y.
    const int64_t n = 8, c = 2;
    std::vector<float> xv = random_floats(n * c);
    xv[0] = tiny;
    xv[3] = -tiny;
    xv[6] = 3 * tiny;
    const Tensor x = Tensor::from_vector({n * c}, xv).to(Device::CUDA);
    const Tensor ones = Tensor::full({c}, 1.0, DType::F32, Device::CUDA), zeros = Tensor::full({c}, 0.0, DType::F32, Device::CUDA);
    auto apply = [&](bool round) {
        const Tensor y = Tensor::empty({n * c}, DType::F32, Device::CUDA);
        cuda::batchnorm2d_leaky_relu_apply(x.data<float>(), ones.data<float>(), zeros.data<float>(), zeros.data<float>(),
                                           ones.data<float>(), n, c, 1, 0.0f, y.data<float>(), round);
        return y;
    };
    const Tensor y_plain = apply(false), y_rounded = apply(true);
    const std::vector<float> yr = y_rounded.to_vector();
    CHECK(yr[0] == tiny);  // kept
    CHECK(yr[6] == 3 * tiny);
    CHECK(same_bits(truncated(yr), rounded(y_plain.to_vector())));  // what a tensor core reads: the rounding
    const Tensor dy = Tensor::from_vector({n * c}, random_floats(n * c)).to(Device::CUDA);
    auto backward = [&](const Tensor& y) {
        const Tensor dx = Tensor::empty({n * c}, DType::F32, Device::CUDA), dw = Tensor::empty({c}, DType::F32, Device::CUDA);
        cuda::batchnorm2d_leaky_relu_backward(dy.data<float>(), x.data<float>(), y.data<float>(), ones.data<float>(),
                                              zeros.data<float>(), ones.data<float>(), n, c, 1, 0.0f, dx.data<float>(),
                                              dw.data<float>(), nullptr);
        std::vector<float> out = dx.to_vector(), w = dw.to_vector();
        out.insert(out.end(), w.begin(), w.end());
        return out;
    };
    CHECK(same_bits(backward(y_rounded), backward(y_plain)));
    // Rounded naively (tiny -> +0), the ReLU's backward would drop that element's gradient.
    const Tensor y_naive = Tensor::from_vector({n * c}, rounded(y_plain.to_vector())).to(Device::CUDA);
    CHECK_FALSE(same_bits(backward(y_naive), backward(y_plain)));
}

namespace {

// The nets' layers on CUDA channels-last, and the rounding the rule picks for the batchnorm at
// children[i], its input of shape in_shape from the convolution before it (run on conv_in).
RoundToTf32 rounding_at(const nn::Children& children, size_t i, const Shape& in_shape, const Shape& conv_in) {
    const Tensor h = Tensor::empty(in_shape, DType::F32, Device::CUDA, MemoryFormat::ChannelsLast);
    const Tensor x = Tensor::empty(conv_in, DType::F32, Device::CUDA, MemoryFormat::ChannelsLast);
    return nn::batchnorm_activation_rounding(children, i, h, x);
}

}  // namespace

TEST_CASE("on the 64x64 DCGAN, TF32 rounding between layers is picked where the next convolution rounds, in TF32 only") {
    REQUIRE(cuda::available());
    nn::DcganGenerator g{nn::DcganConfig{}};
    nn::DcganDiscriminator d{nn::DcganConfig{}};
    g.to(Device::CUDA);
    d.to(Device::CUDA);
    g.to(MemoryFormat::ChannelsLast);
    d.to(MemoryFormat::ChannelsLast);
    const nn::Children& gl = g.main->named_children();
    const nn::Children& dl = d.main->named_children();
    REQUIRE(gl.size() == 14);
    REQUIRE(dl.size() == 13);
    const int64_t b = 2;
    auto both = [](RoundToTf32 r) { return std::pair<bool, bool>{r.output, r.grad_input}; };
    using P = std::pair<bool, bool>;
    {
        const PrecisionScope tf32(Precision::TF32);
        CHECK(both(rounding_at(gl, 1, {b, 512, 4, 4}, {b, 100, 1, 1})) == P{true, true});
        CHECK(both(rounding_at(gl, 4, {b, 256, 8, 8}, {b, 512, 4, 4})) == P{true, true});
        CHECK(both(rounding_at(gl, 7, {b, 128, 16, 16}, {b, 256, 8, 8})) == P{true, true});
        // G5 (64 -> 3 channels) reads its input on the 3-channel SIMT grad-input: not rounded.
        CHECK(both(rounding_at(gl, 10, {b, 64, 32, 32}, {b, 128, 16, 16})) == P{false, true});
        CHECK(both(rounding_at(dl, 3, {b, 128, 16, 16}, {b, 64, 32, 32})) == P{true, true});
        CHECK(both(rounding_at(dl, 6, {b, 256, 8, 8}, {b, 128, 16, 16})) == P{true, true});
        // D5 is a strict-fp32 GEMV (one output channel over the whole window): D4's y not rounded.
        CHECK(both(rounding_at(dl, 9, {b, 512, 4, 4}, {b, 256, 8, 8})) == P{false, true});
        // D1's conv + LeakyReLU output, read by D2.
        CHECK(nn::reads_input_as_tf32(*dl[2].second, {b, 64, 32, 32},
                                      Tensor::empty({b, 3, 64, 64}, DType::F32, Device::CUDA, MemoryFormat::ChannelsLast)));
        // Not known to come from a lone convolution, on the CPU, or past a bias that takes a gradient: no.
        const Tensor h = Tensor::empty({b, 256, 8, 8}, DType::F32, Device::CUDA, MemoryFormat::ChannelsLast);
        CHECK_FALSE(nn::batchnorm_activation_rounding(gl, 4, h, Tensor()).grad_input);
        CHECK_FALSE(nn::reads_input_as_tf32(*dl[2].second, {b, 64, 32, 32}, Tensor::empty({b, 3, 64, 64})));
        nn::Conv2d with_bias(64, 128, 4, Conv2dOptions::square(2, 1), true);
        with_bias.to(Device::CUDA);
        with_bias.to(MemoryFormat::ChannelsLast);
        const Tensor x = Tensor::empty({b, 64, 32, 32}, DType::F32, Device::CUDA, MemoryFormat::ChannelsLast);
        CHECK_FALSE(nn::reads_grad_output_as_tf32(with_bias, x));
        with_bias.bias.set_requires_grad(false);
        CHECK(nn::reads_grad_output_as_tf32(with_bias, x));
    }
    for (Precision p : {Precision::FP32, Precision::BF16, Precision::FP32Accurate}) {
        CAPTURE(precision_name(p));
        const PrecisionScope mode(p);
        CHECK(both(rounding_at(gl, 4, {b, 256, 8, 8}, {b, 512, 4, 4})) == P{false, false});
        CHECK(both(rounding_at(dl, 3, {b, 128, 16, 16}, {b, 64, 32, 32})) == P{false, false});
    }
}
