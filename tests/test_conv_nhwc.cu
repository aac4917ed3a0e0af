// The channels-last convolution (kernels/cuda/conv2d_nhwc.h) in every precision mode and pass
// against the float64 reference, which runs in NCHW on the CPU: the test converts its random
// NCHW inputs to NHWC / KRSC on the host, runs the GPU pass on those, and converts the result
// back. Tolerances: conv_tolerance.h. Outputs start as NaN (an element no thread wrote fails).
//
// Shapes: every DCGAN layer at batch 1 (G and D, forward, grad-input and grad-weight; the
// 1x1 -> 4x4 transposed layer, whose grad-input is the one-pixel product; the 3-channel
// image, which takes the register-staged loader), and odd shapes that reach each path: the
// cp.async pipeline (channels along k a multiple of 4) and the register-staged fallback,
// stride phases that no tap reaches, dilation, K below one stage, the thin paths of
// conv_nhwc_thin.h (whole-window GEMV, pixel product, padded channels); the cp.async pipeline
// alone on each of the four block tiles, grad-weight's k-major one included; the GEMV's strict
// fp32 in every mode.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "conv_tolerance.h"
#include "dcgan_conv_layers.h"
#include "core/precision.h"
#include "kernels/conv2d.h"
#include "kernels/cuda/conv2d_nhwc.h"
#include "kernels/cuda/conv_nhwc_mma.h"
#include "test_util.h"

#if defined(GANOPS_EMULATED)
// Every mma operand must have gone through cvt.rna.tf32 (at the fragment on the cp.async path).
[[maybe_unused]] static const bool tf32_check_requested = [] { return setenv("GANOPS_EMU_CHECK_TF32", "1", 0) == 0; }();
#endif

using namespace ganops;
using cuda::mma::Mode;
using cuda::mma::TileConfig;

namespace {

enum class Pass { Forward, BackwardInput, BackwardWeight };
const char* pass_name(Pass p) {
    return p == Pass::Forward ? "forward" : p == Pass::BackwardInput ? "grad-input" : "grad-weight";
}
constexpr Precision kPrecisions[] = {Precision::FP32, Precision::TF32, Precision::BF16, Precision::FP32Accurate};
constexpr Pass kPasses[] = {Pass::Forward, Pass::BackwardInput, Pass::BackwardWeight};

// [a][b][c][d] -> [a][c][d][b]: NCHW -> NHWC, and KCRS -> KRSC alike.
template <class T>
std::vector<T> channels_last(const std::vector<T>& v, const Shape& s) {
    const int64_t n = s[0], c = s[1], hw = s[2] * s[3];
    std::vector<T> out(v.size());
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < c; ++j)
            for (int64_t k = 0; k < hw; ++k) out[(i * hw + k) * c + j] = v[(i * c + j) * hw + k];
    return out;
}
// [a][c][d][b] -> [a][b][c][d], `s` the channels-first shape.
template <class T>
std::vector<T> channels_first(const std::vector<T>& v, const Shape& s) {
    const int64_t n = s[0], c = s[1], hw = s[2] * s[3];
    std::vector<T> out(v.size());
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < c; ++j)
            for (int64_t k = 0; k < hw; ++k) out[(i * c + j) * hw + k] = v[(i * hw + k) * c + j];
    return out;
}

std::vector<float> to_floats(const Tensor& t) {
    const std::vector<double> d = t.to_double_vector();
    return std::vector<float>(d.begin(), d.end());
}

// One geometry's random float32 inputs: NCHW tensors for the reference, NHWC copies on the device.
struct Inputs {
    ConvGeometry g;
    Tensor x, w, dy, bias;       // CPU, NCHW / KCRS
    Tensor x_dev, w_dev, dy_dev, bias_dev;  // device, NHWC / KRSC
    explicit Inputs(const ConvGeometry& geometry)
        : g(geometry), x(test::randn(g.x_shape(), DType::F32)), w(test::randn(g.w_shape(), DType::F32, 0.1)),
          dy(test::randn(g.y_shape(), DType::F32)), bias(test::randn(Shape{g.out_channels}, DType::F32)) {
        const auto upload = [](const std::vector<float>& v) {
            return Tensor::from_vector(Shape{int64_t(v.size())}, v).to(Device::CUDA);
        };
        x_dev = upload(channels_last(to_floats(x), g.x_shape()));
        w_dev = upload(channels_last(to_floats(w), g.w_shape()));
        dy_dev = upload(channels_last(to_floats(dy), g.y_shape()));
        bias_dev = bias.to(Device::CUDA);
    }
};

