// The fused batchnorm2d + relu / leaky_relu on the GPU (kernels/cuda/batchnorm2d_activation.cu;
// emulated in CI) against the fused CPU op in double (whose gradients
// test_batchnorm_leaky_relu_fused checks by central differences) and against the unfused CUDA
// ops, NCHW and channels-last: output, running statistics and every gradient, on fresh inputs
// with odd shapes (the 1-float and the 16-byte vector paths, channels-last rows wider than a
// block, many splits). Outputs start as NaN (GANOPS_POISON_ALLOCATIONS in ctest), and the
// precomputed-statistics pass is checked on a NaN-filled output.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/cuda_counters.h"
#include "kernels/batchnorm2d.h"
#include "kernels/cuda/batchnorm2d_activation.h"
#include "nn/sequential.h"
#include "test_util.h"

using namespace ganops;
using test::randn;

namespace {

struct Result {
    Tensor y, dx, dweight, dbias, running_mean, running_var, mean, invstd;
};

enum class Way { Fused, Unfused };

// One training step of batchnorm + leaky_relu on `device` in `format`, from the same inputs.
Result run(Way way, Device device, DType dtype, MemoryFormat format, const Tensor& x0, const Tensor& w0,
           const Tensor& b0, const Tensor& r0, double slope) {
    auto prepare = [&](const Tensor& t) { return t.to(dtype).to(device); };
    Tensor x = prepare(x0).to_memory_format(format), w = prepare(w0), b = prepare(b0);
    const Tensor r = prepare(r0).to_memory_format(format);
    x.set_requires_grad(true);
    w.set_requires_grad(true);
    b.set_requires_grad(true);
    const int64_t c = x0.size(1);
    Tensor running_mean = Tensor::zeros({c}, dtype, device), running_var = Tensor::full({c}, 1.0, dtype, device);
    Result out;
    if (way == Way::Fused) {
        NoGradGuard no_grad;  // the kernels' mean and invstd, for the test of the apply pass
        const kernels::BatchNormStats s = kernels::batchnorm2d_leaky_relu_forward_train(
            x.detach(), w.detach(), b.detach(), Tensor(), Tensor(), 0.1, 1e-5, slope);
        out.mean = s.mean;
        out.invstd = s.invstd;
    }
    const Tensor y = way == Way::Fused ? batchnorm2d_leaky_relu(x, w, b, running_mean, running_var, slope, 0.1, 1e-5)
                                       : leaky_relu(batchnorm2d(x, w, b, running_mean, running_var, true, 0.1, 1e-5), slope);
    REQUIRE(y.memory_format() == format);
    y.backward(r);
    out.y = y.detach();
    out.dx = x.grad();
    out.dweight = w.grad();
    out.dbias = b.grad();
    out.running_mean = running_mean;
    out.running_var = running_var;
    return out;
}

void compare(const Result& a, const Result& b, double tolerance) {
    CHECK(test::rel_error(a.y, b.y) < tolerance);
    CHECK(test::rel_error(a.dx, b.dx) < tolerance);
    CHECK(test::rel_error(a.dweight, b.dweight) < tolerance);
    CHECK(test::rel_error(a.dbias, b.dbias) < tolerance);
    CHECK(test::rel_error(a.running_mean, b.running_mean) < tolerance);
    CHECK(test::rel_error(a.running_var, b.running_var) < tolerance);
}

// Shapes: vectors of 4 (hw % 4 == 0 in NCHW, C % 4 == 0 channels-last) or of 1; a 2-d input;
// one value per image; channels-last rows of 300 vectors (wider than a block of 256); and
// enough values per channel for several splits in both layouts.
const std::vector<Shape>& shapes() {
    static const std::vector<Shape> s{{7, 5, 3, 5}, {8, 16, 8, 8}, {9, 6}, {3, 4, 1, 1}, {2, 1200, 2, 2},
                                      {16, 12, 16, 16}, {32, 4, 16, 16}, {5, 3, 4, 4}};
    return s;
}

}  // namespace

