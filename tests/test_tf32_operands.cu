// TF32 operands that arrive rounded (mma_plan.h's OperandsTf32): the TF32 cp.async loop
// (implicit_gemm_mma.cuh) skips the rounding pass of a flagged operand.
//  - Rounding a TF32 value is the identity, so on operands that already are TF32 values the
//    flags give exactly the bits of the loop that rounds them: forward, grad-input's batched
//    stride phases and grad-weight, on the Large, Wide and Narrow tiles, per operand and both.
//  - The flag really skips the pass: on operands that are NOT rounded, a flagged run differs
//    from the rounding one (the tensor core reads only the top 19 bits of each operand: it
//    truncates). The emulator's mma masks the low 13 bits off, so there a flagged run equals the
//    unflagged run over operands truncated on the host, bit for bit.
//  - Grad-input's private CRSK weight copy comes out of krsc_to_crsk rounded (TF32 mode) and
//    flagged: conv2d_backward_input_nhwc gives the bits of the phases over unrounded weights
//    with the loop rounding them.
// This file does not set GANOPS_EMU_CHECK_TF32 (test_conv_nhwc.cu does): the second group of
// tests feeds the mma unrounded operands on purpose.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "dcgan_conv_layers.h"
#include "core/precision.h"
#include "kernels/cuda/conv2d_nhwc.h"
#include "kernels/cuda/conv_nhwc_mma.h"
#include "test_util.h"

using namespace ganops;
using cuda::mma::Mode;
using cuda::mma::OperandsTf32;
using cuda::mma::TileConfig;
using test::dcgan_conv::conv;

