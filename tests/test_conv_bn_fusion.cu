// Conv -> batchnorm -> activation -> conv fused (kernels/cuda/conv_bn_fusion.h,
// conv_nhwc_fusion.h): the first conv's epilogue gathers the batchnorm statistics, the second
// conv's prologue applies batchnorm + activation while loading. Checked against the unfused
// kernels and float64 host references, in every precision mode; outputs start as NaN.
//  - Statistics: y is bit-identical to the plain conv's; mean, invstd, running statistics and
//    the prologue's affine match float64 statistics of that y within 2e-5 (relative to the
//    channel's spread for the mean; the outputs sit ~30 standard deviations from zero, where a
//    sum-of-squares variance would lose every digit in float). Both the epilogue path and the
//    pass over memory (split-K, fp32) are reached, and the epilogue on every block tile.
//  - Prologue: conv(act(bn(x))) fused equals the unfused apply-then-conv bit for bit (same
//    values reach the same rounding), with a shift large enough that act(shift) != 0, so a
//    padded tap that took the prologue would show; forward (cp.async and register-staged),
//    transposed forward (grad-input phases) and grad-weight on either operand.
//  - Backward of act(bn(x)) with the mask recomputed from x: against float64, 1e-5.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "conv_tolerance.h"
#include "dcgan_conv_layers.h"
#include "core/precision.h"
#include "kernels/cuda/conv2d_nhwc.h"
#include "kernels/cuda/conv_nhwc_fusion.h"
#include "kernels/cuda/conv_nhwc_thin.h"
#include "test_util.h"

using namespace ganops;
using cuda::mma::Mode;
using cuda::mma::TileConfig;
using test::dcgan_conv::conv;
using test::dcgan_conv::transposed;

