// Every public differentiable op (nn/functional.h) on channels-last inputs, for
// test_channels_last (CPU, float64) and test_cuda_channels_last (GPU and emulated, float32):
// each op either works, giving the contiguous run's values and gradients with its output in
// channels-last order, or refuses with an error that names the op and says "channels-last".
// Ops on 2-d tensors (linear, softmax, softmax_cross_entropy) cannot be handed a
// channels-last tensor (only 4-d ones can be), so a 4-d one fails their shape check.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "test_util.h"

namespace test {

enum class OnChannelsLast { Works, RefusesNamingFormat, RefusesShape };

struct OpCase {
    std::string name;
    std::vector<ganops::Shape> inputs;  // fresh normal values; 4-d ones are made channels-last
    std::function<Tensor(const std::vector<Tensor>&)> f;
    OnChannelsLast expect = OnChannelsLast::Works;
};

inline std::vector<OpCase> channels_last_op_cases() {
    using namespace ganops;
    using V = std::vector<Tensor>;
    const Shape x{2, 3, 6, 5}, x8{2, 8, 5, 4};
    return {
        {"conv2d 3x3 pad 1 + bias", {x, {4, 3, 3, 3}, {4}}, [](const V& v) { return conv2d(v[0], v[1], v[2], Conv2dOptions::square(1, 1)); }},
        {"conv2d 4x4 stride 2", {x8, {6, 8, 4, 4}}, [](const V& v) { return conv2d(v[0], v[1], Tensor(), Conv2dOptions::square(2, 1)); }},
        {"conv2d 1x1 input channel", {{2, 1, 7, 7}, {5, 1, 3, 3}}, [](const V& v) { return conv2d(v[0], v[1]); }},
        {"conv_transpose2d stride 2 + bias", {{2, 4, 3, 3}, {4, 3, 4, 4}, {3}},
         [](const V& v) { return conv_transpose2d(v[0], v[1], v[2], ConvTranspose2dOptions::square(2, 1)); }},
        {"conv_transpose2d from 1x1 (the DCGAN's first layer)", {{3, 5, 1, 1}, {5, 4, 4, 4}},
         [](const V& v) { return conv_transpose2d(v[0], v[1]); }},
        {"batchnorm2d training", {x8, {8}, {8}},
         [](const V& v) {
             const Tensor rm = Tensor::zeros({8}, v[0].dtype(), v[0].device()), rv = Tensor::full({8}, 1.0, v[0].dtype(), v[0].device());
             return batchnorm2d(v[0], v[1], v[2], rm, rv, true);
         }},
        {"batchnorm2d evaluation", {x8, {8}, {8}},
         [](const V& v) {
             const Tensor rm = Tensor::full({8}, 0.3, v[0].dtype(), v[0].device()), rv = Tensor::full({8}, 1.7, v[0].dtype(), v[0].device());
             return batchnorm2d(v[0], v[1], v[2], rm, rv, false);
         }},
        {"batchnorm2d + leaky_relu fused", {x8, {8}, {8}},
         [](const V& v) {
             const Tensor rm = Tensor::zeros({8}, v[0].dtype(), v[0].device()), rv = Tensor::full({8}, 1.0, v[0].dtype(), v[0].device());
             return batchnorm2d_leaky_relu(v[0], v[1], v[2], rm, rv, 0.2);
         }},
        {"relu", {x}, [](const V& v) { return relu(v[0]); }},
        {"leaky_relu", {x}, [](const V& v) { return leaky_relu(v[0], 0.2); }},
        {"tanh", {x}, [](const V& v) { return tanh(v[0]); }},
        {"sigmoid", {x}, [](const V& v) { return sigmoid(v[0]); }},
        {"add", {x, x}, [](const V& v) { return add(v[0], v[1]); }},
        {"sub, second input contiguous", {x, {}}, [](const V& v) {
             return sub(v[0], Tensor::full(v[0].shape(), 0.5, v[0].dtype(), v[0].device()));
         }},
        {"mul", {x, x}, [](const V& v) { return mul(v[0], v[1]); }},
        {"mul by a scalar", {x}, [](const V& v) { return mul(v[0], -1.5); }},
        {"sum", {x}, [](const V& v) { return sum(v[0]); }},
        {"mean", {x}, [](const V& v) { return mean(v[0]); }},
        {"mean_rows", {x}, [](const V& v) { return mean_rows(v[0]); }},
        {"reshape", {x}, [](const V& v) { return v[0].reshape({2, 90}); }},
        {"dropout", {x}, [](const V& v) {
             Generator gen{77, 0};  // the same mask for both runs
             return dropout(v[0], 0.3, true, gen);
         }},
        {"to_memory_format and back", {x}, [](const V& v) {
             return mul(v[0].to_memory_format(MemoryFormat::Contiguous).to_memory_format(MemoryFormat::ChannelsLast), 2.0);
         }},
        {"concat_channels", {x, x}, [](const V& v) { return concat_channels(v[0], v[1]); }, OnChannelsLast::RefusesNamingFormat},
        {"adaptive_max_pool2d", {x}, [](const V& v) { return adaptive_max_pool2d(v[0], 2, 2); }, OnChannelsLast::RefusesNamingFormat},
        {"binary_cross_entropy", {x}, [](const V& v) {
             return binary_cross_entropy(sigmoid(v[0]), Tensor::full(v[0].shape(), 0.9, v[0].dtype(), v[0].device()));
         }, OnChannelsLast::RefusesNamingFormat},
        {"binary_cross_entropy_with_logits", {x}, [](const V& v) {
             return binary_cross_entropy_with_logits(v[0], Tensor::full(v[0].shape(), 0.9, v[0].dtype(), v[0].device()));
         }, OnChannelsLast::RefusesNamingFormat},
        {"linear", {x, {4, 5}}, [](const V& v) { return linear(v[0], v[1]); }, OnChannelsLast::RefusesShape},
        {"softmax", {x}, [](const V& v) { return softmax(v[0]); }, OnChannelsLast::RefusesShape},
        {"softmax_cross_entropy", {x}, [](const V& v) {
             return softmax_cross_entropy(v[0], Tensor::zeros({2}, v[0].dtype(), v[0].device()));
         }, OnChannelsLast::RefusesShape},
    };
}

// Runs every case on `device` in `dtype`: contiguous, then with every 4-d input
// channels-last, and compares outputs and input gradients (relative error below
// `tolerance`); refusals must throw.
inline void check_channels_last_ops(ganops::Device device, DType dtype, double tolerance) {
    using namespace ganops;
    for (const OpCase& c : channels_last_op_cases()) {
        INFO(c.name);
        std::vector<Tensor> plain, last;
        for (const Shape& s : c.inputs) {
            if (s.ndim() == 0) {  // a placeholder: the op makes this input itself
                plain.push_back(Tensor());
                last.push_back(Tensor());
                continue;
            }
            const Tensor v = randn(s, DType::F64).to(dtype).to(device);
            plain.push_back(v.clone());
            last.push_back(s.ndim() == 4 ? v.to_memory_format(MemoryFormat::ChannelsLast) : v.clone());
            if (s.ndim() == 4) REQUIRE(last.back().is_channels_last());
        }
        if (c.expect != OnChannelsLast::Works) {
            if (c.expect == OnChannelsLast::RefusesNamingFormat) {
                REQUIRE_THROWS_CONTAINING(c.f(last), "channels-last");
                REQUIRE_NOTHROW(c.f(plain));  // the contiguous run works: the refusal is the format's
            } else {
                REQUIRE_THROWS_AS(c.f(last), Error);
            }
            continue;
        }
        for (size_t i = 0; i < plain.size(); ++i)
            if (plain[i].defined()) {
                plain[i].set_requires_grad(true);
                last[i].set_requires_grad(true);
            }
        const Tensor y_plain = c.f(plain), y_last = c.f(last);
        REQUIRE(y_last.shape() == y_plain.shape());
        // An op on channels-last inputs gives a channels-last output (where it is 4-d and not
        // a reshape to another shape).
        if (y_last.ndim() == 4) CHECK(y_last.is_channels_last());
        CHECK(rel_error(y_last, y_plain) < tolerance);
        const Tensor r = randn(y_plain.shape(), DType::F64).to(dtype).to(device);
        y_plain.backward(r);
        y_last.backward(r);
        for (size_t i = 0; i < plain.size(); ++i) {
            if (!plain[i].defined()) continue;
            INFO("input " << i);
            REQUIRE(last[i].grad().defined());
            CHECK(rel_error(last[i].grad(), plain[i].grad()) < tolerance);
        }
    }
}

}  // namespace test