namespace {

float truncate_tf32(float x) {
    uint32_t b;
    std::memcpy(&b, &x, 4);
    b &= 0xffffe000u;
    float r;
    std::memcpy(&r, &b, 4);
    return r;
}

enum class Values { Raw, Rounded, Truncated };

// Random floats (none a TF32 value but by chance), as they are or rounded or truncated to TF32.
struct Operand {
    std::vector<float> raw;
    explicit Operand(int64_t n) {
        const std::vector<double> v = test::randn(Shape{n}, DType::F32).to_double_vector();
        raw.assign(v.begin(), v.end());
    }
    Tensor device(Values how) const {
        std::vector<float> v = raw;
        for (float& e : v) e = how == Values::Rounded ? test::tf32_rna(e) : how == Values::Truncated ? truncate_tf32(e) : e;
        return Tensor::from_vector(Shape{int64_t(v.size())}, v).to(Device::CUDA);
    }
};

Tensor poisoned(int64_t n) { return Tensor::full(Shape{n}, std::nan(""), DType::F32, Device::CUDA); }

enum class Pass { Forward, BackwardInput, BackwardWeight };
const char* pass_name(Pass p) {
    return p == Pass::Forward ? "forward" : p == Pass::BackwardInput ? "grad-input phases" : "grad-weight";
}

// One geometry per pass: forward with C = 32 (the paired loop), grad-input with K_out = 36
// (the per-half loop; 4 phases in one batch), grad-weight (k-major tiles, chunks along m, n).
ConvGeometry geometry(Pass p) {
    if (p == Pass::Forward) return conv({2, 32, 7, 6}, {40, 32, 3, 3}, 1, 1);
    if (p == Pass::BackwardInput) return conv({2, 12, 8, 6}, {36, 12, 4, 4}, 2, 1);
    return conv({2, 8, 6, 7}, {20, 8, 3, 3}, 1, 1);
}

// The pass's operands: forward x (A) and w (B); grad-input dy (A) and the CRSK weights (B: any
// layout will do, the runs compared read the same bytes); grad-weight x (A) and dy (B).
struct PassInputs {
    ConvGeometry g;
    Operand a, b;
    Tensor bias;
    explicit PassInputs(Pass p)
        : g(geometry(p)),
          a(p == Pass::BackwardInput ? g.y_shape().numel() : g.x_shape().numel()),
          b(p == Pass::BackwardWeight ? g.y_shape().numel() : g.w_shape().numel()),
          bias(test::randn(Shape{g.out_channels}, DType::F32).to(Device::CUDA)) {}
};

// A batch plan as mma_batch_plan's, on a given tile.
cuda::mma::BatchPlan batch_plan_on(TileConfig tile, const cuda::mma::GemmSize* s, int count) {
    cuda::mma::BatchPlan b{};
    b.count = count;
    b.tile = tile;
    const int64_t tiles = cuda::mma::batch_tiles(tile, s, count);
    b.grid_m = b.grid_n = 1;
    for (int i = 0; i < count; ++i) {
        b.plans[i] = cuda::mma::mma_plan_in_batch(tile, s[i].M, s[i].N, s[i].K, tiles, cuda::mma::kAsyncBK);
        b.grid_m = std::max(b.grid_m, b.plans[i].grid_m);
        b.grid_n = std::max(b.grid_n, b.plans[i].grid_n);
        b.grid_z += b.plans[i].splits;
    }
    return b;
}

// The pass on the TF32 cp.async loop, tile `tile`, operands as `how`, flagged as `flags`.
std::vector<double> run_pass(Pass p, const PassInputs& in, Values how, OperandsTf32 flags, TileConfig tile) {
    const cuda::conv::Dims d(in.g);
    const Tensor a = in.a.device(how), b = in.b.device(how);
    const int64_t out_size = p == Pass::Forward ? in.g.y_shape().numel()
                             : p == Pass::BackwardInput ? in.g.x_shape().numel()
                                                        : in.g.w_shape().numel();
    Tensor out = poisoned(out_size);
    if (p == Pass::Forward) {
        cuda::conv::nhwc::ForwardNhwc problem(d, a.data<float>(), b.data<float>(), in.bias.data<float>(), out.data<float>());
        problem.operands_tf32 = flags;
        cuda::mma::run_with_plan<Mode::TF32, true>(problem, cuda::mma::mma_plan_for(tile, problem.M, problem.N, problem.K));
    } else if (p == Pass::BackwardWeight) {
        cuda::conv::nhwc::BackwardWeightNhwc problem(d, b.data<float>(), a.data<float>(), out.data<float>());
        problem.operands_tf32 = flags;
        cuda::mma::run_with_plan<Mode::TF32, true>(problem, cuda::mma::mma_plan_for(tile, problem.M, problem.N, problem.K));
    } else {
        std::vector<cuda::conv::nhwc::BackwardInputPhaseNhwc> phases;
        cuda::conv::nhwc::for_each_backward_input_problem(d, a.data<float>(), b.data<float>(), out.data<float>(),
                                                          [&](const auto& problem) {
                                                              using P = std::decay_t<decltype(problem)>;
                                                              if constexpr (std::is_same_v<P, cuda::conv::nhwc::BackwardInputPhaseNhwc>) {
                                                                  phases.push_back(problem);
                                                                  phases.back().operands_tf32 = flags;
                                                              }
                                                          });
        REQUIRE(phases.size() == 4);
        const cuda::conv::nhwc::BackwardInputPhaseNhwc* group[4];
        cuda::mma::GemmSize sizes[4];
        for (int i = 0; i < 4; ++i) {
            group[i] = &phases[i];
            sizes[i] = {phases[i].M, phases[i].N, phases[i].K};
        }
        cuda::mma::run_batch_with_plan<Mode::TF32, true, cuda::mma::kMmaMaxBatch>(group, batch_plan_on(tile, sizes, 4));
    }
    return out.to_double_vector();  // exact: every float is a double
}

size_t differing(const std::vector<double>& x, const std::vector<double>& y) {
    REQUIRE(x.size() == y.size());
    size_t n = 0;
    for (size_t i = 0; i < x.size(); ++i) n += std::memcmp(&x[i], &y[i], sizeof(double)) != 0;
    return n;
}
size_t nans(const std::vector<double>& x) {
    size_t n = 0;
    for (double e : x) n += std::isnan(e);
    return n;
}

constexpr Pass kPasses[] = {Pass::Forward, Pass::BackwardInput, Pass::BackwardWeight};

}  // namespace

TEST_CASE("TF32 loop: operands that arrive rounded and are flagged give the rounding loop's bits") {
    const TileConfig tiles[] = {TileConfig::Large, TileConfig::Wide, TileConfig::Narrow};
    const char* tile_names[] = {"large", "wide", "narrow"};
    const OperandsTf32 flag_sets[] = {{true, false}, {false, true}, {true, true}};
    for (Pass p : kPasses) {
        const PassInputs in(p);
        for (int t = 0; t < 3; ++t) {
            const std::vector<double> rounding = run_pass(p, in, Values::Rounded, {}, tiles[t]);
            CHECK(nans(rounding) == 0);  // every output written (the poison is NaN)
            for (const OperandsTf32& f : flag_sets) {
                INFO(pass_name(p) << " on the " << tile_names[t] << " tile, flags a " << f.a << " b " << f.b);
                const std::vector<double> skipping = run_pass(p, in, Values::Rounded, f, tiles[t]);
                CHECK(differing(skipping, rounding) == 0);
                CHECK(nans(skipping) == 0);
            }
        }
    }
}

