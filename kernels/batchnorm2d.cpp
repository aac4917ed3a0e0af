#include "batchnorm2d.h"

#include <cmath>

#include "checks.h"
#include "cpu/batchnorm2d_activation.h"
#include "cpu/reference.h"
#include "cuda/batchnorm2d_activation.h"
#include "cuda/kernels.h"
#include "layout.h"

namespace ganops::kernels {

namespace {
struct Dims {
    int64_t n, c, hw;
};

Dims check_input(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias,
                 const Tensor& running_mean, const Tensor& running_var, double eps) {
    check_defined(op, "input", x);
    GANOPS_CHECK(x.ndim() == 4 || x.ndim() == 2, op, ": input must be [N, C, H, W] or [N, C], got ", x.str());
    check_compatible(op, {{"input", &x}, {"weight", &weight}, {"bias", &bias},
                          {"running_mean", &running_mean}, {"running_var", &running_var}}, Formats::Any);
    // The kernels see x as [n, c, hw]; channels-last storage [N, H, W, C] is that with
    // n = N*H*W and hw = 1 (the channel of element i is i % C), so one set of kernels serves
    // both formats, and the output keeps x's.
    const Dims d = x.is_channels_last() ? Dims{x.size(0) * x.size(2) * x.size(3), x.size(1), 1}
                                        : Dims{x.size(0), x.size(1), x.ndim() == 4 ? x.size(2) * x.size(3) : 1};
    for (const auto& [name, t] : {std::pair<const char*, const Tensor*>{"weight", &weight}, {"bias", &bias},
                                  {"running_mean", &running_mean}, {"running_var", &running_var}})
        if (t->defined())
            GANOPS_CHECK(t->ndim() == 1 && t->size(0) == d.c, op, ": ", name, " ", t->str(), " does not match the ",
                         d.c, " channels of input ", x.str());
    GANOPS_CHECK(eps > 0, op, ": eps must be > 0, got ", eps);
    return d;
}
}  // namespace

BatchNormStats batchnorm2d_forward_train(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                         const Tensor& running_mean, const Tensor& running_var,
                                         double momentum, double eps) {
    const char* op = "batchnorm2d";
    const Dims d = check_input(op, x, weight, bias, running_mean, running_var, eps);
    GANOPS_CHECK(weight.defined() == bias.defined(), op, ": weight and bias must both be given or both be absent");
    GANOPS_CHECK(running_mean.defined() == running_var.defined(), op,
                 ": running_mean and running_var must both be given or both be absent");
    GANOPS_CHECK(momentum >= 0 && momentum <= 1, op, ": momentum must be in [0, 1], got ", momentum);
    // One value per channel has no variance to normalise by (PyTorch refuses it too).
    GANOPS_CHECK(d.n * d.hw > 1, op, ": training needs more than one value per channel, input ", x.str());
    BatchNormStats s{Tensor::empty(x.shape(), x.dtype(), x.device(), x.memory_format()), Tensor::empty({d.c}, x.dtype(), x.device()),
                     Tensor::empty({d.c}, x.dtype(), x.device())};
    if (on_cuda(op, x)) {
        cuda::batchnorm2d_forward_train(x.data<float>(), f32_or_null(weight), f32_or_null(bias), d.n, d.c, d.hw, eps,
                                        momentum, s.y.data<float>(), s.mean.data<float>(), s.invstd.data<float>(),
                                        f32_or_null(running_mean), f32_or_null(running_var));
        return s;
    }
    on_cpu_float_type(op, x, [&](auto t) {
        using T = decltype(t);
        Tensor batch_var = Tensor::empty({d.c}, x.dtype(), x.device());
        cpu::batchnorm2d_forward_train<T>(x.data<T>(), weight.defined() ? weight.data<T>() : nullptr,
                                          bias.defined() ? bias.data<T>() : nullptr, d.n, d.c, d.hw, eps,
                                          s.y.data<T>(), s.mean.data<T>(), s.invstd.data<T>(), batch_var.data<T>());
        if (running_mean.defined())
            cpu::batchnorm2d_update_running<T>(running_mean.data<T>(), running_var.data<T>(), s.mean.data<T>(),
                                               batch_var.data<T>(), d.c, d.n * d.hw, momentum);
    });
    return s;
}

Tensor batchnorm2d_forward_eval(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                const Tensor& running_mean, const Tensor& running_var, double eps) {
    const char* op = "batchnorm2d (eval)";
    const Dims d = check_input(op, x, weight, bias, running_mean, running_var, eps);
    GANOPS_CHECK(weight.defined() == bias.defined(), op, ": weight and bias must both be given or both be absent");
    GANOPS_CHECK(running_mean.defined() && running_var.defined(), op,
                 ": evaluation needs running_mean and running_var");
    Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device(), x.memory_format());
    if (on_cuda(op, x)) {
        cuda::batchnorm2d_forward_eval(x.data<float>(), f32_or_null(weight), f32_or_null(bias), running_mean.data<float>(),
                                       running_var.data<float>(), d.n, d.c, d.hw, eps, y.data<float>());
        return y;
    }
    on_cpu_float_type(op, x, [&](auto t) {
        using T = decltype(t);
        cpu::batchnorm2d_forward_eval<T>(x.data<T>(), weight.defined() ? weight.data<T>() : nullptr,
                                         bias.defined() ? bias.data<T>() : nullptr, running_mean.data<T>(),
                                         running_var.data<T>(), d.n, d.c, d.hw, eps, y.data<T>());
    });
    return y;
}