namespace {

constexpr Precision kPrecisions[] = {Precision::FP32, Precision::TF32, Precision::BF16, Precision::FP32Accurate};

Tensor device_randn(int64_t n, double stddev = 1.0, double mean = 0.0) {
    std::vector<double> v = test::randn(Shape{n}, DType::F64, stddev).to_double_vector();
    for (double& e : v) e += mean;
    return Tensor::from_vector(Shape{n}, std::vector<float>(v.begin(), v.end())).to(Device::CUDA);
}
Tensor poisoned(int64_t n) { return Tensor::full(Shape{n}, std::nan(""), DType::F32, Device::CUDA); }
std::vector<double> host(const Tensor& t) { return t.to_double_vector(); }

// A batchnorm's parameters and the outputs the fused call writes (all poisoned first).
struct Batchnorm {
    int64_t c;
    Tensor weight, bias, running_mean, running_var, mean, invstd, norm_act;
    explicit Batchnorm(int64_t channels)
        : c(channels), weight(device_randn(channels, 0.5, 1.0)), bias(device_randn(channels, 0.5, 0.3)),
          running_mean(device_randn(channels)), running_var(device_randn(channels, 0.1, 1.0)), mean(poisoned(channels)),
          invstd(poisoned(channels)), norm_act(poisoned(3 * channels)) {}
    cuda::BatchnormOfOutput outputs() {
        cuda::BatchnormOfOutput bn;
        bn.weight = weight.data<float>();
        bn.bias = bias.data<float>();
        bn.eps = 1e-5;
        bn.momentum = 0.1;
        bn.mean = mean.data<float>();
        bn.invstd = invstd.data<float>();
        bn.running_mean = running_mean.data<float>();
        bn.running_var = running_var.data<float>();
        bn.norm_act = norm_act.data<float>();
        return bn;
    }
};

// Checks a batchnorm's outputs against float64 statistics of y ([rows][c]); `before` holds
// the running statistics before the call.
void check_statistics(const std::vector<double>& y, int64_t c, const Batchnorm& bn, const std::vector<double>& rm_before,
                      const std::vector<double>& rv_before) {
    const int64_t rows = int64_t(y.size()) / c;
    const std::vector<double> mean = host(bn.mean), invstd = host(bn.invstd), rm = host(bn.running_mean),
                              rv = host(bn.running_var), na = host(bn.norm_act), w = host(bn.weight), b = host(bn.bias);
    for (int64_t ch = 0; ch < c; ++ch) {
        double sum = 0;
        for (int64_t r = 0; r < rows; ++r) sum += y[r * c + ch];
        const double mu = sum / rows;
        double m2 = 0;
        for (int64_t r = 0; r < rows; ++r) m2 += (y[r * c + ch] - mu) * (y[r * c + ch] - mu);
        const double var = m2 / rows, sd = std::sqrt(var), inv = 1 / std::sqrt(var + 1e-5);
        INFO("channel " << ch << " of " << c << ": mean " << mu << ", std " << sd);
        CHECK(std::abs(mean[ch] - mu) <= 2e-5 * sd + 1e-6 * std::abs(mu));
        CHECK(std::abs(invstd[ch] - inv) <= 2e-5 * inv);
        CHECK(std::abs(rm[ch] - (0.9 * rm_before[ch] + 0.1 * mu)) <= 2e-5 * (sd + std::abs(rm[ch])));
        CHECK(std::abs(rv[ch] - (0.9 * rv_before[ch] + 0.1 * var * rows / (rows - 1))) <= 2e-5 * std::abs(rv[ch]));
        // The prologue's map equals w * (y - mean) * invstd + b at y = mean + sd.
        const double scale = w[ch] * inv, at = mu + sd;
        CHECK(std::abs(na[c + ch] - scale) <= 2e-5 * std::abs(scale));
        const double mapped = (float(at) - na[ch]) * na[c + ch] + na[2 * c + ch];
        CHECK(std::abs(mapped - (scale * (at - mu) + b[ch])) <= 4e-5 * (std::abs(scale * sd) + std::abs(b[ch])));
    }
}

// Whether the plain forward runs the loop the fused one runs. On the tensor cores a C that is
// not a multiple of 4 takes the padded-image path (conv_nhwc_thin.h) when unfused, while the
// fused forward gathers it on the register-staged loop: the same products summed in other
// groups of k, so equal within rounding instead of bit for bit.
bool forward_same_loop(const ConvGeometry& g, Precision p) {
    using cuda::conv::nhwc::NhwcPath;
    return p == Precision::FP32 ||
           cuda::conv::nhwc::nhwc_path(cuda::conv::nhwc::NhwcPass::Forward, cuda::conv::Dims(g), true) == NhwcPath::General;
}

// got == want bit for bit where the loops are the same; else within 1e-5 of want's scale.
void check_same_values(const std::vector<double>& got, const std::vector<double>& want, bool same_loop) {
    if (same_loop) {
        CHECK(test::max_abs_diff(got, want) == 0.0);
        return;
    }
    const double scale = test::max_abs_diff(want, std::vector<double>(want.size(), 0.0));
    CHECK(test::max_abs_diff(got, want) <= 1e-5 * (1.0 + scale));
}

// Forward (transposed = false) or transposed forward (grad-input) of g with the statistics
// fused, against the plain pass and float64 statistics. Returns whether the epilogue gathered.
bool check_fused_statistics(const std::string& what, const ConvGeometry& g, bool transposed_forward, Precision precision) {
    INFO(what << " in " << precision_name(precision));
    const PrecisionScope scope(precision);
    const int64_t in_size = transposed_forward ? g.batch * g.out_channels * g.out_h * g.out_w
                                               : g.batch * g.in_channels * g.in_h * g.in_w;
    const int64_t out_channels = transposed_forward ? g.in_channels : g.out_channels;
    const int64_t out_size = transposed_forward ? g.batch * g.in_channels * g.in_h * g.in_w
                                                : g.batch * g.out_channels * g.out_h * g.out_w;
    const Tensor in = device_randn(in_size), w = device_randn(g.out_channels * g.in_channels * g.kernel_h * g.kernel_w, 0.1);
    // Outputs ~30 standard deviations from zero: a conv bias, or (transposed) an input offset.
    const Tensor bias = device_randn(out_channels, 1.0, 30.0);
    Tensor plain = poisoned(out_size), fused = poisoned(out_size);
    Batchnorm bn(out_channels);
    const std::vector<double> rm = host(bn.running_mean), rv = host(bn.running_var);
    cuda::BatchnormOfOutput outs = bn.outputs();
    bool gathered;
    if (transposed_forward) {
        // conv_transpose2d's input shifted by 30 moves its output's mean likewise.
        const Tensor shifted = device_randn(in_size, 1.0, 30.0);
        cuda::conv2d_backward_input_nhwc(g, shifted.data<float>(), w.data<float>(), plain.data<float>());
        cuda::conv2d_backward_input_nhwc_fused(g, shifted.data<float>(), nullptr, w.data<float>(), fused.data<float>(), &outs);
        gathered = cuda::conv2d_backward_input_nhwc_moments_fused(g);
    } else {
        cuda::conv2d_forward_nhwc(g, in.data<float>(), w.data<float>(), bias.data<float>(), plain.data<float>());
        cuda::conv2d_forward_nhwc_fused(g, in.data<float>(), nullptr, w.data<float>(), bias.data<float>(), fused.data<float>(),
                                        &outs);
        gathered = cuda::conv2d_forward_nhwc_moments_fused(g);
    }
    const std::vector<double> y = host(fused);
    check_same_values(y, host(plain), transposed_forward || forward_same_loop(g, precision));  // the epilogue leaves y alone
    check_statistics(y, out_channels, bn, rm, rv);
    return gathered;
}

// NormAct on a fresh random (centre, scale, shift): shift ~ 0.5 +- 1, so act(shift) is mostly
// not 0 and a padded tap that went through the prologue would change the result.
struct RandomNormAct {
    Tensor buffer;
    cuda::NormAct na;
    RandomNormAct(int64_t c, float slope) {
        std::vector<double> v = test::randn(Shape{3 * c}, DType::F64).to_double_vector();
        for (int64_t i = 0; i < c; ++i) {
            v[c + i] = 0.5 + std::abs(v[c + i]);  // scale
            v[2 * c + i] += 0.5;                  // shift
        }
        buffer = Tensor::from_vector(Shape{3 * c}, std::vector<float>(v.begin(), v.end())).to(Device::CUDA);
        na = cuda::NormAct::from_buffer(buffer.data<float>(), c, slope);
    }
};

Tensor applied(const Tensor& x, int64_t c, const cuda::NormAct& na) {
    Tensor out = poisoned(x.numel());
    cuda::batchnorm_act_nhwc_apply(x.data<float>(), x.numel() / c, c, na, out.data<float>());
    return out;
}

enum class Pass { Forward, TransposedForward, WeightOfConv, WeightOfTransposed };

// The pass with the prologue against apply-then-pass: bit-identical.
void check_prologue(const std::string& what, const ConvGeometry& g, Pass pass, Precision precision, float slope) {
    INFO(what << " pass " << int(pass) << " in " << precision_name(precision) << ", slope " << slope);
    const PrecisionScope scope(precision);
    const int64_t x_size = g.batch * g.in_channels * g.in_h * g.in_w, y_size = g.batch * g.out_channels * g.out_h * g.out_w;
    const int64_t w_size = g.out_channels * g.in_channels * g.kernel_h * g.kernel_w;
    const Tensor w = device_randn(w_size, 0.1), bias = device_randn(g.out_channels);
    std::vector<double> got, want;
    if (pass == Pass::Forward) {
        const Tensor x = device_randn(x_size);
        const RandomNormAct na(g.in_channels, slope);
        Tensor fused = poisoned(y_size), plain = poisoned(y_size);
        cuda::conv2d_forward_nhwc_fused(g, x.data<float>(), &na.na, w.data<float>(), bias.data<float>(), fused.data<float>(),
                                        nullptr);
        const Tensor a = applied(x, g.in_channels, na.na);
        cuda::conv2d_forward_nhwc(g, a.data<float>(), w.data<float>(), bias.data<float>(), plain.data<float>());
        got = host(fused);
        want = host(plain);
    } else if (pass == Pass::TransposedForward) {
        const Tensor x = device_randn(y_size);  // the transposed conv's input is conv2d's y
        const RandomNormAct na(g.out_channels, slope);
        Tensor fused = poisoned(x_size), plain = poisoned(x_size);
        cuda::conv2d_backward_input_nhwc_fused(g, x.data<float>(), &na.na, w.data<float>(), fused.data<float>(), nullptr);
        const Tensor a = applied(x, g.out_channels, na.na);
        cuda::conv2d_backward_input_nhwc(g, a.data<float>(), w.data<float>(), plain.data<float>());
        got = host(fused);
        want = host(plain);
    } else {
        const Tensor x = device_randn(x_size), dy = device_randn(y_size);
        const bool of_conv = pass == Pass::WeightOfConv;
        const RandomNormAct na(of_conv ? g.in_channels : g.out_channels, slope);
        Tensor fused = poisoned(w_size), plain = poisoned(w_size);
        cuda::conv2d_backward_weight_nhwc_fused(g, dy.data<float>(), of_conv ? nullptr : &na.na, x.data<float>(),
                                                of_conv ? &na.na : nullptr, fused.data<float>());
        const Tensor a = of_conv ? applied(x, g.in_channels, na.na) : applied(dy, g.out_channels, na.na);
        cuda::conv2d_backward_weight_nhwc(g, of_conv ? dy.data<float>() : a.data<float>(),
                                          of_conv ? a.data<float>() : x.data<float>(), plain.data<float>());
        got = host(fused);
        want = host(plain);
    }
    for (double v : got) REQUIRE(std::isfinite(v));
    check_same_values(got, want, pass != Pass::Forward || forward_same_loop(g, precision));
    CHECK(test::max_abs_diff(want, std::vector<double>(want.size(), 0.0)) > 0.0);
}

}  // namespace