TEST_CASE("fused CUDA batchnorm2d + leaky_relu matches the CPU fused op in double and the unfused CUDA ops") {
    REQUIRE(cuda::available());
    for (const Shape& s : shapes())
        for (const MemoryFormat format : {MemoryFormat::Contiguous, MemoryFormat::ChannelsLast})
            for (const double slope : {0.0, 0.2}) {
                if (format == MemoryFormat::ChannelsLast && s.ndim() != 4) continue;
                INFO(s.str() << (format == MemoryFormat::ChannelsLast ? " channels-last" : " NCHW") << " slope " << slope);
                const int64_t c = s[1];
                // Not centred at zero, weights of both signs.
                const Tensor x = add(mul(randn(s), 3.0), Tensor::full(s, 1.5, DType::F64));
                const Tensor w = randn({c}), b = randn({c}), r = randn(s);
                const Result gpu = run(Way::Fused, Device::CUDA, DType::F32, format, x, w, b, r, slope);
                REQUIRE(gpu.y.device() == Device::CUDA);
                compare(gpu, run(Way::Fused, Device::CPU, DType::F64, MemoryFormat::Contiguous, x, w, b, r, slope), 2e-5);
                compare(gpu, run(Way::Unfused, Device::CUDA, DType::F32, format, x, w, b, r, slope), 2e-5);

                // The normalise-and-activate pass alone, from the forward's statistics (what a
                // convolution epilogue that computed them would call), into a NaN-filled output.
                const Tensor xd = x.to(DType::F32).to(Device::CUDA).to_memory_format(format);
                const Tensor wd = w.to(DType::F32).to(Device::CUDA), bd = b.to(DType::F32).to(Device::CUDA);
                Tensor y = Tensor::full(s, std::nan(""), DType::F32, Device::CUDA).to_memory_format(format);
                const bool last = format == MemoryFormat::ChannelsLast;
                const int64_t n = last ? s[0] * s[2] * s[3] : s[0], hw = last || s.ndim() == 2 ? 1 : s[2] * s[3];
                cuda::batchnorm2d_leaky_relu_apply(xd.data<float>(), wd.data<float>(), bd.data<float>(),
                                                   gpu.mean.data<float>(), gpu.invstd.data<float>(), n, c, hw,
                                                   static_cast<float>(slope), y.data<float>());
                CHECK(test::rel_error(y, gpu.y) < 1e-6);
            }
}

TEST_CASE("fused CUDA batchnorm2d + leaky_relu keeps its accuracy far from zero and is bit-reproducible") {
    REQUIRE(cuda::available());
    for (const MemoryFormat format : {MemoryFormat::Contiguous, MemoryFormat::ChannelsLast}) {
        const Shape s{6, 8, 6, 6};
        // Mean 1000, standard deviation 1: the statistics must not cancel.
        const Tensor x = add(randn(s), Tensor::full(s, 1000.0, DType::F64));
        const Tensor w = randn({8}), b = randn({8}), r = randn(s);
        const Result a = run(Way::Fused, Device::CUDA, DType::F32, format, x, w, b, r, 0.2);
        const Result exact = run(Way::Fused, Device::CPU, DType::F64, MemoryFormat::Contiguous, x, w, b, r, 0.2);
        const Result unfused = run(Way::Unfused, Device::CUDA, DType::F32, format, x, w, b, r, 0.2);
        for (const auto& [mine, ref] : {std::pair{a.y, exact.y}, {a.dx, exact.dx}, {a.dbias, exact.dbias},
                                        {a.running_mean, exact.running_mean}, {a.running_var, exact.running_var}})
            CHECK(test::rel_error(mine, ref) < 2e-5);
        // The mean is stored as a float (1000 is off by up to 3e-5), and sum(dz * (x - mean))
        // inherits that as mean error * sum(dz): the unfused op's dweight does too.
        const double dweight_error = test::rel_error(a.dweight, exact.dweight);
        CHECK(dweight_error < 1e-4);
        CHECK(dweight_error < 2 * test::rel_error(unfused.dweight, exact.dweight) + 1e-6);
        const Result again = run(Way::Fused, Device::CUDA, DType::F32, format, x, w, b, r, 0.2);
        for (const auto& [one, two] : {std::pair{a.y, again.y}, {a.dx, again.dx}, {a.dweight, again.dweight}})
            CHECK(one.to_vector() == two.to_vector());
    }
}

TEST_CASE("Sequential runs BatchNorm2d + LeakyReLU fused on CUDA in training, unfused in evaluation") {
    REQUIRE(cuda::available());
    for (const MemoryFormat format : {MemoryFormat::Contiguous, MemoryFormat::ChannelsLast}) {
        nn::Sequential seq;
        seq.emplace<nn::BatchNorm2d>(6);
        seq.emplace<nn::LeakyReLU>(0.2);
        seq.to(Device::CUDA);
        const Tensor x = randn({4, 6, 5, 4}, DType::F32).to(Device::CUDA).to_memory_format(format);
        auto statistics_passes = [] { return kernel_launches("bn_act_statistics") + kernel_launches("bn_act_statistics_rows"); };
        const int64_t before = statistics_passes();
        const Tensor y = seq.forward(x.clone().set_requires_grad(true));
        REQUIRE(y.grad_fn());
        CHECK(std::string(y.grad_fn()->name) == "batchnorm2d_leaky_relu");
        CHECK(statistics_passes() == before + 1);
        seq.eval();
        NoGradGuard no_grad;
        const Tensor e = seq.forward(x);
        auto& bn = dynamic_cast<nn::BatchNorm2d&>(seq[0]);
        CHECK(test::rel_error(e, leaky_relu(batchnorm2d(x, bn.weight, bn.bias, bn.running_mean, bn.running_var, false), 0.2)) <
              1e-6);
    }
}

