// Channels-last (NHWC) on the GPU (emulated in CI): the layout kernels against the CPU
// conversion, every op's channels-last handling (channels_last_cases.h) and the
// convolutions through the NHWC API against the contiguous results in every precision
// mode, the DCGAN's modules, and DCGAN training steps in both formats (examples/dcgan_bedroom
// step.h): the same weights up to summation order, and a run may switch format between
// iterations, as a resumed run does (checkpoints hold no format; the step moves the weights
// into its activations' format).
#include <cstring>

#include "channels_last_cases.h"
#include "core/cuda_counters.h"
#include "step.h"

using namespace ganops;

namespace {
// The storage of a tensor, copied to the host as it lies (NCHW or NHWC order).
std::vector<float> raw_storage(const Tensor& t) {
    const Tensor host = t.to(Device::CPU);
    return std::vector<float>(host.data<float>(), host.data<float>() + host.numel());
}
}  // namespace

TEST_CASE("the CUDA layout kernels give the CPU conversion's storage, both ways, odd shapes included") {
    REQUIRE(cuda::available());
    // Sizes around the 32x32 tile: one element, partial tiles, several tiles per sample, the
    // DCGAN's 3-channel images and a KCRS weight (K = 16, C = 8, 4x4 taps: KRSC is its NHWC).
    for (const Shape& s : {Shape{1, 1, 1, 1}, Shape{2, 3, 5, 7}, Shape{3, 37, 9, 5}, Shape{2, 64, 8, 8}, Shape{1, 100, 7, 7},
                           Shape{2, 3, 32, 32}, Shape{16, 8, 4, 4}, Shape{5, 33, 1, 33}}) {
        INFO(s);
        const Tensor x_cpu = test::randn(s, DType::F32);
        const Tensor x_gpu = x_cpu.to(Device::CUDA);
        const Tensor last_cpu = x_cpu.to_memory_format(MemoryFormat::ChannelsLast);
        const Tensor last_gpu = x_gpu.to_memory_format(MemoryFormat::ChannelsLast);
        REQUIRE(last_gpu.is_channels_last());
        REQUIRE(last_gpu.device() == Device::CUDA);
        CHECK(raw_storage(last_gpu) == raw_storage(last_cpu));  // exact: a transpose does no arithmetic
        const Tensor back_gpu = last_gpu.to_memory_format(MemoryFormat::Contiguous);
        CHECK(raw_storage(back_gpu) == raw_storage(x_cpu));
        CHECK(last_gpu.to_vector() == x_cpu.to_vector());
    }
}

TEST_CASE("every op either works on channels-last inputs or refuses them by name (GPU, float32)") {
    REQUIRE(cuda::available());
    // The convolutions on channels-last tensors run the NHWC API (conv2d_nhwc.h): the same
    // products in another summation order at most, so 1e-5 relative in float32.
    const PrecisionScope strict(Precision::FP32);
    test::check_channels_last_ops(Device::CUDA, DType::F32, 1e-5);
}

TEST_CASE("channels-last convolutions equal the contiguous ones in every precision mode") {
    REQUIRE(cuda::available());
    using V = std::vector<Tensor>;
    // A DCGAN-like stack at small size: D's stride-2 conv and G's stride-2 transposed conv.
    const std::vector<std::pair<std::vector<Shape>, std::function<Tensor(const V&)>>> passes = {
        {{{2, 16, 8, 8}, {32, 16, 4, 4}}, [](const V& v) { return conv2d(v[0], v[1], Tensor(), Conv2dOptions::square(2, 1)); }},
        {{{2, 32, 4, 4}, {32, 16, 4, 4}},
         [](const V& v) { return conv_transpose2d(v[0], v[1], Tensor(), ConvTranspose2dOptions::square(2, 1)); }},
    };
    for (Precision p : {Precision::FP32, Precision::TF32, Precision::BF16, Precision::FP32Accurate}) {
        INFO(precision_name(p));
        const PrecisionScope mode(p);
        for (const auto& [shapes, f] : passes) {
            const Tensor x = test::randn(shapes[0], DType::F32).to(Device::CUDA), w = test::randn(shapes[1], DType::F32).to(Device::CUDA);
            const Tensor xp = x.clone().set_requires_grad(true), wp = w.clone().set_requires_grad(true);
            const Tensor xl = x.to_memory_format(MemoryFormat::ChannelsLast).set_requires_grad(true), wl = w.clone().set_requires_grad(true);
            const Tensor yp = f({xp, wp}), yl = f({xl, wl});
            REQUIRE(yl.is_channels_last());
            // Both formats round the same operands to the mode's format; only the order of the
            // fp32 accumulation may differ.
            CHECK(test::rel_error(yl, yp) < 1e-5);
            const Tensor r = test::randn(yp.shape(), DType::F32).to(Device::CUDA);
            yp.backward(r);
            yl.backward(r.to_memory_format(MemoryFormat::ChannelsLast));
            CHECK(xl.grad().is_channels_last());
            CHECK_FALSE(wl.grad().is_channels_last());
            CHECK(test::rel_error(xl.grad(), xp.grad()) < 1e-5);
            CHECK(test::rel_error(wl.grad(), wp.grad()) < 1e-5);
        }
    }
}

