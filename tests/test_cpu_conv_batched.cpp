// The CPU convolution the library runs (kernels/cpu/conv2d_batched.cpp: products over chunks
// of the batch, on the thread pool) against the Eigen reference (kernels/cpu/reference.h),
// on fresh random inputs, for all three passes: strides, padding, dilation, odd and
// rectangular sizes, batches that do not fill the last chunk, one and several threads.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/conv2d.h"
#include "kernels/conv_transpose2d.h"
#include "kernels/cpu/conv2d_batched.h"
#include "kernels/cpu/conv2d_channels_last.h"
#include "kernels/cpu/reference.h"
#include "test_util.h"

using namespace ganops;

namespace {

struct Case {
    std::string name;
    int64_t batch, in_c, in_h, in_w, out_c, kh, kw;
    Conv2dOptions opt;
};

template <class T>
std::vector<T> random_values(int64_t n) {
    const Tensor t = test::randn({n}, DType::F64);
    std::vector<T> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[size_t(i)] = static_cast<T>(t.data<double>()[i]);
    return v;
}

template <class T>
std::vector<T> poisoned(int64_t n) {
    return std::vector<T>(static_cast<size_t>(n), std::numeric_limits<T>::quiet_NaN());
}

template <class T>
double rel_error(const std::vector<T>& a, const std::vector<T>& b) {
    return test::rel_error(std::vector<double>(a.begin(), a.end()), std::vector<double>(b.begin(), b.end()));
}

template <class T>
void check_case(const Case& c, double tolerance) {
    INFO(c.name << (sizeof(T) == 4 ? " float" : " double"));
    const ConvGeometry g = conv2d_geometry("test", {c.batch, c.in_c, c.in_h, c.in_w}, {c.out_c, c.in_c, c.kh, c.kw}, c.opt);
    const int64_t nx = g.x_shape().numel(), ny = g.y_shape().numel(), nw = g.w_shape().numel();
    const std::vector<T> x = random_values<T>(nx), w = random_values<T>(nw), dy = random_values<T>(ny);
    const std::vector<T> bias = random_values<T>(g.out_channels);

    std::vector<T> y_ref = poisoned<T>(ny), dx_ref = poisoned<T>(nx), dw_ref = poisoned<T>(nw);
    cpu::conv2d_forward(g, x.data(), w.data(), bias.data(), y_ref.data());
    cpu::conv2d_backward_input(g, dy.data(), w.data(), dx_ref.data());
    cpu::conv2d_backward_weight(g, dy.data(), x.data(), dw_ref.data());

    std::vector<std::vector<T>> runs;
    for (int threads : {1, 3}) {
        set_cpu_threads(threads);
        std::vector<T> y = poisoned<T>(ny), y_nobias = poisoned<T>(ny), dx = poisoned<T>(nx), dw = poisoned<T>(nw);
        cpu::conv2d_forward_batched(g, x.data(), w.data(), bias.data(), y.data());
        cpu::conv2d_forward_batched(g, x.data(), w.data(), static_cast<const T*>(nullptr), y_nobias.data());
        cpu::conv2d_backward_input_batched(g, dy.data(), w.data(), dx.data());
        cpu::conv2d_backward_weight_batched(g, dy.data(), x.data(), dw.data());
        INFO("threads " << threads);
        CHECK(rel_error(y, y_ref) < tolerance);
        CHECK(rel_error(dx, dx_ref) < tolerance);
        CHECK(rel_error(dw, dw_ref) < tolerance);
        for (int64_t i = 0; i < ny; ++i) y_nobias[size_t(i)] += bias[size_t((i / (g.out_h * g.out_w)) % g.out_channels)];
        CHECK(rel_error(y_nobias, y_ref) < tolerance);
        runs.push_back(y);
        runs.push_back(dx);
        runs.push_back(dw);
    }
    // The chunks are cut from the shapes alone: one thread or three give the same bits.
    for (size_t i = 0; i < 3; ++i) CHECK(runs[i] == runs[i + 3]);
    set_cpu_threads(1);
}

const std::vector<Case>& cases() {
    static const std::vector<Case> all = {
        {"DCGAN D2-like, 64 images, stride 2 pad 1 (channels-last)", 64, 16, 16, 16, 24, 4, 4, Conv2dOptions::square(2, 1)},
        {"one input channel (D1), batch 13", 13, 1, 32, 32, 8, 4, 4, Conv2dOptions::square(2, 1)},
        {"1x1 output (D last layer), batch 21", 21, 12, 4, 4, 1, 4, 4, Conv2dOptions::square(1, 0)},
        {"1x1 input read as G's first layer, batch 19", 19, 10, 1, 1, 7, 4, 4, Conv2dOptions::square(1, 3)},
        {"stride 1 pad 1, 3x3, odd sizes", 5, 3, 7, 9, 5, 3, 3, Conv2dOptions::square(1, 1)},
        {"stride 3, pad 2, rectangular kernel", 6, 2, 11, 8, 4, 3, 2, Conv2dOptions{3, 2, 2, 1, 1, 1}},
        {"dilation 2, no padding", 3, 3, 10, 9, 4, 3, 3, Conv2dOptions::square(1, 0, 2)},
        {"padding wider than the kernel reach", 4, 2, 3, 5, 3, 2, 2, Conv2dOptions{2, 1, 3, 2, 1, 1}},
        // In channels-last (conv2d_channels_last.cpp): 16 input channels or more; the first two
        // in whole 16x16 blocks (the AVX-512 transposes in float), the others not.
        {"channels-last: DCGAN D3-like, 8x8 to 4x4, batch 11", 11, 32, 8, 8, 40, 4, 4, Conv2dOptions::square(2, 1)},
        {"channels-last: stride 1 pad 1, 3x3, odd sizes", 5, 17, 7, 9, 5, 3, 3, Conv2dOptions::square(1, 1)},
        {"channels-last: stride 3, pad 2, rectangular kernel", 6, 18, 11, 8, 4, 3, 2, Conv2dOptions{3, 2, 2, 1, 1, 1}},
        {"channels-last: dilation 2, no padding", 3, 16, 10, 9, 4, 3, 3, Conv2dOptions::square(1, 0, 2)},
        {"channels-last: padding wider than the kernel reach", 4, 20, 3, 5, 3, 2, 2, Conv2dOptions{2, 1, 3, 2, 1, 1}},
    };
    return all;
}

}  // namespace