Shape out_shape(const ConvGeometry& g, Pass p) {
    return p == Pass::Forward ? g.y_shape() : p == Pass::BackwardInput ? g.x_shape() : g.w_shape();
}
int64_t dot_length(const ConvGeometry& g, Pass p) {
    const int64_t rs = g.kernel_h * g.kernel_w;
    return p == Pass::Forward ? g.in_channels * rs : p == Pass::BackwardInput ? g.out_channels * rs : g.batch * g.out_h * g.out_w;
}

Tensor to_f64(const Tensor& t, bool magnitude) {
    std::vector<double> v = t.to_double_vector();
    if (magnitude)
        for (double& e : v) e = std::abs(e);
    return Tensor::from_vector(t.shape(), v);
}

// The pass in float64 on the CPU (NCHW), on the inputs or on their magnitudes; forward adds the bias.
std::vector<double> reference(const Inputs& in, Pass p, bool magnitude) {
    const Tensor x = to_f64(in.x, magnitude), w = to_f64(in.w, magnitude), dy = to_f64(in.dy, magnitude);
    Tensor out = Tensor::empty(out_shape(in.g, p), DType::F64);
    if (p == Pass::Forward) kernels::conv2d_forward(in.g, x, w, to_f64(in.bias, magnitude), out);
    if (p == Pass::BackwardInput) kernels::conv2d_backward_input(in.g, dy, w, out);
    if (p == Pass::BackwardWeight) kernels::conv2d_backward_weight(in.g, dy, x, out);
    return out.to_double_vector();
}

Tensor poisoned(const Shape& s) { return Tensor::full(Shape{s.numel()}, std::nan(""), DType::F32, Device::CUDA); }

// The pass through conv2d_nhwc.h in the given precision, converted back to NCHW.
std::vector<double> via_nhwc(const Inputs& in, Pass p, Precision precision) {
    const PrecisionScope scope(precision);
    const Shape shape = out_shape(in.g, p);
    Tensor out = poisoned(shape);
    if (p == Pass::Forward)
        cuda::conv2d_forward_nhwc(in.g, in.x_dev.data<float>(), in.w_dev.data<float>(), in.bias_dev.data<float>(), out.data<float>());
    if (p == Pass::BackwardInput)
        cuda::conv2d_backward_input_nhwc(in.g, in.dy_dev.data<float>(), in.w_dev.data<float>(), out.data<float>());
    if (p == Pass::BackwardWeight)
        cuda::conv2d_backward_weight_nhwc(in.g, in.dy_dev.data<float>(), in.x_dev.data<float>(), out.data<float>());
    return channels_first(out.to_double_vector(), shape);
}

double check(const std::string& what, const Inputs& in, Pass p, Precision precision, const std::vector<double>& got) {
    INFO(what << ": " << pass_name(p) << " in " << precision_name(precision));
    return test::conv_tolerance::check_result(got, reference(in, p, false), reference(in, p, true), dot_length(in.g, p),
                                              precision);
}

// The weights as grad-input's B reads them, on the device: KCRS -> CRSK is [K][C*R*S]
// transposed (on the host here, as conv2d_nhwc.cu does on the device).
Tensor crsk_weights(const Inputs& in) {
    const std::vector<float> w = to_floats(in.w);
    const int64_t k_out = in.g.out_channels, crs = int64_t(w.size()) / k_out;
    std::vector<float> w_crsk(w.size());
    for (int64_t k = 0; k < k_out; ++k)
        for (int64_t i = 0; i < crs; ++i) w_crsk[i * k_out + k] = w[k * crs + i];
    return Tensor::from_vector(Shape{int64_t(w.size())}, w_crsk).to(Device::CUDA);
}