TEST_CASE("batchnorm2d on channels-last input (coalesced NHWC reductions) equals the float64 reference") {
    REQUIRE(cuda::available());
    // Channel counts that are no multiple of the 32 channels a block takes, rows enough for
    // several splits, and a large common offset (Welford's merge keeps the variance).
    for (const auto& [s, offset] : {std::pair<Shape, double>{{3, 100, 7, 5}, 0.0}, {{64, 40, 8, 8}, 0.0}, {{2, 64, 8, 8}, 1000.0}}) {
        INFO(s << " offset " << offset);
        const int64_t c = s[1];
        const Tensor x64 = test::randn(s, DType::F64, 3.0);
        const Tensor x = Tensor::from_vector(s, [&] {
            std::vector<float> v = x64.to_vector();
            for (float& e : v) e += float(offset);
            return v;
        }());
        const Tensor w = test::rand({c}, 0.5, 1.5, DType::F32), b = test::randn({c}, DType::F32), dy = test::randn(s, DType::F32);
        Tensor out[2], grads[2][3], running[2];
        for (int gpu = 0; gpu < 2; ++gpu) {
            const Device dev = gpu ? Device::CUDA : Device::CPU;
            const DType t = gpu ? DType::F32 : DType::F64;
            const Tensor xi = x.to(t).to(dev).to_memory_format(MemoryFormat::ChannelsLast).set_requires_grad(true);
            const Tensor wi = w.to(t).to(dev).set_requires_grad(true), bi = b.to(t).to(dev).set_requires_grad(true);
            running[gpu] = Tensor::full({c}, 1.0, t, dev);
            out[gpu] = batchnorm2d(xi, wi, bi, Tensor::zeros({c}, t, dev), running[gpu], true);
            CHECK(out[gpu].is_channels_last());
            out[gpu].backward(dy.to(t).to(dev).to_memory_format(MemoryFormat::ChannelsLast));
            grads[gpu][0] = xi.grad();
            grads[gpu][1] = wi.grad();
            grads[gpu][2] = bi.grad();
        }
        CHECK(test::rel_error(out[1], out[0]) < 1e-5);
        CHECK(test::rel_error(running[1], running[0]) < 1e-6);
        for (int k = 0; k < 3; ++k) CHECK(test::rel_error(grads[1][k], grads[0][k]) < 1e-5);
    }
}

