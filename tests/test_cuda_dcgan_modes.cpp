// The precision modes end to end (core/precision.h): the names parse and a wrong one is
// refused with the choices, a scope restores the mode, and a small DCGAN trains a few steps
// in every mode on the GPU (or on the emulated one: test_cuda_dcgan_modes_emu). Per mode
// the losses stay finite and every parameter moves; how close each mode comes to the
// float64 reference is the kernels' tests' business.
#include <cmath>

#include "test_util.h"

using namespace ganops;

namespace {

constexpr Precision kEveryMode[] = {Precision::FP32, Precision::TF32, Precision::BF16, Precision::FP32Accurate};

struct Trained {
    std::vector<double> losses;
    std::vector<std::vector<float>> before, after;  // every parameter of G then D
};

// A 32x32 DCGAN (nz 8, ngf = ndf = 4), batch 2: the generator's 1x1 -> 4x4 layer and
// strided transposed convolutions, the discriminator's strided ones and its 4x4 -> 1x1
// layer, forward and both gradients.
Trained train_steps(int steps) {
    const nn::DcganConfig config{.nz = 8, .ngf = 4, .ndf = 4, .nc = 3, .image_size = 32};
    nn::DcganGenerator g(config);
    nn::DcganDiscriminator d(config);
    Generator init{test::rng().seed + 1, test::rng().offset++};
    nn::dcgan_init(g, init);
    nn::dcgan_init(d, init);
    g.to(Device::CUDA);
    d.to(Device::CUDA);
    Trained t;
    for (const auto* net : {static_cast<const nn::Module*>(&g), static_cast<const nn::Module*>(&d)})
        for (const auto& [name, p] : net->named_parameters()) t.before.push_back(p.to_vector());
    nn::Adam opt_g(g.parameters(), {.lr = 2e-3, .beta1 = 0.5});
    nn::Adam opt_d(d.parameters(), {.lr = 2e-3, .beta1 = 0.5});
    const int64_t batch = 2;
    const Tensor ones = Tensor::full({batch}, 1.0, DType::F32, Device::CUDA);
    const Tensor zeros = Tensor::zeros({batch}, DType::F32, Device::CUDA);
    for (int it = 0; it < steps; ++it) {
        const Tensor real = Tensor::uniform({batch, 3, 32, 32}, -1, 1, test::rng(), DType::F32, Device::CUDA);
        opt_d.zero_grad();
        const Tensor loss_real = binary_cross_entropy(d(real), ones);
        loss_real.backward();
        const Tensor fake = g(Tensor::normal({batch, 8, 1, 1}, 0, 1, test::rng(), DType::F32, Device::CUDA));
        const Tensor loss_fake = binary_cross_entropy(d(fake.detach()), zeros);
        loss_fake.backward();
        opt_d.step();
        opt_g.zero_grad();
        const Tensor loss_g = binary_cross_entropy(d(fake), ones);
        loss_g.backward();
        opt_g.step();
        for (const Tensor* l : {&loss_real, &loss_fake, &loss_g}) t.losses.push_back(l->to_double_vector().at(0));
    }
    for (const auto* net : {static_cast<const nn::Module*>(&g), static_cast<const nn::Module*>(&d)})
        for (const auto& [name, p] : net->named_parameters()) t.after.push_back(p.to_vector());
    return t;
}

}  // namespace

TEST_CASE("precision modes parse by name, and a wrong name lists the choices") {
    for (const Precision p : kEveryMode) CHECK(parse_precision(precision_name(p)) == p);
    CHECK(std::string(precision_name(Precision::FP32Accurate)) == "fp32-accurate");
    CHECK_THROWS_CONTAINING(parse_precision("fp16"), "unknown mode 'fp16' (expected fp32, tf32, bf16 or fp32-accurate)");
    CHECK_THROWS_CONTAINING(parse_precision("TF32"), "expected fp32, tf32, bf16 or fp32-accurate");
    CHECK_THROWS_CONTAINING(parse_precision(""), "expected fp32, tf32, bf16 or fp32-accurate");
}

TEST_CASE("a precision scope sets the mode and restores the previous one") {
    const Precision before = matmul_precision();
    {
        const PrecisionScope outer(Precision::BF16);
        CHECK(matmul_precision() == Precision::BF16);
        {
            const PrecisionScope inner(Precision::FP32Accurate);
            CHECK(matmul_precision() == Precision::FP32Accurate);
        }
        CHECK(matmul_precision() == Precision::BF16);
    }
    CHECK(matmul_precision() == before);
}

TEST_CASE("a small DCGAN trains in every precision mode on the GPU") {
    for (const Precision mode : kEveryMode) {
        INFO("mode " << precision_name(mode));
        const PrecisionScope scope(mode);
        const Trained t = train_steps(2);
        REQUIRE(t.losses.size() == 6);
        for (const double l : t.losses) {
            CHECK(std::isfinite(l));
            CHECK(l > 0);
        }
        REQUIRE(t.before.size() == t.after.size());
        for (size_t i = 0; i < t.before.size(); ++i) {
            INFO("parameter " << i);
            for (const float v : t.after[i]) REQUIRE(std::isfinite(v));
            CHECK(t.after[i] != t.before[i]);
        }
    }
}