// The cp.async pipeline alone on one block tile: forward, grad-weight (chunks along m and n,
// k-major tiles), or grad-input's problems (the test transposes the weights to CRSK on the
// host, as conv2d_nhwc.cu does on the device).
template <Mode Md>
std::vector<double> async_on_tile(const Inputs& in, Pass p, TileConfig tile) {
    const cuda::conv::Dims d(in.g);
    const Shape shape = out_shape(in.g, p);
    Tensor out = poisoned(shape);
    if (p == Pass::Forward) {
        const cuda::conv::nhwc::ForwardNhwc problem(d, in.x_dev.data<float>(), in.w_dev.data<float>(), in.bias_dev.data<float>(),
                                                   out.data<float>());
        cuda::mma::run_with_plan<Md, true>(problem, cuda::mma::mma_plan_for(tile, problem.M, problem.N, problem.K));
    } else if (p == Pass::BackwardWeight) {
        const cuda::conv::nhwc::BackwardWeightNhwc problem(d, in.dy_dev.data<float>(), in.x_dev.data<float>(), out.data<float>());
        cuda::mma::run_with_plan<Md, true>(problem, cuda::mma::mma_plan_for(tile, problem.M, problem.N, problem.K));
    } else {
        const Tensor w_dev = crsk_weights(in);
        cuda::conv::nhwc::for_each_backward_input_problem(d, in.dy_dev.data<float>(), w_dev.data<float>(), out.data<float>(),
                                                          [&](const auto& problem) {
                                                              cuda::mma::run_with_plan<Md, true>(
                                                                  problem, cuda::mma::mma_plan_for(tile, problem.M, problem.N, problem.K));
                                                          });
    }
    return channels_first(out.to_double_vector(), shape);
}

// A problem as P, but never on the cp.async pipeline's paired loop (ChunkLoader::issue_paired):
// every tile then runs the loop that steps its cursors per half-stage.
template <class P>
struct Unpaired : P {
    explicit Unpaired(const P& p) : P(p) {}
    GANOPS_HD bool stages_pair() const { return false; }
};

// `problem` on the cp.async pipeline, tile `tile`, split into chunks of k_chunk (0: the plan's
// own); as it is (paired where it pairs) or kept off the paired loop.
template <Mode Md, class Problem>
void run_on_tile(const Problem& problem, TileConfig tile, int64_t k_chunk, bool paired) {
    cuda::mma::MmaPlan plan = cuda::mma::mma_plan_for(tile, problem.M, problem.N, problem.K);
    if (k_chunk > 0) {
        plan.k_chunk = k_chunk;
        plan.splits = (problem.K + k_chunk - 1) / k_chunk;
    }
    REQUIRE(problem.stages_pair());
    if (paired)
        cuda::mma::run_with_plan<Md, true>(problem, plan);
    else
        cuda::mma::run_with_plan<Md, true>(Unpaired<Problem>(problem), plan);
}

using test::dcgan_conv::conv;
using test::dcgan_conv::dcgan_layers;
using test::dcgan_conv::Named;
using test::dcgan_conv::transposed;