TEST_CASE("conv + batchnorm statistics: the epilogue and the pass over memory, every mode") {
    // K below 8 stages: no split-K, so the tensor-core modes gather in the epilogue.
    const test::dcgan_conv::Named small[] = {
        {"3x3 pad 1, C 8 -> 24 (cp.async)", conv({3, 8, 12, 10}, {24, 8, 3, 3}, 1, 1)},
        {"4x4 stride 2, C 3 -> 20 (register-staged)", conv({2, 3, 14, 12}, {20, 3, 4, 4}, 2, 1)},
    };
    const test::dcgan_conv::Named small_transposed[] = {
        {"transposed 4x4 stride 2, 12 -> 20 (phases)", transposed({2, 12, 6, 5}, {12, 20, 4, 4}, 2, 1)},
    };
    for (Precision p : kPrecisions) {
        for (const auto& s : small) CHECK(check_fused_statistics(s.name, s.g, false, p) == (p != Precision::FP32));
        for (const auto& s : small_transposed) CHECK(check_fused_statistics(s.name, s.g, true, p) == (p != Precision::FP32));
    }
    // A DCGAN layer at batch 1 splits K: statistics from memory after the reduction.
    const auto layers = test::dcgan_conv::dcgan_layers(1);
    CHECK_FALSE(check_fused_statistics(layers[6].name, layers[6].g, false, Precision::TF32));  // D2
    CHECK_FALSE(check_fused_statistics(layers[2].name, layers[2].g, true, Precision::BF16));   // G3
    CHECK_FALSE(check_fused_statistics(layers[0].name, layers[0].g, true, Precision::TF32));   // G1: one-pixel product
}

