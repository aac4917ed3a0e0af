// The narrow channels-last grad-input (kernels/cuda/conv_nhwc_narrow.h: at most 4 input
// channels, SIMT FP32; the DCGAN's D1 grad-input and G5 transposed-conv forward) against the
// float64 CPU reference (NCHW) on fresh random inputs, its output poisoned with NaN first:
// strides 1, 2, 3 and mixed, padding, dilation, odd sizes, 1 to 4 channels, K_out not a
// multiple of 4 and a misaligned dy (the scalar loop), a stride wider than the image, batch
// 1 and more. It is exact fp32 in every precision mode: each mode must give strict fp32's bits
// and meet strict fp32's bound. Geometries beyond it take the general path, and a direct call
// on one is refused by name. The fused grad-input (batchnorm + activation of dy) on this path
// equals apply-then-conv bit for bit.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "conv_tolerance.h"
#include "dcgan_conv_layers.h"
#include "core/precision.h"
#include "kernels/conv2d.h"
#include "kernels/cuda/conv2d_nhwc.h"
#include "kernels/cuda/conv_nhwc_narrow.h"
#include "kernels/cuda/conv_nhwc_thin.h"
#include "test_util.h"

using namespace ganops;
using test::dcgan_conv::conv;
using test::dcgan_conv::Named;
using test::dcgan_conv::transposed;

namespace {

constexpr Precision kPrecisions[] = {Precision::FP32, Precision::TF32, Precision::BF16, Precision::FP32Accurate};

// [a][b][c][d] -> [a][c][d][b] (NCHW -> NHWC, KCRS -> KRSC), and back (`s` the channels-first shape).
std::vector<float> channels_last(const std::vector<double>& v, const Shape& s) {
    const int64_t n = s[0], c = s[1], hw = s[2] * s[3];
    std::vector<float> out(v.size());
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < c; ++j)
            for (int64_t k = 0; k < hw; ++k) out[(i * hw + k) * c + j] = float(v[(i * c + j) * hw + k]);
    return out;
}
std::vector<double> channels_first(const std::vector<double>& v, const Shape& s) {
    const int64_t n = s[0], c = s[1], hw = s[2] * s[3];
    std::vector<double> out(v.size());
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < c; ++j)
            for (int64_t k = 0; k < hw; ++k) out[(i * c + j) * hw + k] = v[(i * hw + k) * c + j];
    return out;
}

Tensor upload(const std::vector<float>& v) { return Tensor::from_vector(Shape{int64_t(v.size())}, v).to(Device::CUDA); }

// Fresh random dy and weights (float32 values), the float64 reference on them and on their
// magnitudes (the error bound's scale), and NHWC / KRSC copies on the device. `dy_offset`
// floats of slack before dy on the device: 1 misaligns its rows for float4.
struct Case {
    ConvGeometry g;
    Tensor dy_dev, w_dev;
    const float* dy_ptr;
    std::vector<double> ref, mag;
    Case(const ConvGeometry& geometry, int dy_offset = 0) : g(geometry) {
        const Tensor dy = test::randn(g.y_shape(), DType::F32), w = test::randn(g.w_shape(), DType::F32, 0.1);
        std::vector<float> dy_nhwc = channels_last(dy.to_double_vector(), g.y_shape());
        dy_nhwc.insert(dy_nhwc.begin(), size_t(dy_offset), 7.0f);
        dy_dev = upload(dy_nhwc);
        dy_ptr = dy_dev.data<float>() + dy_offset;
        w_dev = upload(channels_last(w.to_double_vector(), g.w_shape()));
        ref = reference(dy, w, false);
        mag = reference(dy, w, true);
    }
    std::vector<double> reference(const Tensor& dy, const Tensor& w, bool magnitude) const {
        const auto f64 = [&](const Tensor& t) {
            std::vector<double> v = t.to_double_vector();
            if (magnitude)
                for (double& e : v) e = std::abs(e);
            return Tensor::from_vector(t.shape(), v);
        };
        Tensor out = Tensor::empty(g.x_shape(), DType::F64);
        kernels::conv2d_backward_input(g, f64(dy), f64(w), out);
        return out.to_double_vector();
    }
    // conv2d_backward_input_nhwc in `precision`, into a NaN-poisoned dx, back to NCHW.
    std::vector<double> run(Precision precision) const {
        const PrecisionScope scope(precision);
        Tensor dx = Tensor::full(Shape{g.x_shape().numel()}, std::nan(""), DType::F32, Device::CUDA);
        cuda::conv2d_backward_input_nhwc(g, dy_ptr, w_dev.data<float>(), dx.data<float>());
        return channels_first(dx.to_double_vector(), g.x_shape());
    }
    int64_t dot_length() const { return g.out_channels * g.kernel_h * g.kernel_w; }
};