// Each reaches a path: (C % 4, K_out % 4) pick cp.async or register-staged for forward and
// grad-input; strides leave phases without taps; one-pixel outputs take the pixel product.
std::vector<Named> odd_shapes() {
    Conv2dOptions dilated = Conv2dOptions::square(2, 1, 2);
    return {
        {"3x3 stride 1 pad 1, C 8, K 12 (cp.async both)", conv({2, 8, 9, 11}, {12, 8, 3, 3}, 1, 1)},
        {"3x3 stride 2 pad 1, C 5, K 33 (padded channels; grad-input register-staged)", conv({2, 5, 9, 7}, {33, 5, 3, 3}, 2, 1)},
        {"1x1 stride 2, C 20, K 68: phases without taps", conv({2, 20, 8, 8}, {68, 20, 1, 1}, 2, 0)},
        {"4x4 stride 3 pad 1, C 8, K 12: 9 phases, batches of 4, 4 and 1", conv({2, 8, 10, 11}, {12, 8, 4, 4}, 3, 1)},
        {"3x3 stride 2 pad 1 dilation 2, C 12, K 8", conv2d_geometry("test", {1, 12, 11, 10}, {8, 12, 3, 3}, dilated)},
        {"4x4 stride 2 pad 1, C 3 (the image), K 16", conv({2, 3, 10, 9}, {16, 3, 4, 4}, 2, 1)},
        {"transposed 4x4 stride 2 pad 1, 3 -> 36", transposed({1, 3, 5, 7}, {3, 36, 4, 4}, 2, 1)},
        {"to one pixel, C 12, K 8", conv({3, 12, 4, 4}, {8, 12, 4, 4}, 1, 0)},
        {"1x1, C 4, K 9: K below one stage", conv({3, 4, 5, 6}, {9, 4, 1, 1}, 1, 0)},
        // The thin paths (conv_nhwc_thin.h): whole-window GEMV (K_out <= 4), the pixel product
        // of a 1x1-input transposed convolution, channels padded to 4 (with a wider border).
        {"whole window 3x3, C 5, K 2: GEMV", conv({3, 5, 3, 3}, {2, 5, 3, 3}, 1, 0)},
        {"whole window 4x4, C 12, K 1: GEMV", conv({5, 12, 4, 4}, {1, 12, 4, 4}, 1, 0)},
        {"transposed 1x1 -> 3x3, 9 -> 6: pixel product", transposed({3, 9, 1, 1}, {9, 6, 3, 3}, 1, 0)},
        {"3x3 stride (1, 2) pad (2, 1), C 6, K 8: padded channels",
         conv2d_geometry("test", {2, 6, 7, 5}, {8, 6, 3, 3}, Conv2dOptions{1, 2, 2, 1, 1, 1})},
        {"1x1 stride 1, C 1, K 20: padded channels", conv({2, 1, 6, 6}, {20, 1, 1, 1}, 1, 0)},
    };
}

}  // namespace

// Emulated, a DCGAN layer's pass at batch 1 costs up to a second of CPU: the full sweep is
// [large] (ctest label slow); the default suite runs every layer in one or two passes, chosen
// so that each mode meets each pass.
TEST_CASE("NHWC convolution: every DCGAN layer, pass and mode", "[large]") {
    for (const Named& layer : dcgan_layers(1)) {
        const Inputs in(layer.g);
        for (Precision m : kPrecisions)
            for (Pass p : kPasses) check(layer.name, in, p, m, via_nhwc(in, p, m));
    }
}

TEST_CASE("NHWC convolution: every DCGAN layer, each mode meeting each pass") {
    const std::vector<Named> layers = dcgan_layers(1);
    const Precision f = Precision::FP32, t = Precision::TF32, b = Precision::BF16, a = Precision::FP32Accurate;
    const Pass fw = Pass::Forward, in = Pass::BackwardInput, wg = Pass::BackwardWeight;
    struct Case {
        int layer;  // G1..G5 = 0..4, D1..D5 = 5..9
        Pass pass;
        Precision mode;
    };
    const Case cases[] = {{0, in, t}, {1, in, b}, {4, in, a}, {7, in, f},   // the generator's forward passes: phases, one pixel
                          {2, fw, a}, {5, fw, b}, {8, fw, t}, {9, fw, f},   // C = 3 (D1) takes the register-staged loader
                          {3, wg, f}, {6, wg, a}, {5, wg, t}, {4, wg, b}};  // split-K
    for (const Case& c : cases) {
        const Inputs inputs(layers[size_t(c.layer)].g);
        check(layers[size_t(c.layer)].name, inputs, c.pass, c.mode, via_nhwc(inputs, c.pass, c.mode));
    }
}

TEST_CASE("NHWC convolution: odd shapes in every pass and mode") {
    for (const Named& shape : odd_shapes()) {
        const Inputs in(shape.g);
        for (Precision m : kPrecisions)
            for (Pass p : kPasses) check(shape.name, in, p, m, via_nhwc(in, p, m));
    }
}