// The epilogue alone, unsplit on every block tile (as the batch-128 DCGAN layers run it).
template <Mode Md>
void check_epilogue_on_tile(const ConvGeometry& g, TileConfig tile) {
    const cuda::conv::Dims d(g);
    const int64_t x_size = g.batch * g.in_channels * g.in_h * g.in_w, y_size = g.batch * g.out_channels * g.out_h * g.out_w;
    const Tensor x = device_randn(x_size), w = device_randn(g.out_channels * g.in_channels * g.kernel_h * g.kernel_w, 0.1);
    const Tensor bias = device_randn(g.out_channels, 1.0, 30.0);
    Tensor y = poisoned(y_size);
    const cuda::conv::nhwc::ForwardNhwc base(d, x.data<float>(), w.data<float>(), bias.data<float>(), y.data<float>());
    cuda::mma::MmaPlan plan = cuda::mma::mma_plan_for(tile, base.M, base.N, base.K);
    plan.splits = 1;
    plan.k_chunk = cuda::mma::ceil_div(base.K, cuda::mma::kMmaBK) * cuda::mma::kMmaBK;
    const cuda::mma::TileShape s = cuda::mma::tile_shape(tile);
    const int64_t groups = cuda::mma::ceil_div(base.M, s.bm / s.warps_m);
    Tensor moments = poisoned(groups * g.out_channels * 3);
    auto* m = reinterpret_cast<cuda::TileMoments*>(moments.data<float>());
    cuda::mma::run_with_plan<Md, true>(cuda::conv::nhwc::WithMoments<cuda::conv::nhwc::ForwardNhwc>(base, m), plan);
    Batchnorm bn(g.out_channels);
    const std::vector<double> rm = host(bn.running_mean), rv = host(bn.running_var);
    cuda::batchnorm_nhwc_finish(m, groups, g.out_channels, bn.outputs());
    check_statistics(host(y), g.out_channels, bn, rm, rv);
}