namespace {
// A tiny DCGAN (32x32, 4 channels wide) with its optimizers, seeded as in test_cuda_dcgan_step.
struct Run {
    nn::DcganConfig config{.nz = 8, .ngf = 4, .ndf = 4, .nc = 3, .image_size = 32};
    Generator noise{31, 0}, tricks{32, 0}, dropout{33, 0}, data{34, 0};
    nn::DcganGenerator g{config};
    dcgan::Discriminator d;
    nn::Adam opt_g, opt_d;
    Run() : d(config, 0.0, dropout), opt_g((init(), g.parameters()), {.lr = 2e-3, .beta1 = 0.5}), opt_d(d.parameters(), {.lr = 2e-3, .beta1 = 0.5}) {}
    void init() {
        Generator weights{30, 0};
        nn::dcgan_init(g, weights);
        nn::dcgan_init(d, weights);
        g.to(Device::CUDA);
        d.to(Device::CUDA);
    }
    // Iterations [first, last) with a step in the given format, on batches drawn from `data`.
    // Returns how many ran as a CUDA graph replay.
    int64_t train(int64_t first, int64_t last, bool channels_last, bool graph = false) {
        const dcgan::StepOptions o{.batch_size = 4, .nz = 8, .real_label = 0.9, .fake_label = 0.0, .d_steps = 1,
                                   .device = Device::CUDA, .cuda_graph = graph, .channels_last = channels_last};
        dcgan::DcganStep step(g, d, opt_g, opt_d, o, noise, tricks, first, 8);
        weights_channels_last = channels_last;
        for (int64_t it = first; it < last; ++it) {
            Tensor real;
            {
                cuda::StreamGuard on(step.stream());
                real = Tensor::uniform({4, 3, 32, 32}, -1, 1, data, DType::F32, Device::CUDA);
            }
            REQUIRE(step.run(real, it, 0.0));
        }
        const kernels::MonitorReadout r = step.read_monitor();
        CHECK(r.first_nonfinite == -1);
        return step.graph_replays();
    }
    std::vector<std::vector<double>> state() const {
        std::vector<std::vector<double>> out;
        for (const nn::Module* m : {static_cast<const nn::Module*>(&g), static_cast<const nn::Module*>(&d)}) {
            for (const Tensor& p : m->parameters()) {
                // The step keeps the conv weights in its activations' format (KRSC when channels-last).
                CHECK(p.is_channels_last() == (weights_channels_last && p.ndim() == 4));
                out.push_back(p.to_double_vector());
            }
            for (const auto& [name, b] : m->named_buffers()) out.push_back(b.to_double_vector());
        }
        return out;
    }
    bool weights_channels_last = false;  // the format of the last step made
};

// The largest relative difference over the tensors of two states.
double worst(const std::vector<std::vector<double>>& a, const std::vector<std::vector<double>>& b) {
    REQUIRE(a.size() == b.size());
    double w = 0;
    for (size_t i = 0; i < a.size(); ++i) w = std::max(w, test::rel_error(a[i], b[i]));
    return w;
}
}  // namespace

TEST_CASE("DCGAN steps train the same weights channels-last and contiguous, and may switch format between iterations") {
    REQUIRE(cuda::available());
    // Strict fp32, so that what differs is the summation order alone: batchnorm's NHWC
    // statistics merge their values in another order (in double, so the float results
    // rarely move), and the NHWC convolution kernels may order their sums otherwise (the
    // temporary NCHW fallback of the NHWC API computes the same bits: 0 measured today).
    // Stated tolerance: after 2 iterations every weight and running statistic within 1e-4
    // relative of the contiguous run (printed: the worst).
    const PrecisionScope strict(Precision::FP32);
    Run plain, last, switched_to_last, switched_to_plain;
    // Memory-format conversions: layout.cu's tiled kernel, or its thin one (a 3-channel image, KCRS weights).
    const auto conversions = [] { return kernel_launches("batched_transpose_kernel") + kernel_launches("thin_transpose_kernel"); };
    const int64_t conversions_before = conversions();
    plain.train(0, 2, false);
    CHECK(conversions() == conversions_before);  // contiguous: no conversion at all
    last.train(0, 2, true);
    // The channels-last run converted (the batch at the boundary, KCRS weights to KRSC, and,
    // until the NHWC kernels land, the temporary fallback's operands).
    CHECK(conversions() > conversions_before);
    // batchnorm's coalesced NHWC statistics: unfused, or gathered by the fused convolutions (nn/conv_bn_chain.h)
    CHECK(kernel_launches("moments_rows_kernel") + kernel_launches("merge_tile_moments_kernel") > 0);
    CHECK(kernel_launches("grad_sums_rows_kernel") > 0);  // and gradient sums
    switched_to_last.train(0, 1, false);  // a contiguous run resumed channels-last
    switched_to_last.train(1, 2, true);
    switched_to_plain.train(0, 1, true);  // and the other way round
    switched_to_plain.train(1, 2, false);
    const auto ref = plain.state();
    const double w_last = worst(last.state(), ref), w_a = worst(switched_to_last.state(), ref),
                 w_b = worst(switched_to_plain.state(), ref);
    std::printf("DCGAN, 2 steps: channels-last vs contiguous worst relative difference %.2e; switched formats %.2e, %.2e\n",
                w_last, w_a, w_b);
    CHECK(w_last < 1e-4);
    CHECK(w_a < 1e-4);
    CHECK(w_b < 1e-4);
}