TEST_CASE("NHWC convolution: the cp.async pipeline on every block tile and tensor-core mode") {
    const TileConfig tiles[] = {TileConfig::Wide, TileConfig::Square, TileConfig::Narrow, TileConfig::Large};
    const char* tile_names[] = {"wide", "square", "narrow", "large"};
    for (const Named& shape : odd_shapes()) {
        const cuda::conv::Dims d(shape.g);
        const bool forward_ok = cuda::conv::nhwc::ForwardNhwc::chunks_ok(d);
        const bool input_ok = cuda::conv::nhwc::BackwardInputPhaseNhwc::chunks_ok(d);
        const bool weight_ok = cuda::conv::nhwc::BackwardWeightNhwc::chunks_ok(d);
        if (!forward_ok && !input_ok && !weight_ok) continue;
        const Inputs in(shape.g);
        for (int t = 0; t < 4; ++t) {
            const std::string what = std::string(shape.name) + " on the " + tile_names[t] + " tile";
            if (forward_ok) {
                check(what, in, Pass::Forward, Precision::TF32, async_on_tile<Mode::TF32>(in, Pass::Forward, tiles[t]));
                check(what, in, Pass::Forward, Precision::BF16, async_on_tile<Mode::BF16>(in, Pass::Forward, tiles[t]));
                check(what, in, Pass::Forward, Precision::FP32Accurate, async_on_tile<Mode::TF32x3>(in, Pass::Forward, tiles[t]));
            }
            if (input_ok) {
                check(what, in, Pass::BackwardInput, Precision::TF32, async_on_tile<Mode::TF32>(in, Pass::BackwardInput, tiles[t]));
                check(what, in, Pass::BackwardInput, Precision::BF16, async_on_tile<Mode::BF16>(in, Pass::BackwardInput, tiles[t]));
            }
            if (weight_ok) {
                const Pass wg = Pass::BackwardWeight;
                check(what, in, wg, Precision::TF32, async_on_tile<Mode::TF32>(in, wg, tiles[t]));
                check(what, in, wg, Precision::BF16, async_on_tile<Mode::BF16>(in, wg, tiles[t]));
                check(what, in, wg, Precision::FP32Accurate, async_on_tile<Mode::TF32x3>(in, wg, tiles[t]));
            }
        }
    }
}

// The paired loop copies the same bytes to the same places as the per-half loop, so every mode
// must give the very same outputs; split-K chunks of 48 k put the paired loop's last stage half
// past the split's end and start every other split off a stage boundary (the per-half loop).
template <Mode Md>
void check_paired_is_unpaired() {
    const Inputs fwd(conv({2, 64, 6, 5}, {40, 64, 3, 3}, 1, 1));              // C = 64: forward pairs
    const Inputs phases(conv({2, 12, 8, 6}, {64, 12, 4, 4}, 2, 1));           // K_out = 64: grad-input's phases pair
    const Inputs pixel(conv({3, 12, 4, 4}, {64, 12, 4, 4}, 1, 0));            // one output pixel
    const TileConfig tiles[] = {TileConfig::Wide, TileConfig::Square, TileConfig::Narrow, TileConfig::Large};
    for (TileConfig tile : tiles)
        for (int64_t k_chunk : {int64_t(0), int64_t(48)}) {
            INFO("tile " << int(tile) << ", k_chunk " << k_chunk);
            std::vector<double> paired, unpaired;
            for (bool pair : {true, false}) {
                std::vector<double>& got = pair ? paired : unpaired;
                {
                    const cuda::conv::Dims d(fwd.g);
                    Tensor out = poisoned(out_shape(fwd.g, Pass::Forward));
                    const cuda::conv::nhwc::ForwardNhwc problem(d, fwd.x_dev.data<float>(), fwd.w_dev.data<float>(),
                                                               fwd.bias_dev.data<float>(), out.data<float>());
                    run_on_tile<Md>(problem, tile, k_chunk, pair);
                    const std::vector<double> v = out.to_double_vector();  // exact: every float is a double
                    got.insert(got.end(), v.begin(), v.end());
                }
                for (const Inputs* in : {&phases, &pixel}) {
                    const cuda::conv::Dims d(in->g);
                    Tensor out = poisoned(out_shape(in->g, Pass::BackwardInput));
                    // The weights' layout does not matter here: both runs read the same bytes.
                    cuda::conv::nhwc::for_each_backward_input_problem(
                        d, in->dy_dev.data<float>(), in->w_dev.data<float>(), out.data<float>(),
                        [&](const auto& problem) { run_on_tile<Md>(problem, tile, k_chunk, pair); });
                    const std::vector<double> v = out.to_double_vector();
                    got.insert(got.end(), v.begin(), v.end());
                }
            }
            REQUIRE(paired.size() == unpaired.size());
            size_t differ = 0, nan = 0;
            for (size_t i = 0; i < paired.size(); ++i) {
                differ += std::memcmp(&paired[i], &unpaired[i], sizeof(double)) != 0;
                nan += std::isnan(paired[i]);
            }
            CHECK(differ == 0);
            CHECK(nan == 0);  // every output written (the poison is NaN)
        }
}