TEST_CASE("conv + batchnorm statistics: the epilogue on every block tile, unsplit") {
    const ConvGeometry g = conv({1, 32, 18, 14}, {40, 32, 4, 4}, 2, 1);  // M = 9 x 7: tiles hang over M and N
    const TileConfig tiles[] = {TileConfig::Wide, TileConfig::Square, TileConfig::Narrow};
    for (TileConfig t : tiles) {
        INFO("tile " << int(t));
        check_epilogue_on_tile<Mode::TF32>(g, t);
        check_epilogue_on_tile<Mode::BF16>(g, t);
        check_epilogue_on_tile<Mode::TF32x3>(g, t);
    }
}

TEST_CASE("batchnorm + activation applied on load: every pass and mode, bit for bit") {
    const test::dcgan_conv::Named shapes[] = {
        {"4x4 stride 2 pad 1, C 16 -> 12 (cp.async)", conv({2, 16, 10, 8}, {12, 16, 4, 4}, 2, 1)},
        {"3x3 pad 1, C 6 -> 8 (register-staged)", conv({2, 6, 7, 9}, {8, 6, 3, 3}, 1, 1)},
        {"transposed 4x4 stride 2 pad 1, 20 -> 8", transposed({2, 20, 5, 4}, {20, 8, 4, 4}, 2, 1)},
    };
    for (const auto& s : shapes)
        for (Precision p : kPrecisions)
            for (Pass pass : {Pass::Forward, Pass::TransposedForward, Pass::WeightOfConv, Pass::WeightOfTransposed})
                check_prologue(s.name, s.g, pass, p, p == Precision::TF32 ? 0.0f : 0.2f);
}

// The cp.async prologue alone on every block tile (the Wide tile is what the batch-128 DCGAN
// layers run; its per-buffer record of copied chunks differs from the others'), unsplit and
// split, against apply-then-conv on the same tile: bit for bit.
template <Mode Md>
void check_prologue_on_tile(const ConvGeometry& g, TileConfig tile, bool split) {
    INFO("tile " << int(tile) << (split ? ", split-K" : ""));
    const cuda::conv::Dims d(g);
    const int64_t x_size = g.batch * g.in_channels * g.in_h * g.in_w, y_size = g.batch * g.out_channels * g.out_h * g.out_w;
    const Tensor x = device_randn(x_size), w = device_randn(g.out_channels * g.in_channels * g.kernel_h * g.kernel_w, 0.1);
    const RandomNormAct na(g.in_channels, 0.2f);
    const Tensor a = applied(x, g.in_channels, na.na);
    Tensor fused = poisoned(y_size), plain = poisoned(y_size);
    const cuda::conv::nhwc::ForwardNhwc base(d, x.data<float>(), w.data<float>(), nullptr, fused.data<float>());
    const cuda::conv::nhwc::ForwardNhwc reference(d, a.data<float>(), w.data<float>(), nullptr, plain.data<float>());
    cuda::mma::MmaPlan plan = cuda::mma::mma_plan_for(tile, base.M, base.N, base.K);
    if (!split) {
        plan.splits = 1;
        plan.k_chunk = cuda::mma::ceil_div(base.K, cuda::mma::kMmaBK) * cuda::mma::kMmaBK;
    }
    cuda::mma::run_with_plan<Md, true>(cuda::conv::nhwc::ForwardNhwcNormAct(base, na.na), plan);
    cuda::mma::run_with_plan<Md, true>(reference, plan);
    CHECK(test::max_abs_diff(host(fused), host(plain)) == 0.0);
}