TEST_CASE("a channels-last DCGAN step replays as a CUDA graph with the eager run's bits") {
    REQUIRE(cuda::available());
    Run eager, graph;
    CHECK(eager.train(0, 3, true, false) == 0);
    CHECK(graph.train(0, 3, true, true) == 1);  // two eager warm-up iterations, then a capture and its replay
    CHECK(worst(graph.state(), eager.state()) == 0);
    CHECK(kernel_launches("batched_transpose_kernel") + kernel_launches("thin_transpose_kernel") > 0);
}

// nn::conv_bn_fusion_enabled() set for a scope (off by default).
struct ConvBnFusionScope {
    bool saved;
    explicit ConvBnFusionScope(bool on) : saved(nn::conv_bn_fusion_enabled()) { nn::conv_bn_fusion_enabled() = on; }
    ~ConvBnFusionScope() { nn::conv_bn_fusion_enabled() = saved; }
};

TEST_CASE("Conv -> BatchNorm2d -> activation -> Conv fused trains the DCGAN as the modules one by one, eager and as a graph") {
    REQUIRE(cuda::available());
    CHECK_FALSE(nn::conv_bn_fusion_enabled());  // opt-in: predicted slower today (NOTES.md)
    // Strict fp32 (only the summation order differs: the fused statistics merge per 32-row
    // group, the unfused ones per split) and the default TF32. Stated tolerance: after 2
    // iterations every weight and running statistic within 1e-4 (fp32) / 1e-1 (tf32) relative
    // of the unfused run (printed: the worst). TF32's is loose on purpose: the unfused
    // batchnorm (batchnorm2d_activation.cu) and the fused one compute the normalised activation
    // with other formulas, fp32 differences of ~1e-7 that the next conv's TF32 rounding turns
    // into one-ulp (1e-3) changes of some operands; Adam's first steps move each weight by
    // about lr * sign(gradient), so every gradient component near zero whose sign flips moves
    // its weight by 2 lr (~2% of a 0.02 weight): 0.3-4% per tensor measured. The arithmetic
    // itself is checked in fp32 here (5e-7 measured) and per mode against float64 by
    // test_cuda_conv_fused (TF32 chains within 5e-3) and test_conv_bn_fusion (bit for bit).
    for (Precision p : {Precision::FP32, Precision::TF32}) {
        const PrecisionScope scope(p);
        Run fused, plain;
        const int64_t merges = kernel_launches("merge_tile_moments_kernel");
        // The batchnorms that are not fused into a conv run as batchnorm + activation
        // (batchnorm2d_activation.cu): one finish_statistics_kernel per forward.
        int64_t unfused_stats = kernel_launches("finish_statistics_kernel");
        {
            const ConvBnFusionScope on(true);
            fused.train(0, 2, true);
        }
        CHECK(kernel_launches("merge_tile_moments_kernel") > merges);  // the fusion ran
        // Per iteration, G's 3 batchnorms and D's first (of 2; 3 forwards of D) are fused: D's
        // last one stays, as the features are an output (step.cpp).
        CHECK(kernel_launches("finish_statistics_kernel") - unfused_stats == 2 * 3);
        unfused_stats = kernel_launches("finish_statistics_kernel");
        const int64_t merges_before_plain = kernel_launches("merge_tile_moments_kernel");
        plain.train(0, 2, true);
        CHECK(kernel_launches("finish_statistics_kernel") - unfused_stats == 2 * (3 + 3 * 2));
        CHECK(kernel_launches("merge_tile_moments_kernel") == merges_before_plain);  // off by default
        const double w = worst(fused.state(), plain.state());
        std::printf("DCGAN, 2 steps in %s: fused vs unfused batchnorm worst relative difference %.2e\n", precision_name(p), w);
        CHECK(w < (p == Precision::FP32 ? 1e-4 : 1e-1));
        CHECK(w > 0);  // the two paths are different code
    }
    const ConvBnFusionScope on(true);
    Run eager, graph;
    CHECK(eager.train(0, 3, true, false) == 0);
    CHECK(graph.train(0, 3, true, true) == 1);
    CHECK(worst(graph.state(), eager.state()) == 0);
}