// round_tf32 (batchnorm2d_activation.h): y and dx stored as cvt.rna of what they are without
// it, every other output (statistics, running statistics, dweight, dbias) bit-identical; off
// (the default), the outputs are the unrounded values (most with non-zero low 13 bits).
TEST_CASE("fused CUDA batchnorm2d + leaky_relu rounds y and dx to TF32 only when asked") {
    REQUIRE(cuda::available());
    const auto rna = test::tf32_rna;
    const auto low_bits_set = test::tf32_low_bits_set;
    // [rows, c] channels-last (vectors of 4) and [n, c, hw] planes (vectors of 1).
    struct Case {
        int64_t n, c, hw;
    };
    for (const Case& k : {Case{70, 12, 1}, Case{3, 5, 9}}) {
        INFO("n " << k.n << " c " << k.c << " hw " << k.hw);
        const Shape s{k.n * k.c * k.hw};
        const auto dev = [](const Tensor& t) { return t.to(DType::F32).to(Device::CUDA); };
        const Tensor x = dev(add(randn(s), Tensor::full(s, 0.5, DType::F64))), dy = dev(randn(s));
        const Tensor w = dev(randn({k.c})), b = dev(randn({k.c}));
        struct Out {
            Tensor y, dx, mean, invstd, rm, rv, dw, db, y_apply;
        };
        const auto run_once = [&](bool round) {
            Out o;
            const auto nan_filled = [](const Shape& shape) { return Tensor::full(shape, std::nan(""), DType::F32, Device::CUDA); };
            o.y = nan_filled(s), o.dx = nan_filled(s), o.y_apply = nan_filled(s);
            o.mean = nan_filled({k.c}), o.invstd = nan_filled({k.c}), o.dw = nan_filled({k.c}), o.db = nan_filled({k.c});
            o.rm = Tensor::zeros({k.c}, DType::F32, Device::CUDA), o.rv = Tensor::full({k.c}, 1.0, DType::F32, Device::CUDA);
            cuda::batchnorm2d_leaky_relu_forward_train(x.data<float>(), w.data<float>(), b.data<float>(), k.n, k.c, k.hw, 1e-5,
                                                       0.1, 0.2f, o.y.data<float>(), o.mean.data<float>(), o.invstd.data<float>(),
                                                       o.rm.data<float>(), o.rv.data<float>(), round);
            cuda::batchnorm2d_leaky_relu_apply(x.data<float>(), w.data<float>(), b.data<float>(), o.mean.data<float>(),
                                               o.invstd.data<float>(), k.n, k.c, k.hw, 0.2f, o.y_apply.data<float>(), round);
            cuda::batchnorm2d_leaky_relu_backward(dy.data<float>(), x.data<float>(), o.y.data<float>(), w.data<float>(),
                                                  o.mean.data<float>(), o.invstd.data<float>(), k.n, k.c, k.hw, 0.2f,
                                                  o.dx.data<float>(), o.dw.data<float>(), o.db.data<float>(), round);
            return o;
        };
        const Out plain = run_once(false), rounded = run_once(true);
        const std::vector<float> y = plain.y.to_vector(), dx = plain.dx.to_vector();
        const std::vector<float> y_r = rounded.y.to_vector(), dx_r = rounded.dx.to_vector();
        const std::vector<float> ya = plain.y_apply.to_vector(), ya_r = rounded.y_apply.to_vector();
        CHECK(low_bits_set(y) > y.size() / 2);  // not asked: not rounded
        CHECK(low_bits_set(dx) > dx.size() / 2);
        size_t wrong = 0;
        const auto same_bits = [](float a, float b) { return std::memcmp(&a, &b, 4) == 0; };
        for (size_t i = 0; i < y.size(); ++i) {
            wrong += !same_bits(y_r[i], rna(y[i]));
            wrong += !same_bits(dx_r[i], rna(dx[i]));
            wrong += !same_bits(ya_r[i], rna(ya[i]));
        }
        CHECK(wrong == 0);
        CHECK(low_bits_set(y_r) == 0);
        for (const auto& [one, two] : {std::pair{plain.mean, rounded.mean}, {plain.invstd, rounded.invstd}, {plain.rm, rounded.rm},
                                       {plain.rv, rounded.rv}, {plain.dw, rounded.dw}, {plain.db, rounded.db}})
            CHECK(one.to_vector() == two.to_vector());
    }
}