TEST_CASE("NHWC convolution: the paired cp.async loop gives the per-half loop's bits in every mode") {
    check_paired_is_unpaired<Mode::TF32>();
    check_paired_is_unpaired<Mode::BF16>();
    check_paired_is_unpaired<Mode::TF32x3>();
}

// Grad-weight without the pixel runs (PixelRunLoader): every tile on ChunkLoader's k-major cursors.
template <class P>
struct NoPixelRuns : P {
    explicit NoPixelRuns(const P& p) : P(p) {}
    GANOPS_HD bool pixel_runs(int) const { return false; }
};

// The pixel runs copy the same bytes to the same shared-memory places as the k-major cursors,
// so every mode gives the very same grad-weight, and that grad-weight is the reference's. The
// shapes step a stage across output rows (a column carry: Q 12), across rows into the next
// image (Q 8, 9 rows), over whole images per stage (4 x 4 outputs: 2 images per stage; 5 x 4:
// one image and 3 rows), with padding on every side, stride 2 and dilation, a last stage
// partly past K, and split-K chunks on stage boundaries (32, 64) and off them (48: every other
// split takes the cursors). Q 4 keeps the Narrow tile (runs of 8) on the cursors.
template <Mode Md>
void check_pixel_runs_are_cursors(Precision mode) {
    const Named shapes[] = {
        {"3x3 stride 1 pad 1, 9 x 8 output", conv({2, 8, 9, 8}, {12, 8, 3, 3}, 1, 1)},
        {"3x3 stride 1 pad 1, 6 x 12 output (column carries)", conv({2, 8, 6, 12}, {16, 8, 3, 3}, 1, 1)},
        {"4x4 stride 2 pad 1, 5 x 4 output", conv({3, 12, 10, 8}, {16, 12, 4, 4}, 2, 1)},
        {"4x4 stride 2 pad 1, 4 x 4 output (2 images per stage)", conv({5, 4, 8, 8}, {8, 4, 4, 4}, 2, 1)},
        {"3x3 stride 2 pad 1 dilation 2, 5 x 4 output", conv2d_geometry("test", {2, 12, 11, 10}, {8, 12, 3, 3}, Conv2dOptions::square(2, 1, 2))},
    };
    const TileConfig tiles[] = {TileConfig::Wide, TileConfig::Square, TileConfig::Narrow, TileConfig::Large};
    for (const Named& shape : shapes) {
        const Inputs in(shape.g);
        const cuda::conv::Dims d(shape.g);
        const Shape out_s = out_shape(in.g, Pass::BackwardWeight);
        for (TileConfig tile : tiles)
            for (int64_t k_chunk : {int64_t(0), int64_t(32), int64_t(48), int64_t(64)}) {
                INFO(shape.name << ", tile " << int(tile) << ", k_chunk " << k_chunk);
                std::vector<double> got[2];
                for (int runs = 0; runs < 2; ++runs) {
                    Tensor out = poisoned(out_s);
                    const cuda::conv::nhwc::BackwardWeightNhwc problem(d, in.dy_dev.data<float>(), in.x_dev.data<float>(),
                                                                      out.data<float>());
                    REQUIRE(problem.pixel_runs(4));  // every tile but Narrow runs them (unsplit)
                    cuda::mma::MmaPlan plan = cuda::mma::mma_plan_for(tile, problem.M, problem.N, problem.K);
                    if (k_chunk > 0) {
                        plan.k_chunk = k_chunk;
                        plan.splits = (problem.K + k_chunk - 1) / k_chunk;
                    }
                    if (runs)
                        cuda::mma::run_with_plan<Md, true>(problem, plan);
                    else
                        cuda::mma::run_with_plan<Md, true>(NoPixelRuns<cuda::conv::nhwc::BackwardWeightNhwc>(problem), plan);
                    got[runs] = out.to_double_vector();
                }
                REQUIRE(got[0].size() == got[1].size());
                size_t differ = 0, nan = 0;
                for (size_t i = 0; i < got[0].size(); ++i) {
                    differ += std::memcmp(&got[0][i], &got[1][i], sizeof(double)) != 0;
                    nan += std::isnan(got[1][i]);
                }
                CHECK(differ == 0);
                CHECK(nan == 0);  // every output written (the poison is NaN)
                check(shape.name, in, Pass::BackwardWeight, mode, channels_first(got[1], out_s));
            }
    }
}

