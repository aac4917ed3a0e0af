// The tensor-core convolution (kernels/cuda/implicit_gemm_mma.cuh) in each precision mode,
// every pass (forward, grad-input, grad-weight), against the float64 reference on the CPU.
//
// Tolerances: tests/conv_tolerance.h (per element from the mode's unit roundoff and K, and a
// norm bound).
//
// The kernels run on fresh random inputs; outputs start as NaN (an element no thread wrote
// fails). Shapes: every DCGAN layer at batch 1 through the library's dispatch (conv2d.cu; all
// modes and passes under [large], one mode and pass per layer otherwise), and
// odd shapes (M, N, K no multiple of any tile; K below one mma k-step; 1x1 and 3x3, stride 1
// and 2, padding) on each of the three block tiles. Finally, tests that the tolerance can
// fail: TF32 is measurably less accurate than strict fp32 (the mode is used), BF16 less than
// TF32, and fp32-accurate is at least 100x closer than TF32 on the same input.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/precision.h"
#include "kernels/conv2d.h"
#include "conv_tolerance.h"
#include "dcgan_conv_layers.h"
#include "kernels/cuda/conv_mma.h"
#include "test_util.h"

#if defined(GANOPS_EMULATED)
// Every mma operand must have gone through cvt.rna.tf32: the emulator checks (ptx.cuh).
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
const char* mode_name(Mode m) { return m == Mode::TF32 ? "tf32" : m == Mode::BF16 ? "bf16" : "fp32-accurate"; }
Precision precision_of(Mode m) {
    return m == Mode::TF32 ? Precision::TF32 : m == Mode::BF16 ? Precision::BF16 : Precision::FP32Accurate;
}
const char* tile_name(TileConfig t) { return t == TileConfig::Wide ? "wide" : t == TileConfig::Square ? "square" : "narrow"; }

constexpr Mode kModes[] = {Mode::TF32, Mode::BF16, Mode::TF32x3};
constexpr Pass kPasses[] = {Pass::Forward, Pass::BackwardInput, Pass::BackwardWeight};
constexpr TileConfig kTiles[] = {TileConfig::Wide, TileConfig::Square, TileConfig::Narrow};

double unit_roundoff(Mode m) { return test::conv_tolerance::unit_roundoff(precision_of(m)); }

// GEMM sizes of a pass (conv2d.cu's mapping).
struct GemmSize {
    int64_t M, N, K;
};
GemmSize gemm_size(const ConvGeometry& g, Pass p) {
    const int64_t pq = g.out_h * g.out_w, hw = g.in_h * g.in_w, rs = g.kernel_h * g.kernel_w;
    if (p == Pass::Forward) return {g.batch * pq, g.out_channels, g.in_channels * rs};
    if (p == Pass::BackwardInput) return {g.batch * hw, g.in_channels, g.out_channels * rs};
    return {g.in_channels * rs, g.out_channels, g.batch * pq};
}

// One geometry's float32 inputs (CPU), fresh for each case.
struct Inputs {
    ConvGeometry g;
    Tensor x, w, dy;
    explicit Inputs(const ConvGeometry& geometry)
        : g(geometry), x(test::randn(g.x_shape(), DType::F32)), w(test::randn(g.w_shape(), DType::F32, 0.1)),
          dy(test::randn(g.y_shape(), DType::F32)) {}
};

Shape out_shape(const ConvGeometry& g, Pass p) {
    return p == Pass::Forward ? g.y_shape() : p == Pass::BackwardInput ? g.x_shape() : g.w_shape();
}

Tensor to_f64(const Tensor& t, bool magnitude) {
    std::vector<double> v = t.to_double_vector();
    if (magnitude)
        for (double& e : v) e = std::abs(e);
    return Tensor::from_vector(t.shape(), v);
}

// The pass in float64 on the CPU from the float32 inputs, or on their magnitudes.
std::vector<double> reference(const Inputs& in, Pass p, bool magnitude) {
    const Tensor x = to_f64(in.x, magnitude), w = to_f64(in.w, magnitude), dy = to_f64(in.dy, magnitude);
    Tensor out = Tensor::empty(out_shape(in.g, p), DType::F64);
    if (p == Pass::Forward) kernels::conv2d_forward(in.g, x, w, Tensor(), out);
    if (p == Pass::BackwardInput) kernels::conv2d_backward_input(in.g, dy, w, out);
    if (p == Pass::BackwardWeight) kernels::conv2d_backward_weight(in.g, dy, x, out);
    return out.to_double_vector();
}

Tensor poisoned(const Shape& s) { return Tensor::full(s, std::nan(""), DType::F32, Device::CUDA); }