cuda::conv::nhwc::NhwcPath path_of(const ConvGeometry& g, bool tensor_cores) {
    return cuda::conv::nhwc::nhwc_path(cuda::conv::nhwc::NhwcPass::BackwardInput, cuda::conv::Dims(g), tensor_cores);
}

// 7x7 dilated by 6 over 40x40: each 40 x 6 tile reaches a 42 x 76 pixel dy window.
ConvGeometry dilated_7x7() { return conv2d_geometry("test", {1, 3, 40, 40}, {8, 3, 7, 7}, Conv2dOptions::square(1, 0, 6)); }

std::vector<Named> narrow_shapes() {
    return {
        {"G5 / D1 at batch 2: 64 -> 3, 4x4 stride 2 pad 1, 32x32 -> 64x64", transposed({2, 64, 32, 32}, {64, 3, 4, 4}, 2, 1)},
        {"3x3 stride 1 pad 1, C 1, K 8, 7x9, batch 3", conv({3, 1, 7, 9}, {8, 1, 3, 3}, 1, 1)},
        {"5x5 stride 3 pad 2, C 2, K 12, 13x11 (phases of unequal length)", conv({1, 2, 13, 11}, {12, 2, 5, 5}, 3, 2)},
        {"4x4 stride 2 pad 1, C 4, K 6 (scalar k loop), 9x10", conv({2, 4, 9, 10}, {6, 4, 4, 4}, 2, 1)},
        {"3x3 stride 2 pad 2 dilation 2, C 3, K 16, 11x12",
         conv2d_geometry("test", {1, 3, 11, 12}, {16, 3, 3, 3}, Conv2dOptions::square(2, 2, 2))},
        {"2x3 stride (1, 2) pad (0, 1), C 3, K 5, 6x7", conv2d_geometry("test", {2, 3, 6, 7}, {5, 3, 2, 3}, Conv2dOptions{1, 2, 0, 1, 1, 1})},
        {"1x1 stride 3, C 3, K 8, 5x2 (stride wider than the image; untouched pixels are zero)", conv({1, 3, 5, 2}, {8, 3, 1, 1}, 3, 0)},
        {"transposed 3x3 stride 3 pad 1, 20 -> 2, 4x5", transposed({2, 20, 4, 5}, {20, 2, 3, 3}, 3, 1)},
        {"transposed 4x4 stride 2 pad 1, 70 -> 3, 3x37 (chunks of 32: the last partial; two tiles wide)",
         transposed({1, 70, 3, 37}, {70, 3, 4, 4}, 2, 1)},
    };
}

}  // namespace

TEST_CASE("narrow grad-input: the path takes grad-input of 1 to 4 input channels in every mode, and only that") {
    for (const Named& s : narrow_shapes()) {
        INFO(s.name);
        CHECK(path_of(s.g, true) == cuda::conv::nhwc::NhwcPath::Narrow);
        CHECK(path_of(s.g, false) == cuda::conv::nhwc::NhwcPath::Narrow);
    }
    // 5 channels, or a dy window larger than the kernel's shared memory: General.
    CHECK(path_of(conv({2, 5, 9, 9}, {8, 5, 3, 3}, 1, 1), true) == cuda::conv::nhwc::NhwcPath::General);
    CHECK(path_of(dilated_7x7(), true) == cuda::conv::nhwc::NhwcPath::General);
}

TEST_CASE("narrow grad-input equals the float64 reference with strict fp32's bound, and strict fp32's bits, in every mode") {
    for (const Named& s : narrow_shapes()) {
        INFO(s.name);
        const Case c(s.g);
        const std::vector<double> fp32 = c.run(Precision::FP32);
        test::conv_tolerance::check_result(fp32, c.ref, c.mag, c.dot_length(), Precision::FP32);
        for (Precision m : kPrecisions) {
            INFO(precision_name(m));
            CHECK(c.run(m) == fp32);  // no operand rounding, same summation order
        }
    }
}