TEST_CASE("TF32 loop: a flagged operand is not rounded by the loop (unrounded input shows it)") {
    for (Pass p : kPasses) {
        const PassInputs in(p);
        const std::vector<double> rounding = run_pass(p, in, Values::Raw, {}, TileConfig::Wide);
        for (const OperandsTf32& f : {OperandsTf32{true, false}, OperandsTf32{false, true}, OperandsTf32{true, true}}) {
            INFO(pass_name(p) << ", flags a " << f.a << " b " << f.b);
            const std::vector<double> skipping = run_pass(p, in, Values::Raw, f, TileConfig::Wide);
            CHECK(nans(skipping) == 0);
            // Truncation instead of rounding to nearest moves most outputs.
            CHECK(differing(skipping, rounding) > skipping.size() / 2);
        }
    }
}

#if defined(GANOPS_EMULATED)
TEST_CASE("TF32 loop (emulated): a flagged unrounded operand reaches the mma truncated") {
    for (Pass p : kPasses) {
        INFO(pass_name(p));
        const PassInputs in(p);
        // Both flagged, raw values: the mma reads the top 19 bits of each = the truncated values,
        // which the unflagged loop leaves as they are (rounding a TF32 value is the identity).
        const std::vector<double> skipping = run_pass(p, in, Values::Raw, {true, true}, TileConfig::Large);
        const std::vector<double> truncated = run_pass(p, in, Values::Truncated, {}, TileConfig::Large);
        CHECK(nans(skipping) == 0);
        CHECK(differing(skipping, truncated) == 0);
    }
}
#endif

TEST_CASE("NHWC grad-input in TF32: the CRSK weights come rounded and flagged, the loop's bits unchanged") {
    const PrecisionScope scope(Precision::TF32);
    const ConvGeometry g = conv({2, 12, 8, 6}, {36, 12, 4, 4}, 2, 1);
    const cuda::conv::Dims d(g);
    const Operand dy(g.y_shape().numel()), w(g.w_shape().numel());  // w as KRSC (its layout as random as any)
    const Tensor dy_dev = dy.device(Values::Raw), w_krsc = w.device(Values::Raw);
    Tensor dispatched = poisoned(g.x_shape().numel());
    cuda::conv2d_backward_input_nhwc(g, dy_dev.data<float>(), w_krsc.data<float>(), dispatched.data<float>());
    // The same phases over an unrounded CRSK copy made on the host, unflagged: the loop rounds B.
    std::vector<float> crsk(w.raw.size());
    const int64_t k_out = g.out_channels, rs = g.kernel_h * g.kernel_w, c = g.in_channels;
    for (int64_t k = 0; k < k_out; ++k)
        for (int64_t t = 0; t < rs; ++t)
            for (int64_t ci = 0; ci < c; ++ci) crsk[(ci * rs + t) * k_out + k] = w.raw[(k * rs + t) * c + ci];
    const Tensor w_crsk = Tensor::from_vector(Shape{int64_t(crsk.size())}, crsk).to(Device::CUDA);
    Tensor looped = poisoned(g.x_shape().numel());
    std::vector<cuda::conv::nhwc::BackwardInputPhaseNhwc> phases;
    cuda::conv::nhwc::for_each_backward_input_problem(d, dy_dev.data<float>(), w_crsk.data<float>(), looped.data<float>(),
                                                      [&](const auto& problem) {
                                                          using P = std::decay_t<decltype(problem)>;
                                                          if constexpr (std::is_same_v<P, cuda::conv::nhwc::BackwardInputPhaseNhwc>)
                                                              phases.push_back(problem);
                                                      });
    REQUIRE(phases.size() == 4);
    REQUIRE_FALSE(phases[0].operands_tf32.b);
    cuda::mma::run_batch<Mode::TF32, true>(phases.data(), int(phases.size()));
    const std::vector<double> got = dispatched.to_double_vector(), want = looped.to_double_vector();
    CHECK(nans(want) == 0);
    CHECK(differing(got, want) == 0);
}