TEST_CASE("NHWC convolution: grad-weight's pixel runs give the k-major cursors' bits and the reference's sums") {
    check_pixel_runs_are_cursors<Mode::TF32>(Precision::TF32);
    check_pixel_runs_are_cursors<Mode::BF16>(Precision::BF16);
    check_pixel_runs_are_cursors<Mode::TF32x3>(Precision::FP32Accurate);
}

TEST_CASE("NHWC convolution: the modes differ as their roundoff says (the tolerances can fail)") {
    REQUIRE(matmul_precision() == Precision::TF32);
    const Inputs in(conv({2, 48, 12, 12}, {40, 48, 3, 3}, 1, 1));  // K = 432, cp.async for forward and grad-input
    for (Pass p : kPasses) {
        INFO(pass_name(p));
        const std::vector<double> ref = reference(in, p, false);
        const double fp32 = test::rel_error(via_nhwc(in, p, Precision::FP32), ref);
        const double tf32 = test::rel_error(via_nhwc(in, p, Precision::TF32), ref);
        const double bf16 = test::rel_error(via_nhwc(in, p, Precision::BF16), ref);
        const double accurate = test::rel_error(via_nhwc(in, p, Precision::FP32Accurate), ref);
        INFO("norm errors: fp32 " << fp32 << ", tf32 " << tf32 << ", bf16 " << bf16 << ", fp32-accurate " << accurate);
        CHECK(tf32 > 0.1 * test::conv_tolerance::unit_roundoff(Precision::TF32));  // operands are rounded (the mode is used)
        CHECK(tf32 > 20 * fp32);
        CHECK(bf16 > 3 * tf32);
        CHECK(accurate * 100 < tf32);
        CHECK(accurate < 4 * fp32 + 1e-7);
    }
}

TEST_CASE("NHWC convolution: the whole-window GEMV is strict fp32 and deterministic in every mode") {
    const Inputs in(dcgan_layers(4)[9].g);  // D5 at batch 4: 512 -> 1 channel, 4x4 -> 1x1
    for (Pass p : kPasses) {
        INFO(pass_name(p));
        const std::vector<double> fp32 = via_nhwc(in, p, Precision::FP32);
        for (Precision m : kPrecisions) CHECK(via_nhwc(in, p, m) == fp32);  // no operand rounding, same order
        check("D5 batch 4", in, p, Precision::FP32, fp32);
    }
}

TEST_CASE("NHWC convolution: tensors beyond 32-bit indexing are refused by name") {
    const ConvGeometry g = conv({4096, 64, 64, 64}, {64, 64, 3, 3}, 1, 1);  // 2^30 input elements; nothing is read
    const auto refused = [](const auto& call, const char* op) {
        try {
            call();
        } catch (const Error& e) {
            const std::string message = e.what();
            INFO(message);
            CHECK(message.find(op) != std::string::npos);
            CHECK(message.find("NHWC") != std::string::npos);
            return true;
        }
        return false;
    };
    CHECK(refused([&] { cuda::conv2d_forward_nhwc(g, nullptr, nullptr, nullptr, nullptr); }, "conv2d NHWC"));
    CHECK(refused([&] { cuda::conv2d_backward_input_nhwc(g, nullptr, nullptr, nullptr); }, "backward input"));
    CHECK(refused([&] { cuda::conv2d_backward_weight_nhwc(g, nullptr, nullptr, nullptr); }, "backward weight"));
}

