// The memory-bound ops of a DCGAN iteration against cuDNN and against the memory floor:
//  - batchnorm2d training forward and backward on the DCGAN BN shapes (G: 512x4x4, 256x8x8,
//    128x16x16, 64x32x32; D: 128x16x16, 256x8x8, 512x4x4) vs cudnnBatchNormalizationForwardTraining
//    and cudnnBatchNormalizationBackward, spatial mode;
//  - ReLU, LeakyReLU(0.2), tanh and sigmoid forward vs cudnnActivationForward (cuDNN's
//    legacy API has no leaky ReLU: that row has the floor only);
//  - Adam (lr 2e-4, beta1 0.5) over the DCGAN generator's parameters, vs the floor only.
// The floor of each op is the fewest bytes it must move (each input read once, each output
// written once; NOTES.md lists them) over the device-to-device copy bandwidth measured here
// first. Every result is checked before it is timed (outputs poisoned with NaN first):
// against cuDNN (relative L2 < 1e-4) and, for the activations and Adam, against a float64
// host reference. Both sides are timed in the same run, interleaved, with CUDA events, the
// L2 flushed before every run, median of --reps. Exits non-zero when a check failed.
//
// Our side calls the raw CUDA entry points of kernels/cuda/kernels.h on preallocated buffers
// (as the dispatch layer does), and kernels::adam_step for Adam (as nn::Adam::step does).
//
// Usage: ops_vs_cudnn [--batch 128] [--reps 50] [--warmup 5] [--copy-mib 1024] [--no-flush]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <ganops/ganops.h>
#include <ganops/kernels/cuda/kernels.h>
#include <ganops/kernels/optimizer.h>

#include "bench_common.h"
#include "bench_cudnn.h"

using namespace ganops;