// The pass through the library (conv2d.cu's dispatch) in the given precision.
std::vector<double> via_library(const Inputs& in, Pass p, Precision precision) {
    const PrecisionScope scope(precision);
    const Tensor x = in.x.to(Device::CUDA), w = in.w.to(Device::CUDA), dy = in.dy.to(Device::CUDA);
    Tensor out = poisoned(out_shape(in.g, p));
    if (p == Pass::Forward) kernels::conv2d_forward(in.g, x, w, Tensor(), out);
    if (p == Pass::BackwardInput) kernels::conv2d_backward_input(in.g, dy, w, out);
    if (p == Pass::BackwardWeight) kernels::conv2d_backward_weight(in.g, dy, x, out);
    return out.to_double_vector();
}

// The pass on one block tile, the conv problems built as conv2d.cu builds them.
template <Mode Md>
std::vector<double> on_tile(const Inputs& in, Pass p, TileConfig tile) {
    const cuda::conv::Dims d(in.g);
    const Tensor x = in.x.to(Device::CUDA), w = in.w.to(Device::CUDA), dy = in.dy.to(Device::CUDA);
    Tensor out = poisoned(out_shape(in.g, p));
    const GemmSize s = gemm_size(in.g, p);
    const cuda::mma::MmaPlan plan = cuda::mma::mma_plan_for(tile, s.M, s.N, s.K);
    using cuda::conv::for_mma;  // the problems as conv2d.cu hands them to the tensor-core loop
    if (p == Pass::Forward)
        cuda::mma::run_with_plan<Md>(for_mma(cuda::conv::Forward{d, x.data<float>(), w.data<float>(), nullptr, out.data<float>(), s.M, s.N, s.K}), plan);
    if (p == Pass::BackwardInput)
        cuda::mma::run_with_plan<Md>(for_mma(cuda::conv::BackwardInput{d, dy.data<float>(), w.data<float>(), out.data<float>(), s.M, s.N, s.K}), plan);
    if (p == Pass::BackwardWeight)
        cuda::mma::run_with_plan<Md>(for_mma(cuda::conv::BackwardWeight{d, dy.data<float>(), x.data<float>(), out.data<float>(), s.M, s.N, s.K}), plan);
    return out.to_double_vector();
}

// Forward as a plain functor problem (conv_problems.h), not its FastDivmod form: the loop
// takes any problem with the functor interface.
std::vector<double> plain_forward(const Inputs& in) {
    const cuda::conv::Dims d(in.g);
    const Tensor x = in.x.to(Device::CUDA), w = in.w.to(Device::CUDA);
    Tensor out = poisoned(out_shape(in.g, Pass::Forward));
    const GemmSize s = gemm_size(in.g, Pass::Forward);
    cuda::mma::run<Mode::TF32>(cuda::conv::Forward{d, x.data<float>(), w.data<float>(), nullptr, out.data<float>(), s.M, s.N, s.K});
    return out.to_double_vector();
}

std::vector<double> on_tile(const Inputs& in, Pass p, Mode m, TileConfig tile) {
    if (m == Mode::TF32) return on_tile<Mode::TF32>(in, p, tile);
    if (m == Mode::BF16) return on_tile<Mode::BF16>(in, p, tile);
    return on_tile<Mode::TF32x3>(in, p, tile);
}

// Checks one result against the mode's bounds (conv_tolerance.h); returns the norm error.
double check_result(const std::string& what, const Inputs& in, Pass p, Mode m, const std::vector<double>& got) {
    INFO(what << ": " << pass_name(p) << " in " << mode_name(m) << "; M " << gemm_size(in.g, p).M << " N "
              << gemm_size(in.g, p).N);
    return test::conv_tolerance::check_result(got, reference(in, p, false), reference(in, p, true), gemm_size(in.g, p).K,
                                              precision_of(m));
}

using test::dcgan_conv::conv;
using test::dcgan_conv::dcgan_layers;
using test::dcgan_conv::Named;
using test::dcgan_conv::transposed;

// Sizes no tile divides; K below one k-step (8); 1x1 and 3x3; stride 1 and 2; padding.
std::vector<Named> odd_shapes() {
    return {
        {"1x1, K = 5 below one k-step", conv({3, 5, 7, 6}, {9, 5, 1, 1}, 1, 0)},
        {"1x1 stride 2, K = 17", conv({2, 17, 8, 8}, {70, 17, 1, 1}, 2, 0)},
        {"3x3 stride 1 pad 1", conv({2, 7, 9, 11}, {13, 7, 3, 3}, 1, 1)},
        {"3x3 stride 2 pad 1", conv({2, 6, 9, 7}, {33, 6, 3, 3}, 2, 1)},
        {"3x3 stride 2 pad 2, 1 channel", conv({3, 1, 10, 9}, {5, 1, 3, 3}, 2, 2)},
        {"transposed 4x4 stride 2 pad 1, 3 -> 65", transposed({1, 3, 5, 7}, {3, 65, 4, 4}, 2, 1)},
    };
}

}  // namespace