// conv2d_nhwc.cu runs the stride phases as one batch (mma::run_batch): the same bits as each
// phase alone on the batch's plan for it (same tile, same K ranges, splits added in the same
// order). Phases of different sizes and taps, split K (a long K over few tiles), every mode.
TEST_CASE("NHWC grad-input: the batched stride phases give each phase's bits alone") {
    const Named shapes[] = {
        {"3x3 stride 2 pad 1, C 8, K 64: split, odd phases", conv({1, 8, 9, 7}, {64, 8, 3, 3}, 2, 1)},
        {"4x4 stride 2 pad 1, C 68, K 20: unsplit", conv({3, 68, 10, 10}, {20, 68, 4, 4}, 2, 1)},
        {"5x5 stride 3 pad 2, C 12, K 96: 9 phases", conv({1, 12, 13, 11}, {96, 12, 5, 5}, 3, 2)},
    };
    for (const Named& shape : shapes)
        for (Precision m : {Precision::TF32, Precision::BF16, Precision::FP32Accurate}) {
            INFO(shape.name << " in " << precision_name(m));
            const Inputs in(shape.g);
            const cuda::conv::Dims d(in.g);
            const Shape out_shape_ = out_shape(in.g, Pass::BackwardInput);
            const std::vector<double> batched = via_nhwc(in, Pass::BackwardInput, m);
            REQUIRE(cuda::conv::nhwc::BackwardInputPhaseNhwc::chunks_ok(d));
            // The phases one launch each, on the plans the batches gave them.
            Tensor out = poisoned(out_shape_);
            const Tensor w_dev = crsk_weights(in);
            std::vector<cuda::conv::nhwc::BackwardInputPhaseNhwc> phases;
            cuda::conv::nhwc::for_each_backward_input_problem(d, in.dy_dev.data<float>(), w_dev.data<float>(), out.data<float>(),
                                                              [&](const auto& problem) {
                                                                  using P = std::decay_t<decltype(problem)>;
                                                                  if constexpr (std::is_same_v<P, cuda::conv::nhwc::BackwardInputPhaseNhwc>)
                                                                      phases.push_back(problem);
                                                              });
            REQUIRE(phases.size() == size_t(in.g.opt.stride_h * in.g.opt.stride_w));
            bool split = false;
            for (size_t first = 0; first < phases.size(); first += cuda::mma::kMmaMaxBatch) {
                std::vector<cuda::mma::GemmSize> sizes;
                std::vector<size_t> which;
                for (size_t i = first; i < std::min(phases.size(), first + cuda::mma::kMmaMaxBatch); ++i)
                    if (phases[i].M > 0) {
                        sizes.push_back({phases[i].M, phases[i].N, phases[i].K});
                        which.push_back(i);
                    }
                if (sizes.empty()) continue;
                const cuda::mma::BatchPlan plan = cuda::mma::mma_batch_plan(sizes.data(), int(sizes.size()), true);
                for (size_t j = 0; j < which.size(); ++j) {
                    split = split || plan.plans[j].splits > 1;
                    const PrecisionScope scope(m);
                    const auto& p = phases[which[j]];
                    if (m == Precision::TF32) cuda::mma::run_with_plan<Mode::TF32, true>(p, plan.plans[j]);
                    if (m == Precision::BF16) cuda::mma::run_with_plan<Mode::BF16, true>(p, plan.plans[j]);
                    if (m == Precision::FP32Accurate) cuda::mma::run_with_plan<Mode::TF32x3, true>(p, plan.plans[j]);
                }
            }
            if (std::string(shape.name).find("unsplit") == std::string::npos) CHECK(split);
            const std::vector<double> alone = channels_first(out.to_double_vector(), out_shape_);
            REQUIRE(alone.size() == batched.size());
            size_t differ = 0;
            for (size_t i = 0; i < alone.size(); ++i) differ += !(alone[i] == batched[i]);  // NaN (unwritten) differs
            CHECK(differ == 0);
            check(shape.name, in, Pass::BackwardInput, m, batched);
        }
}