Tensor batchnorm2d_invstd(const Tensor& running_var, double eps) {
    check_defined("batchnorm2d_invstd", "running_var", running_var);
    Tensor out = Tensor::empty(running_var.shape(), running_var.dtype(), running_var.device());
    if (on_cuda("batchnorm2d_invstd", running_var)) {
        cuda::batchnorm2d_invstd(running_var.data<float>(), running_var.numel(), eps, out.data<float>());
        return out;
    }
    on_cpu_float_type("batchnorm2d_invstd", running_var, [&](auto t) {
        using T = decltype(t);
        for (int64_t i = 0; i < out.numel(); ++i)
            out.data<T>()[i] = static_cast<T>(1.0 / std::sqrt(static_cast<double>(running_var.data<T>()[i]) + eps));
    });
    return out;
}

BatchNormGrads batchnorm2d_backward(const Tensor& dy_any, const Tensor& x, const Tensor& weight, const Tensor& mean,
                                    const Tensor& invstd, bool training, bool want_dx, bool want_dweight,
                                    bool want_dbias) {
    const char* op = "batchnorm2d_backward";
    check_defined(op, "grad_output", dy_any);
    check_same_shape(op, "grad_output", dy_any, "input", x);
    check_compatible(op, {{"grad_output", &dy_any}, {"input", &x}}, Formats::Any);
    const Tensor dy = in_format_of(x, dy_any);  // read in x's order; dx comes out in it
    GANOPS_CHECK(mean.defined() && invstd.defined(), op, ": mean and invstd are required");
    const Dims d = check_input(op, x, weight, Tensor(), mean, invstd, /*eps, unused here*/ 1.0);
    BatchNormGrads g;
    if (want_dx) g.dx = Tensor::empty(x.shape(), x.dtype(), x.device(), x.memory_format());
    if (want_dweight) g.dweight = Tensor::empty({d.c}, x.dtype(), x.device());
    if (want_dbias) g.dbias = Tensor::empty({d.c}, x.dtype(), x.device());
    if (on_cuda(op, x)) {
        cuda::batchnorm2d_backward(dy.data<float>(), x.data<float>(), f32_or_null(weight), mean.data<float>(),
                                   invstd.data<float>(), d.n, d.c, d.hw, training, f32_or_null(g.dx),
                                   f32_or_null(g.dweight), f32_or_null(g.dbias));
        return g;
    }
    on_cpu_float_type(op, x, [&](auto t) {
        using T = decltype(t);
        cpu::batchnorm2d_backward<T>(dy.data<T>(), x.data<T>(), weight.defined() ? weight.data<T>() : nullptr,
                                     mean.data<T>(), invstd.data<T>(), d.n, d.c, d.hw, training,
                                     want_dx ? g.dx.data<T>() : nullptr, want_dweight ? g.dweight.data<T>() : nullptr,
                                     want_dbias ? g.dbias.data<T>() : nullptr);
    });
    return g;
}