// Emulated, one DCGAN layer's pass at batch 1 costs up to a second of CPU (3x that in
// fp32-accurate): the full sweep is [large] (ctest label slow); the default suite runs each
// layer once, in a mode and pass chosen so that each mode meets each pass and fp32-accurate
// gets the cheap layers.
TEST_CASE("tensor-core convolution: every DCGAN layer, pass and mode through the library's dispatch", "[large]") {
    for (const Named& layer : dcgan_layers(1)) {
        const Inputs in(layer.g);
        for (Mode m : kModes)
            for (Pass p : kPasses) check_result(layer.name, in, p, m, via_library(in, p, precision_of(m)));
    }
}

TEST_CASE("tensor-core convolution: every DCGAN layer through the library's dispatch, each mode meeting each pass") {
    const std::vector<Named> layers = dcgan_layers(1);
    const Mode a = Mode::TF32x3, t = Mode::TF32, b = Mode::BF16;
    const Pass f = Pass::Forward, i = Pass::BackwardInput, w = Pass::BackwardWeight;
    //                             G1 G2 G3 G4 G5 D1 D2 D3 D4 D5
    const Mode modes[] = {a, t, b, t, a, a, b, t, b, t};
    const Pass passes[] = {f, f, i, w, i, w, w, i, f, f};
    for (size_t l = 0; l < layers.size(); ++l) {
        const Inputs in(layers[l].g);
        check_result(layers[l].name, in, passes[l], modes[l], via_library(in, passes[l], precision_of(modes[l])));
    }
}

TEST_CASE("tensor-core convolution: odd shapes on every block tile, pass and mode") {
    for (const Named& shape : odd_shapes()) {
        const Inputs in(shape.g);
        for (TileConfig t : kTiles)
            for (Mode m : kModes)
                for (Pass p : kPasses)
                    check_result(std::string(shape.name) + " on the " + tile_name(t) + " tile", in, p, m, on_tile(in, p, m, t));
    }
}

// Grad-input through the dispatch runs as stride phases (conv_problems.h), some of which no
// tap reaches (1x1 kernel at stride 2): their pixels must come out as written zeros, not as
// the NaN the output is poisoned with.
TEST_CASE("tensor-core convolution: strided grad-input phases through the library's dispatch, empty phases included") {
    for (const Named& shape : odd_shapes()) {
        const Inputs in(shape.g);
        check_result(std::string(shape.name) + ", phases via the dispatch", in, Pass::BackwardInput, Mode::TF32,
                     via_library(in, Pass::BackwardInput, precision_of(Mode::TF32)));
    }
}

TEST_CASE("tensor-core convolution: a plain functor problem runs unchanged") {
    for (const Named& shape : odd_shapes()) {
        const Inputs in(shape.g);
        check_result(std::string(shape.name) + ", plain Forward functor", in, Pass::Forward, Mode::TF32, plain_forward(in));
    }
}

TEST_CASE("tensor-core convolution: a DCGAN layer on the wide tile") {
    // The dispatch gives batch-1 layers the square and narrow tiles; the wide one (128 x 64,
    // 8 warps) is for batch-128 problems. D3's forward at batch 1: M = 64, N = 256, K = 2048,
    // several stages per split (the odd shapes above cover every tile in every mode).
    const Inputs in(dcgan_layers(1)[7].g);
    check_result("D3 on the wide tile", in, Pass::Forward, Mode::TF32, on_tile(in, Pass::Forward, Mode::TF32, TileConfig::Wide));
}

TEST_CASE("tensor-core convolution: the modes differ as their roundoff says (the tolerances can fail)") {
    REQUIRE(matmul_precision() == Precision::TF32);  // the default, as PyTorch's allow_tf32
    // 3x3, 48 channels: K = 432.
    const Inputs in(conv({2, 48, 12, 12}, {40, 48, 3, 3}, 1, 1));
    for (Pass p : kPasses) {
        INFO(pass_name(p));
        const std::vector<double> ref = reference(in, p, false);
        const double fp32 = test::rel_error(via_library(in, p, Precision::FP32), ref);
        const double tf32 = test::rel_error(via_library(in, p, Precision::TF32), ref);
        const double bf16 = test::rel_error(via_library(in, p, Precision::BF16), ref);
        const double accurate = test::rel_error(via_library(in, p, Precision::FP32Accurate), ref);
        INFO("norm errors: fp32 " << fp32 << ", tf32 " << tf32 << ", bf16 " << bf16 << ", fp32-accurate " << accurate);
        // TF32 rounds operands to 11 significant bits: far from strict fp32's error.
        CHECK(tf32 > 0.1 * unit_roundoff(Mode::TF32));
        CHECK(tf32 > 20 * fp32);
        // BF16 keeps 3 bits fewer than TF32: 8x the error, give or take.
        CHECK(bf16 > 3 * tf32);
        // 3xTF32 is fp32-level.
        CHECK(accurate * 100 < tf32);
        CHECK(accurate < 4 * fp32 + 1e-7);
    }
}