namespace {

const float kOne = 1.0f, kZero = 0.0f;
constexpr double kTolerance = 1e-4;  // ours vs cuDNN, relative L2
constexpr double kBnEps = 1e-5, kBnMomentum = 0.1;
constexpr float kLeakySlope = 0.2f;

struct Row {
    std::string op, shape;
    double bytes = 0;      // the floor's bytes
    double ours_ms = 0;
    double cudnn_ms = -1;  // < 0: no cuDNN counterpart
    double err = -1;       // ours vs cuDNN (or vs the host reference when there is no cuDNN side)
};

struct Context {
    cudnnHandle_t handle = nullptr;
    const bench::L2Flusher* flush = nullptr;
    int warmup = 5, reps = 50;
    double copy_gbs = 0;
};

// A device buffer freed at scope exit.
struct Buffer {
    explicit Buffer(size_t n) : size(n), ptr(bench::device_alloc(n)) {}
    ~Buffer() { bench::device_free(ptr); }
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    std::vector<float> host() const { return bench::download(ptr, size); }
    void poison() const { bench::poison(ptr, size * sizeof(float)); }
    size_t size;
    float* ptr;
};

std::string shape_str(int64_t n, int64_t c, int64_t h, int64_t w) {
    return bench::fmt("%lldx%lldx%lldx%lld", static_cast<long long>(n), static_cast<long long>(c),
                      static_cast<long long>(h), static_cast<long long>(w));
}

// ---- batchnorm2d ----

void batchnorm(const Context& ctx, int64_t n, int64_t c, int64_t hw_side, const char* where, std::vector<Row>& rows) {
    const int64_t hw = hw_side * hw_side;
    const size_t numel = size_t(n * c * hw);
    const std::string shape = std::string(where) + " " + shape_str(n, c, hw_side, hw_side);
    Buffer x{numel}, dy{numel}, weight{size_t(c)}, bias{size_t(c)};
    bench::fill_normal(x.ptr, numel, 0.5f, 2.0f);
    bench::fill_normal(dy.ptr, numel, 0.0f, 1.0f);
    bench::fill_uniform(weight.ptr, size_t(c), 0.5f, 1.5f);
    bench::fill_normal(bias.ptr, size_t(c), 0.0f, 0.1f);
    // ours: y, saved mean and invstd, running statistics, gradients; the same for cuDNN
    Buffer y{numel}, mean{size_t(c)}, invstd{size_t(c)}, run_mean{size_t(c)}, run_var{size_t(c)};
    Buffer dx{numel}, dweight{size_t(c)}, dbias{size_t(c)};
    Buffer y2{numel}, mean2{size_t(c)}, invstd2{size_t(c)}, run_mean2{size_t(c)}, run_var2{size_t(c)};
    Buffer dx2{numel}, dweight2{size_t(c)}, dbias2{size_t(c)};
    for (const Buffer* b : {&run_mean, &run_mean2}) bench::fill_normal(b->ptr, size_t(c), 0.0f, 0.1f);
    for (const Buffer* b : {&run_var, &run_var2}) bench::fill_uniform(b->ptr, size_t(c), 0.5f, 1.5f);

    cudnnTensorDescriptor_t x_desc = bench::make_tensor(n, c, hw_side, hw_side);
    cudnnTensorDescriptor_t bn_desc = nullptr;
    BENCH_CUDNN(cudnnCreateTensorDescriptor(&bn_desc));
    BENCH_CUDNN(cudnnDeriveBNTensorDescriptor(bn_desc, x_desc, CUDNN_BATCHNORM_SPATIAL));

    auto ours_fwd = [&] {
        cuda::batchnorm2d_forward_train(x.ptr, weight.ptr, bias.ptr, n, c, hw, kBnEps, kBnMomentum, y.ptr, mean.ptr,
                                        invstd.ptr, run_mean.ptr, run_var.ptr);
    };
    auto cudnn_fwd = [&] {
        BENCH_CUDNN(cudnnBatchNormalizationForwardTraining(ctx.handle, CUDNN_BATCHNORM_SPATIAL, &kOne, &kZero, x_desc,
                                                           x.ptr, x_desc, y2.ptr, bn_desc, weight.ptr, bias.ptr,
                                                           kBnMomentum, run_mean2.ptr, run_var2.ptr, kBnEps, mean2.ptr,
                                                           invstd2.ptr));
    };
    auto ours_bwd = [&] {
        cuda::batchnorm2d_backward(dy.ptr, x.ptr, weight.ptr, mean.ptr, invstd.ptr, n, c, hw, true, dx.ptr,
                                   dweight.ptr, dbias.ptr);
    };
    // cuDNN's backward uses its own saved statistics (mean2, invstd2: 1 / sqrt(var + eps)).
    auto cudnn_bwd = [&] {
        BENCH_CUDNN(cudnnBatchNormalizationBackward(ctx.handle, CUDNN_BATCHNORM_SPATIAL, &kOne, &kZero, &kOne, &kZero,
                                                    x_desc, x.ptr, x_desc, dy.ptr, x_desc, dx2.ptr, bn_desc, weight.ptr,
                                                    dweight2.ptr, dbias2.ptr, kBnEps, mean2.ptr, invstd2.ptr));
    };

    // Validate the forward pass, then the backward pass on its saved statistics.
    for (const Buffer* b : {&y, &mean, &invstd, &y2, &mean2, &invstd2}) b->poison();
    ours_fwd();
    cudnn_fwd();
    const double fwd_err = bench::rel_l2(y.host(), y2.host());
    bench::expect_close("batchnorm2d forward " + shape + ": y, ours vs cuDNN", fwd_err, kTolerance);
    bench::expect_close("batchnorm2d forward " + shape + ": mean", bench::rel_l2(mean.host(), mean2.host()), kTolerance);
    bench::expect_close("batchnorm2d forward " + shape + ": invstd", bench::rel_l2(invstd.host(), invstd2.host()),
                        kTolerance);
    for (const Buffer* b : {&dx, &dweight, &dbias, &dx2, &dweight2, &dbias2}) b->poison();
    ours_bwd();
    cudnn_bwd();
    const double bwd_err = bench::rel_l2(dx.host(), dx2.host());
    bench::expect_close("batchnorm2d backward " + shape + ": dx, ours vs cuDNN", bwd_err, kTolerance);
    bench::expect_close("batchnorm2d backward " + shape + ": dweight", bench::rel_l2(dweight.host(), dweight2.host()),
                        kTolerance);
    bench::expect_close("batchnorm2d backward " + shape + ": dbias", bench::rel_l2(dbias.host(), dbias2.host()),
                        kTolerance);

    const auto fwd = bench::time_interleaved({ours_fwd, cudnn_fwd}, ctx.warmup, ctx.reps, *ctx.flush);
    const auto bwd = bench::time_interleaved({ours_bwd, cudnn_bwd}, ctx.warmup, ctx.reps, *ctx.flush);
    const double elem_bytes = double(numel) * sizeof(float);
    rows.push_back({"batchnorm2d forward (train)", shape, 2 * elem_bytes, fwd[0].median_ms, fwd[1].median_ms, fwd_err});
    rows.push_back({"batchnorm2d backward", shape, 3 * elem_bytes, bwd[0].median_ms, bwd[1].median_ms, bwd_err});

    BENCH_CUDNN(cudnnDestroyTensorDescriptor(bn_desc));
    BENCH_CUDNN(cudnnDestroyTensorDescriptor(x_desc));
}

// ---- activations ----

struct ActivationSpec {
    const char* name;
    cuda::Activation ours;
    bool has_cudnn;
    cudnnActivationMode_t cudnn_mode;
    double (*reference)(double);
};

double ref_relu(double v) { return v > 0 ? v : 0.0; }
double ref_leaky(double v) { return v > 0 ? v : double(kLeakySlope) * v; }
double ref_tanh(double v) { return std::tanh(v); }
double ref_sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

const ActivationSpec kActivations[] = {
    {"ReLU", cuda::Activation::ReLU, true, CUDNN_ACTIVATION_RELU, ref_relu},
    {"LeakyReLU(0.2)", cuda::Activation::LeakyReLU, false, CUDNN_ACTIVATION_RELU, ref_leaky},
    {"tanh", cuda::Activation::Tanh, true, CUDNN_ACTIVATION_TANH, ref_tanh},
    {"sigmoid", cuda::Activation::Sigmoid, true, CUDNN_ACTIVATION_SIGMOID, ref_sigmoid},
};

void activation(const Context& ctx, const ActivationSpec& a, int64_t n, int64_t c, int64_t side, std::vector<Row>& rows) {
    const size_t numel = size_t(n * c * side * side);
    const std::string shape = shape_str(n, c, side, side);
    Buffer x{numel}, y{numel}, y2{numel};
    bench::fill_normal(x.ptr, numel, 0.0f, 2.0f);
    auto ours = [&] { cuda::activation_forward(a.ours, kLeakySlope, x.ptr, y.ptr, int64_t(numel)); };

    // float64 host reference: every activation, the leaky one included
    y.poison();
    ours();
    const std::vector<float> x_host = x.host(), y_host = y.host();
    std::vector<double> reference(numel);
    for (size_t i = 0; i < numel; ++i) reference[i] = a.reference(double(x_host[i]));
    const double ref_err = bench::rel_l2(y_host, reference);
    bench::expect_close(std::string(a.name) + " forward " + shape + ": ours vs float64 reference", ref_err, 1e-5);

    Row row{std::string(a.name) + " forward", shape, 2.0 * double(numel) * sizeof(float), 0, -1, ref_err};
    if (!a.has_cudnn) {
        row.ours_ms = bench::time_interleaved({ours}, ctx.warmup, ctx.reps, *ctx.flush)[0].median_ms;
        rows.push_back(row);
        return;
    }
    cudnnTensorDescriptor_t x_desc = bench::make_tensor(n, c, side, side);
    cudnnActivationDescriptor_t act_desc = nullptr;
    BENCH_CUDNN(cudnnCreateActivationDescriptor(&act_desc));
    BENCH_CUDNN(cudnnSetActivationDescriptor(act_desc, a.cudnn_mode, CUDNN_NOT_PROPAGATE_NAN, 0.0));
    auto theirs = [&] {
        BENCH_CUDNN(cudnnActivationForward(ctx.handle, act_desc, &kOne, x_desc, x.ptr, &kZero, x_desc, y2.ptr));
    };
    y2.poison();
    theirs();
    row.err = bench::rel_l2(y_host, y2.host());
    bench::expect_close(std::string(a.name) + " forward " + shape + ": ours vs cuDNN", row.err, kTolerance);
    const auto t = bench::time_interleaved({ours, theirs}, ctx.warmup, ctx.reps, *ctx.flush);
    row.ours_ms = t[0].median_ms;
    row.cudnn_ms = t[1].median_ms;
    rows.push_back(row);
    BENCH_CUDNN(cudnnDestroyActivationDescriptor(act_desc));
    BENCH_CUDNN(cudnnDestroyTensorDescriptor(x_desc));
}

// ---- Adam over the generator's parameters ----

void adam(const Context& ctx, std::vector<Row>& rows) {
    const nn::DcganConfig config{.nz = 100, .ngf = 64, .ndf = 64, .nc = 3, .image_size = 64};
    nn::DcganGenerator netG(config);
    netG.to(Device::CUDA);
    Generator gen{77, 0};
    std::vector<kernels::AdamSlot> slots;
    int64_t total = 0;
    for (const Tensor& p : netG.parameters()) {
        nn::normal_(p, 0.0, 0.02, gen);  // conv weights' scale; keeps the update's rounding measurable
        slots.push_back({p, Tensor::normal(p.shape(), 0, 0.01, gen, DType::F32, Device::CUDA),
                         Tensor::normal(p.shape(), 0, 0.01, gen, DType::F32, Device::CUDA),
                         Tensor::uniform(p.shape(), 0, 1e-4, gen, DType::F32, Device::CUDA)});
        total += p.numel();
    }
    const kernels::AdamHyper hyper{.lr = 2e-4, .beta1 = 0.5};
    const int64_t check_step = 10;

    // One step checked against a float64 host reference of torch.optim.Adam's formulas.
    struct Before {
        std::vector<float> p, g, m, v;
    };
    std::vector<Before> before;
    for (const kernels::AdamSlot& s : slots)
        before.push_back({s.param.to_vector(), s.grad.to_vector(), s.exp_avg.to_vector(), s.exp_avg_sq.to_vector()});
    kernels::adam_step(slots, hyper, check_step);
    const double bc1 = 1 - std::pow(hyper.beta1, double(check_step)), bc2 = 1 - std::pow(hyper.beta2, double(check_step));
    std::vector<float> got_p, got_m, got_v, got_delta;
    std::vector<double> ref_p, ref_m, ref_v, ref_delta;
    for (size_t i = 0; i < slots.size(); ++i) {
        const std::vector<float> p = slots[i].param.to_vector(), m = slots[i].exp_avg.to_vector(),
                                 v = slots[i].exp_avg_sq.to_vector();
        const Before& b = before[i];
        for (size_t j = 0; j < p.size(); ++j) {
            const double g = b.g[j];
            const double mj = hyper.beta1 * b.m[j] + (1 - hyper.beta1) * g;
            const double vj = hyper.beta2 * b.v[j] + (1 - hyper.beta2) * g * g;
            const double delta = -(hyper.lr / bc1) * mj / (std::sqrt(vj) / std::sqrt(bc2) + hyper.eps);
            got_p.push_back(p[j]);
            got_m.push_back(m[j]);
            got_v.push_back(v[j]);
            got_delta.push_back(float(double(p[j]) - double(b.p[j])));
            ref_p.push_back(double(b.p[j]) + delta);
            ref_m.push_back(mj);
            ref_v.push_back(vj);
            ref_delta.push_back(delta);
        }
    }
    const double err_p = bench::rel_l2(got_p, ref_p);
    bench::expect_close("Adam: parameters vs float64 reference", err_p, 1e-6);
    bench::expect_close("Adam: exp_avg vs float64 reference", bench::rel_l2(got_m, ref_m), 1e-6);
    bench::expect_close("Adam: exp_avg_sq vs float64 reference", bench::rel_l2(got_v, ref_v), 1e-6);
    // The update itself, far smaller than the parameters: only float32 rounding of p remains.
    bench::expect_close("Adam: update p_new - p_old vs float64 reference", bench::rel_l2(got_delta, ref_delta), 1e-3);

    int64_t step = check_step;
    auto ours = [&] { kernels::adam_step(slots, hyper, ++step); };
    const double ms = bench::time_interleaved({ours}, ctx.warmup, ctx.reps, *ctx.flush)[0].median_ms;
    // read param, grad, exp_avg, exp_avg_sq; write param, exp_avg, exp_avg_sq
    rows.push_back({"Adam step (one launch)", bench::fmt("G params: %.2fM in %zu tensors", double(total) / 1e6, slots.size()),
                    7.0 * double(total) * sizeof(float), ms, -1, err_p});
}

void print_table(const Context& ctx, const std::vector<Row>& rows) {
    std::printf("\n| op | shape | floor MB | ours ms | cuDNN ms | cuDNN/ours | ours GB/s | ours %% of floor | cuDNN GB/s "
                "| cuDNN %% of floor | rel. L2 diff |\n");
    std::printf("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (const Row& r : rows) {
        const double floor_ms = r.bytes / (ctx.copy_gbs * 1e6);
        std::string cudnn = "-", ratio = "-", cudnn_gbs = "-", cudnn_share = "-";
        if (r.cudnn_ms > 0) {
            cudnn = bench::fmt("%.4f", r.cudnn_ms);
            ratio = bench::fmt("%.2f", r.cudnn_ms / r.ours_ms);
            cudnn_gbs = bench::fmt("%.0f", r.bytes / (r.cudnn_ms * 1e6));
            cudnn_share = bench::fmt("%.1f%%", 100 * floor_ms / r.cudnn_ms);
        }
        std::printf("| %s | %s | %.2f | %.4f | %s | %s | %.0f | %.1f%% | %s | %s | %.1e |\n", r.op.c_str(),
                    r.shape.c_str(), r.bytes / 1e6, r.ours_ms, cudnn.c_str(), ratio.c_str(), r.bytes / (r.ours_ms * 1e6),
                    100 * floor_ms / r.ours_ms, cudnn_gbs.c_str(), cudnn_share.c_str(), r.err);
    }
}

}  // namespace