TEST_CASE("the channels-last path takes the many-channel layers, the NCHW path the others", "[conv]") {
    for (const Case& c : cases()) {
        const ConvGeometry g = conv2d_geometry("test", {c.batch, c.in_c, c.in_h, c.in_w}, {c.out_c, c.in_c, c.kh, c.kw}, c.opt);
        INFO(c.name);
        CHECK(cpu::channels_last_pays(g) == (c.in_c >= 16));
    }
}

TEST_CASE("batched CPU convolution matches the reference in float", "[conv]") {
    for (const Case& c : cases()) check_case<float>(c, 1e-5);
}

TEST_CASE("batched CPU convolution matches the reference in double", "[conv]") {
    for (const Case& c : cases()) check_case<double>(c, 1e-12);
}

TEST_CASE("the library's conv2d and conv_transpose2d run the batched path", "[conv]") {
    // Through the public ops, a transposed convolution with stride 2 (DCGAN's generator).
    set_cpu_threads(2);
    const Tensor x = test::randn({9, 6, 5, 5}, DType::F32), w = test::randn({6, 4, 4, 4}, DType::F32);
    const auto o = ConvTranspose2dOptions::square(2, 1);
    const Tensor y = kernels::conv_transpose2d_forward(x, w, Tensor(), o);
    REQUIRE(y.shape() == Shape{9, 4, 10, 10});
    const ConvGeometry g = conv_transpose2d_geometry("test", x.shape(), w.shape(), o);
    std::vector<float> ref(size_t(y.numel()), std::nanf(""));
    cpu::conv2d_backward_input(g, x.data<float>(), w.data<float>(), ref.data());
    const std::vector<double> got = y.to_double_vector();
    CHECK(test::rel_error(got, std::vector<double>(ref.begin(), ref.end())) < 1e-5);
    set_cpu_threads(1);
}