BatchNormStats batchnorm2d_leaky_relu_forward_train(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                                    const Tensor& running_mean, const Tensor& running_var,
                                                    double momentum, double eps, double slope, bool round_tf32) {
    const char* op = "batchnorm2d + leaky_relu";
    const Dims d = check_input(op, x, weight, bias, running_mean, running_var, eps);
    GANOPS_CHECK(slope >= 0, op, ": negative_slope must be >= 0 to be fused, got ", slope);
    GANOPS_CHECK(weight.defined() == bias.defined(), op, ": weight and bias must both be given or both be absent");
    GANOPS_CHECK(running_mean.defined() == running_var.defined(), op,
                 ": running_mean and running_var must both be given or both be absent");
    GANOPS_CHECK(momentum >= 0 && momentum <= 1, op, ": momentum must be in [0, 1], got ", momentum);
    GANOPS_CHECK(d.n * d.hw > 1, op, ": training needs more than one value per channel, input ", x.str());
    // y keeps x's memory format: the kernels see channels-last storage as [N*H*W, C] (check_input).
    BatchNormStats s{Tensor::empty(x.shape(), x.dtype(), x.device(), x.memory_format()),
                     Tensor::empty({d.c}, x.dtype(), x.device()), Tensor::empty({d.c}, x.dtype(), x.device())};
    if (on_cuda(op, x)) {
        cuda::batchnorm2d_leaky_relu_forward_train(x.data<float>(), f32_or_null(weight), f32_or_null(bias), d.n, d.c, d.hw,
                                                   eps, momentum, static_cast<float>(slope), s.y.data<float>(),
                                                   s.mean.data<float>(), s.invstd.data<float>(), f32_or_null(running_mean),
                                                   f32_or_null(running_var), round_tf32);
        if (round_tf32) s.y.mark_values_tf32();
        return s;
    }
    on_cpu_float_type(op, x, [&](auto t) {
        using T = decltype(t);
        Tensor batch_var = Tensor::empty({d.c}, x.dtype(), x.device());
        cpu::batchnorm2d_leaky_relu_forward_train<T>(x.data<T>(), weight.defined() ? weight.data<T>() : nullptr,
                                                     bias.defined() ? bias.data<T>() : nullptr, d.n, d.c, d.hw, eps,
                                                     slope, s.y.data<T>(), s.mean.data<T>(), s.invstd.data<T>(),
                                                     batch_var.data<T>());
        if (running_mean.defined())
            cpu::batchnorm2d_update_running<T>(running_mean.data<T>(), running_var.data<T>(), s.mean.data<T>(),
                                               batch_var.data<T>(), d.c, d.n * d.hw, momentum);
    });
    return s;
}

BatchNormGrads batchnorm2d_leaky_relu_backward(const Tensor& dy_any, const Tensor& x, const Tensor& y,
                                               const Tensor& weight, const Tensor& mean, const Tensor& invstd,
                                               double slope, bool want_dx, bool want_dweight, bool want_dbias,
                                               bool round_tf32) {
    const char* op = "batchnorm2d + leaky_relu backward";
    check_defined(op, "grad_output", dy_any);
    check_defined(op, "output", y);
    check_same_shape(op, "grad_output", dy_any, "input", x);
    check_same_shape(op, "output", y, "input", x);
    check_compatible(op, {{"grad_output", &dy_any}, {"input", &x}, {"output", &y}}, Formats::Any);
    GANOPS_CHECK(y.memory_format() == x.memory_format(), op, ": output ", y.str(), " is not in the memory format of input ",
                 x.str());
    const Tensor dy = in_format_of(x, dy_any);  // read in x's order; dx comes out in it
    GANOPS_CHECK(mean.defined() && invstd.defined(), op, ": mean and invstd are required");
    const Dims d = check_input(op, x, weight, Tensor(), mean, invstd, /*eps, unused here*/ 1.0);
    BatchNormGrads g;
    if (want_dx) g.dx = Tensor::empty(x.shape(), x.dtype(), x.device(), x.memory_format());
    if (want_dweight) g.dweight = Tensor::empty({d.c}, x.dtype(), x.device());
    if (want_dbias) g.dbias = Tensor::empty({d.c}, x.dtype(), x.device());
    if (on_cuda(op, x)) {
        cuda::batchnorm2d_leaky_relu_backward(dy.data<float>(), x.data<float>(), y.data<float>(), f32_or_null(weight),
                                              mean.data<float>(), invstd.data<float>(), d.n, d.c, d.hw,
                                              static_cast<float>(slope), f32_or_null(g.dx), f32_or_null(g.dweight),
                                              f32_or_null(g.dbias), round_tf32);
        if (round_tf32 && want_dx) g.dx.mark_values_tf32();
        return g;
    }
    on_cpu_float_type(op, x, [&](auto t) {
        using T = decltype(t);
        cpu::batchnorm2d_leaky_relu_backward<T>(
            dy.data<T>(), x.data<T>(), y.data<T>(), weight.defined() ? weight.data<T>() : nullptr, mean.data<T>(),
            invstd.data<T>(), d.n, d.c, d.hw, slope, want_dx ? g.dx.data<T>() : nullptr,
            want_dweight ? g.dweight.data<T>() : nullptr, want_dbias ? g.dbias.data<T>() : nullptr);
    });
    return g;
}

}  // namespace ganops::kernels