TEST_CASE("batchnorm + activation applied on load: the cp.async prologue on every block tile") {
    const ConvGeometry g = conv({1, 32, 18, 14}, {40, 32, 4, 4}, 2, 1);  // padding on every side, tiles over the edges
    for (TileConfig t : {TileConfig::Wide, TileConfig::Square, TileConfig::Narrow})
        for (bool split : {false, true}) {
            check_prologue_on_tile<Mode::TF32>(g, t, split);
            check_prologue_on_tile<Mode::BF16>(g, t, split);
            check_prologue_on_tile<Mode::TF32x3>(g, t, split);
        }
}

TEST_CASE("batchnorm + activation backward from x: against float64") {
    const int64_t rows = 150, c = 12;
    const Tensor x = device_randn(rows * c, 2.0, 5.0), dy = device_randn(rows * c);
    Batchnorm bn(c);
    cuda::BatchnormOfOutput outs = bn.outputs();
    const int64_t groups = cuda::batchnorm_nhwc_row_groups(rows);
    Tensor moments = poisoned(groups * c * 3);
    auto* m = reinterpret_cast<cuda::TileMoments*>(moments.data<float>());
    cuda::batchnorm_nhwc_moments_from_rows(x.data<float>(), rows, c, m);
    cuda::batchnorm_nhwc_finish(m, groups, c, outs);
    for (float slope : {0.0f, 0.2f}) {
        INFO("slope " << slope);
        const cuda::NormAct na = cuda::NormAct::from_buffer(bn.norm_act.data<float>(), c, slope);
        Tensor dx = poisoned(rows * c), dw = poisoned(c), db = poisoned(c);
        cuda::batchnorm_act_nhwc_backward(dy.data<float>(), x.data<float>(), na, bn.weight.data<float>(), bn.mean.data<float>(),
                                          bn.invstd.data<float>(), rows, c, dx.data<float>(), dw.data<float>(),
                                          db.data<float>());
        const std::vector<double> xs = host(x), dys = host(dy), w = host(bn.weight), b = host(bn.bias);
        std::vector<double> ref_dx(xs.size()), ref_dw(c), ref_db(c);
        for (int64_t ch = 0; ch < c; ++ch) {
            double mu = 0, var = 0;
            for (int64_t r = 0; r < rows; ++r) mu += xs[r * c + ch] / rows;
            for (int64_t r = 0; r < rows; ++r) var += (xs[r * c + ch] - mu) * (xs[r * c + ch] - mu) / rows;
            const double inv = 1 / std::sqrt(var + 1e-5);
            std::vector<double> dz(rows), xhat(rows);
            double sum_dz = 0, sum_dz_xhat = 0;
            for (int64_t r = 0; r < rows; ++r) {
                xhat[r] = (xs[r * c + ch] - mu) * inv;
                const double z = w[ch] * xhat[r] + b[ch];
                dz[r] = dys[r * c + ch] * (z > 0 ? 1.0 : slope);
                sum_dz += dz[r];
                sum_dz_xhat += dz[r] * xhat[r];
            }
            ref_db[ch] = sum_dz;
            ref_dw[ch] = sum_dz_xhat;
            for (int64_t r = 0; r < rows; ++r)
                ref_dx[r * c + ch] = w[ch] * inv / rows * (rows * dz[r] - sum_dz - xhat[r] * sum_dz_xhat);
        }
        CHECK(test::rel_error(host(dx), ref_dx) < 1e-5);
        CHECK(test::rel_error(host(dw), ref_dw) < 1e-5);
        CHECK(test::rel_error(host(db), ref_db) < 1e-5);
    }
}