int main(int argc, char** argv) {
    const bench::Args args(argc, argv, {"--batch", "--reps", "--warmup", "--copy-mib"}, {"--no-flush"});
    const int64_t batch = args.get_int("--batch", 128);
    const size_t copy_bytes = size_t(args.get_int("--copy-mib", 1024)) << 20;
    if (!cuda::available()) {
        std::fprintf(stderr, "ops_vs_cudnn: no usable CUDA device\n");
        return 2;
    }
    try {
        std::printf("## ops_vs_cudnn: batchnorm, activations and Adam against cuDNN and the memory floor\n\n");
        bench::print_device(bench::device_info());
        Context ctx;
        ctx.handle = bench::make_cudnn_handle();
        ctx.warmup = args.get_int("--warmup", 5);
        ctx.reps = std::max(1, args.get_int("--reps", 50));
        bench::check_event_ordering();
        const bench::L2Flusher flusher(!args.flag("--no-flush"));
        ctx.flush = &flusher;
        ctx.copy_gbs = bench::copy_bandwidth_gbs(copy_bytes, 20);
        std::printf("Memory floor: cudaMemcpyAsync device to device of %.0f MiB moves %.0f GB/s (bytes read + written), "
                    "median of 20\n",
                    double(copy_bytes) / (1 << 20), ctx.copy_gbs);

        std::vector<Row> rows;
        const struct {
            const char* where;
            int64_t c, side;
        } bn_shapes[] = {{"G", 512, 4}, {"G", 256, 8}, {"G", 128, 16}, {"G", 64, 32},
                         {"D", 128, 16}, {"D", 256, 8}, {"D", 512, 4}};
        for (const auto& s : bn_shapes) batchnorm(ctx, batch, s.c, s.side, s.where, rows);
        for (const ActivationSpec& a : kActivations) {
            activation(ctx, a, batch, 64, 32, rows);  // the largest hidden map (G4's output, D1's)
            activation(ctx, a, batch, 512, 4, rows);  // the smallest (G1's output, D4's)
        }
        adam(ctx, rows);

        std::printf("\n### Memory-bound ops, batch %lld, median of %d runs%s; floor = bytes / %.0f GB/s\n",
                    static_cast<long long>(batch), ctx.reps,
                    flusher.enabled() ? ", L2 flushed before each run" : ", L2 not flushed", ctx.copy_gbs);
        print_table(ctx, rows);
        BENCH_CUDNN(cudnnDestroy(ctx.handle));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ops_vs_cudnn: %s\n", e.what());
        return 5;
    }
    bench::print_validation_summary("ops_vs_cudnn");
    return bench::failures() == 0 ? 0 : 1;
}