TEST_CASE("narrow grad-input: a dy not 16-byte aligned takes the scalar loop, same result") {
    const ConvGeometry g = transposed({1, 16, 6, 7}, {16, 3, 4, 4}, 2, 1);
    const Case aligned(g), misaligned(g, 1);
    test::conv_tolerance::check_result(misaligned.run(Precision::TF32), misaligned.ref, misaligned.mag, misaligned.dot_length(),
                                       Precision::FP32);
    test::conv_tolerance::check_result(aligned.run(Precision::TF32), aligned.ref, aligned.mag, aligned.dot_length(), Precision::FP32);
}

TEST_CASE("narrow grad-input: geometries beyond it run the general path; a direct call on one is refused by name") {
    const ConvGeometry beyond = dilated_7x7();
    const Case c(beyond);
    test::conv_tolerance::check_result(c.run(Precision::FP32), c.ref, c.mag, c.dot_length(), Precision::FP32);
    std::string message;
    try {
        cuda::narrow::conv2d_backward_input_narrow(cuda::conv::Dims(beyond), nullptr, nullptr, nullptr);
    } catch (const Error& e) {
        message = e.what();
    }
    INFO(message);
    CHECK(message.find("narrow grad-input") != std::string::npos);
    CHECK(message.find("8x7x7") != std::string::npos);
    CHECK(message.find("dilation 6x6") != std::string::npos);
}

// The fused grad-input (conv2d_backward_input_nhwc_fused, the opt-in conv + batchnorm chain)
// on the narrow path: the batchnorm + activation of dy applied in a pass first, then the same
// kernel: bit for bit the unfused apply-then-conv, and no statistics from an epilogue.
TEST_CASE("narrow grad-input, fused with a batchnorm + activation of dy: the unfused result, bit for bit") {
    const ConvGeometry g = transposed({2, 12, 5, 6}, {12, 3, 4, 4}, 2, 1);  // G5's shape, smaller
    REQUIRE(path_of(g, true) == cuda::conv::nhwc::NhwcPath::Narrow);
    CHECK_FALSE(cuda::conv2d_backward_input_nhwc_moments_fused(g));
    const Case c(g);
    // centre, scale (> 0), shift ~ 0.5: act(shift) is mostly not 0.
    const std::vector<double> random = test::randn(Shape{3 * g.out_channels}, DType::F32).to_double_vector();
    std::vector<float> params(random.begin(), random.end());
    for (int64_t k = 0; k < g.out_channels; ++k) {
        params[size_t(g.out_channels + k)] = 0.5f + std::abs(params[size_t(g.out_channels + k)]);
        params[size_t(2 * g.out_channels + k)] += 0.5f;
    }
    const Tensor buffer = upload(params);
    const cuda::NormAct na = cuda::NormAct::from_buffer(buffer.data<float>(), g.out_channels, 0.2f);
    const int64_t dy_rows = g.batch * g.out_h * g.out_w;
    for (Precision m : kPrecisions) {
        INFO(precision_name(m));
        const PrecisionScope scope(m);
        Tensor fused = Tensor::full(Shape{g.x_shape().numel()}, std::nan(""), DType::F32, Device::CUDA);
        Tensor plain = Tensor::full(Shape{g.x_shape().numel()}, std::nan(""), DType::F32, Device::CUDA);
        Tensor applied = Tensor::full(Shape{dy_rows * g.out_channels}, std::nan(""), DType::F32, Device::CUDA);
        cuda::conv2d_backward_input_nhwc_fused(g, c.dy_ptr, &na, c.w_dev.data<float>(), fused.data<float>(), nullptr);
        cuda::batchnorm_act_nhwc_apply(c.dy_ptr, dy_rows, g.out_channels, na, applied.data<float>());
        cuda::conv2d_backward_input_nhwc(g, applied.data<float>(), c.w_dev.data<float>(), plain.data<float>());
        const std::vector<double> a = fused.to_double_vector(), b = plain.to_double_vector();
        size_t differ = 0;
        for (size_t i = 0; i < a.size(); ++i) differ += !(a[i] == b[i]);  // NaN (unwritten) differs
        CHECK(differ == 0);
        CHECK(test::max_abs_diff(a, std::vector<double>(a.size(), 0.0)) > 0.0);
    }
}
