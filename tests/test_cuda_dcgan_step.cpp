// The DCGAN training step of examples/dcgan_bedroom (step.h) on the GPU (emulated in CI):
// no host synchronisation and no cudaMalloc in a steady-state iteration, a bounded number
// of launches (one graph launch once captured), D's weight gradients skipped in the
// generator step, the same weights as a plain eager loop and as the step replayed as a
// CUDA graph, bit for bit, and divergence reported at the iteration it happened in.
#include <cmath>
#include <cstdio>
#include <cstring>

#include "core/cuda_counters.h"
#include "core/precision.h"
#if defined(GANOPS_WITH_ROOFLINE)
#include "roofline.h"
#endif
#include "step.h"
#include "test_util.h"

using namespace ganops;

namespace {

// A tiny DCGAN (32x32, 4 channels wide) and its optimizers, seeded.
struct Run {
    nn::DcganConfig config{.nz = 8, .ngf = 4, .ndf = 4, .nc = 3, .image_size = 32};
    Generator noise{31, 0}, tricks{32, 0}, dropout{33, 0}, data{34, 0};
    nn::DcganGenerator g{config};
    dcgan::Discriminator d;
    nn::Adam opt_g, opt_d;
    explicit Run(double lr = 2e-3, double d_dropout = 0)
        : d(config, d_dropout, dropout),
          opt_g((init(), g.parameters()), {.lr = lr, .beta1 = 0.5}),
          opt_d(d.parameters(), {.lr = lr, .beta1 = 0.5}) {}
    void init() {
        Generator weights{30, 0};
        nn::dcgan_init(g, weights);
        nn::dcgan_init(d, weights);
        g.to(Device::CUDA);
        d.to(Device::CUDA);
    }
    // The stream its step works on (DcganStep::stream()): batches are made there and weights
    // read there, so they are ordered with the step's work (the emulator's deferred mode
    // checks it).
    cuda::Stream stream = nullptr;
    Tensor batch(int64_t n) {
        cuda::StreamGuard on(stream);
        return Tensor::uniform({n, 3, 32, 32}, -1, 1, data, DType::F32, Device::CUDA);
    }
    std::vector<std::vector<float>> weights() const {
        cuda::StreamGuard on(stream);
        std::vector<std::vector<float>> out;
        for (const Tensor& p : g.parameters()) out.push_back(p.to_vector());
        for (const Tensor& p : d.parameters()) out.push_back(p.to_vector());
        return out;
    }
};

constexpr int64_t kBatch = 4;

dcgan::StepOptions step_options(bool graph = false) {
    return {.batch_size = kBatch, .nz = 8, .real_label = 0.9, .fake_label = 0.0, .d_steps = 1, .device = Device::CUDA,
            .cuda_graph = graph};
}

// Convolution GEMMs run on the SIMT loop (fp32) or the tensor-core loop (the TF32 default).
int64_t gemm_launches() { return kernel_launches("gemm_kernel") + kernel_launches("mma_gemm"); }

bool same_bits(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (a[i].size() != b[i].size() || std::memcmp(a[i].data(), b[i].data(), a[i].size() * sizeof(float)) != 0) return false;
    return true;
}

}  // namespace

TEST_CASE("a steady-state eager DCGAN step makes no host sync and no cudaMalloc, and a bounded number of launches") {
    REQUIRE(cuda::available());
    Run run;
    dcgan::DcganStep step(run.g, run.d, run.opt_g, run.opt_d, step_options(), run.noise, run.tricks, 0, 8);
    run.stream = step.stream();
    std::vector<Tensor> batches;
    for (int i = 0; i < 6; ++i) batches.push_back(run.batch(kBatch));
    for (int i = 0; i < 3; ++i) REQUIRE(step.run(batches[size_t(i)], i, 0.0));  // warm-up: the allocator fills its cache
    const CudaCounters before = cuda_counters();
    const size_t held_before = cuda::allocator_stats().bytes_in_use;
    cuda::reset_peak_stats();
    for (int i = 3; i < 6; ++i) REQUIRE(step.run(batches[size_t(i)], i, 0.0));
    const CudaCounters after = cuda_counters();
    const int64_t launches = (after.launches - before.launches) / 3;
    const size_t peak = cuda::allocator_stats().peak_bytes_in_use;
    std::printf("DCGAN step (32x32, batch %lld): %lld launches per iteration; peak %zu bytes held by tensors, %zu between "
                "iterations\n",
                (long long)kBatch, (long long)launches, peak, held_before);
    CHECK(after.host_syncs == before.host_syncs);
    CHECK(after.device_allocations == before.device_allocations);
    CHECK(launches > 50);    // the step really ran on the device
    // Stated bound (today's count is printed above): 182 since batchnorm + activation runs
    // fused on CUDA (3 launches each way per layer instead of 4; 200 before).
    CHECK(launches <= 182);
    // The monitor recorded all five iterations, finite, with D's outputs in (0, 1).
    const kernels::MonitorReadout r = step.read_monitor();
    CHECK(r.iteration == 6);
    CHECK(r.first_nonfinite == -1);
    REQUIRE(r.slots.size() == 6);
    for (const auto& slot : r.slots) {
        CHECK(slot[dcgan::kLossD] > 0);
        CHECK(slot[dcgan::kLossG] > 0);
        for (int64_t f : {dcgan::kDx, dcgan::kDGz1, dcgan::kDGz2}) {
            CHECK(slot[size_t(f)] > 0);
            CHECK(slot[size_t(f)] < 1);
        }
    }
}

TEST_CASE("the generator step computes no weight gradient of D, and trains as a full backward would, bit for bit") {
    REQUIRE(cuda::available());
    // Reference: the plain eager loop of pytorch/examples, errG.backward() into every parameter.
    Run ref, mine;
    const dcgan::StepOptions o = step_options();
    const Tensor real_labels = Tensor::full({kBatch}, o.real_label, DType::F32, Device::CUDA);
    const Tensor fake_labels = Tensor::full({kBatch}, o.fake_label, DType::F32, Device::CUDA);
    const Tensor ones = Tensor::full({kBatch}, 1.0, DType::F32, Device::CUDA);
    int64_t gemms_full = 0;
    for (int it = 0; it < 3; ++it) {
        const Tensor real = ref.batch(kBatch);
        ref.opt_d.zero_grad();
        binary_cross_entropy(ref.d(real), real_labels).backward();
        const Tensor fake = ref.g(Tensor::normal({kBatch, o.nz, 1, 1}, 0, 1, ref.noise, DType::F32, Device::CUDA));
        binary_cross_entropy(ref.d(fake.detach()), fake_labels).backward();
        ref.opt_d.step();
        ref.opt_g.zero_grad();
        const int64_t before = gemm_launches();
        binary_cross_entropy(ref.d(fake), ones).backward();
        gemms_full = gemm_launches() - before;
        ref.opt_g.step();
    }
    dcgan::DcganStep step(mine.g, mine.d, mine.opt_g, mine.opt_d, o, mine.noise, mine.tricks, 0, 4);
    mine.stream = step.stream();
    int64_t gemms_step = 0, gemms_d_step = 0;
    for (int it = 0; it < 3; ++it) {
        const Tensor real = mine.batch(kBatch);
        const int64_t before = gemm_launches();
        REQUIRE(step.run(real, it, 0.0));
        gemms_step = gemm_launches() - before;
    }
    {  // the D step alone (d_steps 2: no G step on iteration 0)
        Run other;
        dcgan::StepOptions d_only = o;
        d_only.d_steps = 2;
        dcgan::DcganStep s(other.g, other.d, other.opt_g, other.opt_d, d_only, other.noise, other.tricks, 0, 4);
        other.stream = s.stream();
        const int64_t before = gemm_launches();
        REQUIRE(s.run(other.batch(kBatch), 0, 0.0));
        gemms_d_step = gemm_launches() - before;
    }
    // Both count D's forward on the fake batch (4 convolutions), D's input gradients (4) and
    // G's backward (5 weight gradients, 4 input gradients); only the full backward also
    // computes D's 4 weight gradients.
    const int64_t gemms_g_step = gemms_step - gemms_d_step;
    INFO("gemm launches: full G backward " << gemms_full << ", G step " << gemms_g_step);
    CHECK(gemms_full - gemms_g_step == 4);
    CHECK(same_bits(mine.weights(), ref.weights()));
    const Run untrained;
    CHECK_FALSE(same_bits(mine.weights(), untrained.weights()));
}

TEST_CASE("on the GPU, the training monitor's ring wraps without losing an iteration") {
    REQUIRE(cuda::available());
    const kernels::TrainingMonitor m = kernels::make_training_monitor(1, 1, 0, Device::CUDA);
    for (int it = 0; it < 4; ++it) {
        const Tensor x = Tensor::full({5}, 0.5 + it, DType::F32, Device::CUDA);
        kernels::monitor_add_mean(m, 0, x);
        kernels::monitor_next_iteration(m);
        const kernels::MonitorReadout r = kernels::read_monitor(m);  // read every iteration: capacity 1
        REQUIRE(r.slots.size() == 1);
        CHECK(r.slots[0][0] == 0.5 + it);
    }
}

TEST_CASE("a non-finite output of D is reported with the iteration it first appeared in") {
    REQUIRE(cuda::available());
    Run run;
    dcgan::DcganStep step(run.g, run.d, run.opt_g, run.opt_d, step_options(), run.noise, run.tricks, 10, 8);
    run.stream = step.stream();
    for (int64_t it = 10; it < 14; ++it) {
        Tensor real = run.batch(kBatch);
        if (it == 12) {
            cuda::StreamGuard on(run.stream);
            real = Tensor::full(real.shape(), NAN, DType::F32, Device::CUDA);
        }
        REQUIRE(step.run(real, it, 0.0));  // on a GPU the step never waits to look
    }
    const kernels::MonitorReadout r = step.read_monitor();
    CHECK(r.iteration == 14);
    CHECK(r.first_nonfinite == 12);  // not 13: NaN weights from then on do not move it
    REQUIRE(r.first_slot_iteration == 6);  // capacity 8: iterations 6 .. 13 (6 to 9 before the start, zero)
    CHECK(std::isfinite(r.slots[11 - 6][dcgan::kDx]));
    CHECK(std::isnan(r.slots[12 - 6][dcgan::kDx]));
    CHECK(std::isnan(r.slots[13 - 6][dcgan::kDx]));
}

namespace {
// Host-side state a replay must advance as an eager iteration does.
struct HostCounters {
    uint64_t noise, tricks, dropout;
    int64_t g_steps, d_steps, bn_g, bn_d;
    bool operator==(const HostCounters&) const = default;
};
HostCounters host_counters(Run& run) {
    return {run.noise.offset,
            run.tricks.offset,
            run.dropout.offset,
            run.opt_g.steps_taken,
            run.opt_d.steps_taken,
            dynamic_cast<nn::BatchNorm2d&>((*run.g.main)[1]).num_batches_tracked,
            dynamic_cast<nn::BatchNorm2d&>((*run.d.main)[3]).num_batches_tracked};
}
}  // namespace

TEST_CASE("replayed as a CUDA graph, the step gives the eager step's bits with one graph launch an iteration") {
    REQUIRE(cuda::available());
    constexpr int kIterations = 6;
    // Dropout in D: replays must draw new masks (and new noise), or they drift from eager.
    Run eager(2e-3, 0.3), graphed(2e-3, 0.3);
    dcgan::DcganStep eager_step(eager.g, eager.d, eager.opt_g, eager.opt_d, step_options(false), eager.noise, eager.tricks, 0, 8);
    dcgan::DcganStep graph_step(graphed.g, graphed.d, graphed.opt_g, graphed.opt_d, step_options(true), graphed.noise,
                                graphed.tricks, 0, 8);
    eager.stream = eager_step.stream();
    graphed.stream = graph_step.stream();
    for (int it = 0; it < kIterations; ++it) REQUIRE(eager_step.run(eager.batch(kBatch), it, 0.0));
    std::vector<Tensor> batches;
    for (int it = 0; it < kIterations; ++it) batches.push_back(graphed.batch(kBatch));
    CudaCounters before{};
    for (int it = 0; it < kIterations; ++it) {
        if (it == 4) before = cuda_counters();  // two eager warm-ups, a capture + replay, then steady replays
        REQUIRE(graph_step.run(batches[size_t(it)], it, 0.0));
    }
    const CudaCounters after = cuda_counters();
    CHECK(graph_step.graph_replays() == kIterations - 2);
    CHECK(graph_step.graph_captures() == 1);
    CHECK(after.graph_launches - before.graph_launches == 2);
    CHECK(after.launches == before.launches);  // the graph's kernels only: not one launch of ours
    CHECK(after.host_syncs == before.host_syncs);
    CHECK(after.device_allocations == before.device_allocations);

    CHECK(same_bits(graphed.weights(), eager.weights()));
    CHECK(host_counters(graphed) == host_counters(eager));
    // The monitors agree too, and a replay is not the previous iteration again: its
    // noise, dropout masks and batch are new, so D's outputs differ.
    const kernels::MonitorReadout a = eager_step.read_monitor(), b = graph_step.read_monitor();
    REQUIRE(a.slots.size() == size_t(kIterations));
    CHECK(a.slots == b.slots);
    for (int it = 3; it < kIterations; ++it) CHECK(b.slots[size_t(it)][dcgan::kDGz1] != b.slots[size_t(it - 1)][dcgan::kDGz1]);
}

// A channels-last step whose weights follow the activations (KRSC parameters) or stay KCRS,
// converted by every pass (the path before).
dcgan::StepOptions channels_last_options(bool weights_follow_activations) {
    dcgan::StepOptions o = step_options(false);
    o.channels_last = true;
    o.weights_follow_activations = weights_follow_activations;
    return o;
}

TEST_CASE("a channels-last step keeps its weights KRSC: the bits of KCRS weights converted per pass, with fewer launches") {
    REQUIRE(cuda::available());
    const PrecisionScope tf32(Precision::TF32);
    Run kcrs, krsc;
    const dcgan::StepOptions converting = channels_last_options(false), keeping = channels_last_options(true);
    dcgan::DcganStep a(kcrs.g, kcrs.d, kcrs.opt_g, kcrs.opt_d, converting, kcrs.noise, kcrs.tricks, 0, 8);
    dcgan::DcganStep b(krsc.g, krsc.d, krsc.opt_g, krsc.opt_d, keeping, krsc.noise, krsc.tricks, 0, 8);
    kcrs.stream = a.stream();
    krsc.stream = b.stream();
    for (const Tensor& p : krsc.g.parameters()) CHECK(p.is_channels_last() == (p.ndim() == 4));
    for (const Tensor& p : krsc.d.parameters()) CHECK(p.is_channels_last() == (p.ndim() == 4));
    CHECK_FALSE(kcrs.d.parameters()[0].is_channels_last());
    CHECK(krsc.opt_d.exp_avg()[0].is_channels_last());  // Adam's moments follow their parameters
    const auto layout_launches = [] { return kernel_launches("batched_transpose_kernel") + kernel_launches("thin_transpose_kernel"); };
    struct Count {
        int64_t launches = 0, conversions = 0;
    };
    auto iteration = [&](dcgan::DcganStep& step, Run& run, int it) {
        const Tensor batch = run.batch(kBatch);
        const int64_t launches = cuda_counters().launches, conversions = layout_launches();
        REQUIRE(step.run(batch, it, 0.0));
        return Count{cuda_counters().launches - launches, layout_launches() - conversions};
    };
    Count before, after;  // per iteration, the third (steady) one
    for (int it = 0; it < 3; ++it) {
        before = iteration(a, kcrs, it);
        after = iteration(b, krsc, it);
    }
    std::printf("channels-last DCGAN step (32x32, batch %lld, TF32): %lld launches per iteration with KCRS weights (%lld layout "
                "conversions), %lld with KRSC weights (%lld)\n",
                (long long)kBatch, (long long)before.launches, (long long)before.conversions, (long long)after.launches,
                (long long)after.conversions);
    CHECK(after.conversions == 1);  // the real batch into channels-last, and nothing else
    CHECK(before.conversions > 40);
    CHECK(before.launches - after.launches == before.conversions - after.conversions);  // the only launches saved
    // Stated bound (today's count is printed above): 168 per channels-last TF32 iteration, 41
    // fewer than with KCRS weights (209: each conv pass converted its weight or gradient).
    CHECK(after.launches <= 168);
    CHECK(same_bits(krsc.weights(), kcrs.weights()));
    for (const Tensor& p : krsc.d.parameters()) CHECK(p.is_channels_last() == (p.ndim() == 4));  // still, after training
}

TEST_CASE("layers rounding to TF32 between them (the channels-last step's default) train the step's bits without it, in every mode") {
    REQUIRE(cuda::available());
    // TF32: the producers round where the convolutions reading their outputs would (the step
    // replayed as a graph, against the eager step without rounding); other modes: nothing rounds
    // (nn/tf32_between_layers.h). Same bits each way: rounding a TF32 value is the identity.
    for (Precision p : {Precision::TF32, Precision::BF16, Precision::FP32, Precision::FP32Accurate}) {
        CAPTURE(precision_name(p));
        const PrecisionScope mode(p);
        Run rounding, plain;
        dcgan::StepOptions graph = channels_last_options(true);
        graph.cuda_graph = p == Precision::TF32;
        dcgan::DcganStep a(rounding.g, rounding.d, rounding.opt_g, rounding.opt_d, graph, rounding.noise, rounding.tricks, 0, 8);
        dcgan::DcganStep b(plain.g, plain.d, plain.opt_g, plain.opt_d, channels_last_options(true), plain.noise, plain.tricks, 0, 8);
        CHECK(rounding.g.main->round_tf32_between_layers);
        CHECK(rounding.d.main->round_tf32_between_layers);
        plain.g.main->round_tf32_between_layers = false;
        plain.d.main->round_tf32_between_layers = false;
        rounding.stream = a.stream();
        plain.stream = b.stream();
        for (int it = 0; it < 2; ++it) {
            REQUIRE(a.run(rounding.batch(kBatch), it, 0.0));  // D's outputs finite
            REQUIRE(b.run(plain.batch(kBatch), it, 0.0));
        }
        CHECK(same_bits(rounding.weights(), plain.weights()));
    }
}

TEST_CASE("with conv + batchnorm fused (opt-in), KRSC weights also train the bits of KCRS weights converted per pass") {
    REQUIRE(cuda::available());
    const PrecisionScope tf32(Precision::TF32);
    struct FusionOn {  // the fused grad-weight writes KRSC too (kernels/conv_bn_fusion.cpp)
        bool was = nn::conv_bn_fusion_enabled();
        FusionOn() { nn::conv_bn_fusion_enabled() = true; }
        ~FusionOn() { nn::conv_bn_fusion_enabled() = was; }
    } fusion;
    Run kcrs, krsc;
    const dcgan::StepOptions converting = channels_last_options(false), keeping = channels_last_options(true);
    dcgan::DcganStep a(kcrs.g, kcrs.d, kcrs.opt_g, kcrs.opt_d, converting, kcrs.noise, kcrs.tricks, 0, 8);
    dcgan::DcganStep b(krsc.g, krsc.d, krsc.opt_g, krsc.opt_d, keeping, krsc.noise, krsc.tricks, 0, 8);
    kcrs.stream = a.stream();
    krsc.stream = b.stream();
    const int64_t merges = kernel_launches("merge_tile_moments_kernel");
    for (int it = 0; it < 2; ++it) {
        REQUIRE(a.run(kcrs.batch(kBatch), it, 0.0));
        const int64_t conversions = kernel_launches("batched_transpose_kernel") + kernel_launches("thin_transpose_kernel");
        REQUIRE(b.run(krsc.batch(kBatch), it, 0.0));
        CHECK(kernel_launches("batched_transpose_kernel") + kernel_launches("thin_transpose_kernel") - conversions == 1);
    }
    CHECK(kernel_launches("merge_tile_moments_kernel") > merges);  // the fusion ran
    CHECK(same_bits(krsc.weights(), kcrs.weights()));
}

TEST_CASE("iterations a graph cannot express run eagerly, and the graph is captured again afterwards, as after a change of precision") {
    REQUIRE(cuda::available());
    Run eager, graphed;
    dcgan::DcganStep eager_step(eager.g, eager.d, eager.opt_g, eager.opt_d, step_options(false), eager.noise, eager.tricks, 0, 8);
    dcgan::DcganStep graph_step(graphed.g, graphed.d, graphed.opt_g, graphed.opt_d, step_options(true), graphed.noise,
                                graphed.tricks, 0, 8);
    eager.stream = eager_step.stream();
    graphed.stream = graph_step.stream();
    // Iteration 3 has instance noise (a per-iteration value): eager, then captured again at 4;
    // iteration 5 runs in another precision mode: captured again.
    for (int it = 0; it < 6; ++it) {
        const double sigma = it == 3 ? 0.1 : 0.0;
        PrecisionScope precision(it == 5 ? Precision::FP32 : matmul_precision());
        REQUIRE(eager_step.run(eager.batch(kBatch), it, sigma));
        REQUIRE(graph_step.run(graphed.batch(kBatch), it, sigma));
    }
    CHECK(graph_step.graph_replays() == 3);   // iterations 2, 4 and 5,
    CHECK(graph_step.graph_captures() == 3);  // each a new capture
    CHECK(same_bits(graphed.weights(), eager.weights()));
    CHECK(host_counters(graphed) == host_counters(eager));
}

namespace {
// Everything a checkpoint carries (examples/dcgan_bedroom/train.cpp), through the same
// safetensors encoding: weights, batchnorm statistics and counts, Adam's moments and step
// counts, and the random streams' positions.
void resume_from(Run& from, Run& to) {
    cuda::StreamGuard on(from.stream);
    for (auto [src, dst] : {std::pair<nn::Module*, nn::Module*>{&from.g, &to.g}, {&from.d, &to.d}}) {
        const std::vector<uint8_t> bytes = nn::encode_safetensors(nn::state_dict(*src));
        nn::load_state_dict(*dst, nn::decode_safetensors(bytes.data(), bytes.size(), "checkpoint"), "checkpoint");
    }
    for (auto [src, dst] : {std::pair<nn::Adam*, nn::Adam*>{&from.opt_g, &to.opt_g}, {&from.opt_d, &to.opt_d}}) {
        for (size_t i = 0; i < src->exp_avg().size(); ++i) {
            dst->exp_avg()[i].copy_from(src->exp_avg()[i]);
            dst->exp_avg_sq()[i].copy_from(src->exp_avg_sq()[i]);
        }
        dst->steps_taken = src->steps_taken;
    }
    to.noise = from.noise;
    to.tricks = from.tricks;
    to.dropout = from.dropout;
    to.data = from.data;
}
}  // namespace

TEST_CASE("a run resumed from its state mid-way, replayed as a CUDA graph, ends with the straight run's bits") {
    REQUIRE(cuda::available());
    constexpr int kIterations = 7, kStop = 3;
    Run straight(2e-3, 0.3), first(2e-3, 0.3), resumed(2e-3, 0.3);
    {
        dcgan::DcganStep step(straight.g, straight.d, straight.opt_g, straight.opt_d, step_options(true), straight.noise,
                              straight.tricks, 0, 8);
        straight.stream = step.stream();
        for (int it = 0; it < kIterations; ++it) REQUIRE(step.run(straight.batch(kBatch), it, 0.0));
        CHECK(step.graph_replays() == kIterations - 2);
    }
    {
        dcgan::DcganStep step(first.g, first.d, first.opt_g, first.opt_d, step_options(true), first.noise, first.tricks, 0, 8);
        first.stream = step.stream();
        for (int it = 0; it < kStop; ++it) REQUIRE(step.run(first.batch(kBatch), it, 0.0));
        resume_from(first, resumed);
    }
    // A new step (new stream, new graph: two eager iterations, then a capture) from iteration kStop.
    dcgan::DcganStep step(resumed.g, resumed.d, resumed.opt_g, resumed.opt_d, step_options(true), resumed.noise, resumed.tricks,
                          kStop, 8);
    resumed.stream = step.stream();
    for (int it = kStop; it < kIterations; ++it) REQUIRE(step.run(resumed.batch(kBatch), it, 0.0));
    CHECK(step.graph_replays() == kIterations - kStop - 2);
    straight.stream = first.stream = resumed.stream;  // their steps (and streams) are gone: read on a live one
    CHECK(same_bits(resumed.weights(), straight.weights()));
    CHECK(host_counters(resumed) == host_counters(straight));
    CHECK_FALSE(same_bits(first.weights(), straight.weights()));  // the second half did train
}

#if defined(GANOPS_WITH_ROOFLINE)
TEST_CASE("the roofline model's iteration launches the kernels the step launches") {
    REQUIRE(cuda::available());
    Run run;
    dcgan::DcganStep step(run.g, run.d, run.opt_g, run.opt_d, step_options(false), run.noise, run.tricks, 0, 8);
    run.stream = step.stream();
    std::vector<Tensor> batches;
    for (int i = 0; i < 3; ++i) batches.push_back(run.batch(kBatch));
    for (int i = 0; i < 2; ++i) REQUIRE(step.run(batches[size_t(i)], i, 0.0));
    const int64_t before = cuda_counters().launches;
    REQUIRE(step.run(batches[2], 2, 0.0));
    const int64_t launched = cuda_counters().launches - before;

    const roofline::DcganShape shape{.batch = kBatch, .nz = 8, .ngf = 4, .ndf = 4, .nc = 3, .image = 32};
    int64_t modelled = 0;
    for (const roofline::Launch& l : roofline::dcgan_iteration(shape, *roofline::find_gpu("h100-sxm")))
        modelled += !l.cost.copy && l.cost.op != "real batch (uniform)";  // copies are no launches; the test draws batches
    CHECK(modelled == launched);
}

TEST_CASE("channels-last in TF32, the roofline model's iteration launches the kernels the step launches") {
    REQUIRE(cuda::available());
    const PrecisionScope tf32(Precision::TF32);
    Run run;
    dcgan::StepOptions options = step_options(false);
    options.channels_last = true;
    dcgan::DcganStep step(run.g, run.d, run.opt_g, run.opt_d, options, run.noise, run.tricks, 0, 8);
    run.stream = step.stream();
    std::vector<Tensor> batches;
    for (int i = 0; i < 3; ++i) batches.push_back(run.batch(kBatch));
    for (int i = 0; i < 2; ++i) REQUIRE(step.run(batches[size_t(i)], i, 0.0));
    const int64_t before = cuda_counters().launches, activations_before = kernel_launches("forward_kernel");
    const auto layout_launches = [] { return kernel_launches("batched_transpose_kernel") + kernel_launches("thin_transpose_kernel"); };
    const int64_t transposes_before = layout_launches();
    REQUIRE(step.run(batches[2], 2, 0.0));
    const int64_t launched = cuda_counters().launches - before;
    const int64_t activations = kernel_launches("forward_kernel") - activations_before;
    const int64_t transposes = layout_launches() - transposes_before;

    const roofline::DcganShape shape{.batch = kBatch, .nz = 8, .ngf = 4, .ndf = 4, .nc = 3, .image = 32};
    const roofline::ModelParams nhwc{.nhwc_tensor_cores = true};
    int64_t modelled = 0, modelled_activations = 0, modelled_transposes = 0;
    for (const roofline::Launch& l : roofline::dcgan_iteration(shape, *roofline::find_gpu("h100-sxm"), nhwc)) {
        modelled += !l.cost.copy && l.cost.op != "real batch (uniform)";
        modelled_activations += l.cost.kernel.rfind("forward_kernel", 0) == 0;
        modelled_transposes += l.cost.kernel == "batched_transpose_kernel" || l.cost.kernel == "thin_transpose_kernel";
    }
    CHECK(modelled == launched);
    // The real batch's layout conversion, and no weight's (the step keeps them KRSC).
    CHECK(transposes == modelled_transposes);
    CHECK(transposes == 1);
    // D1's LeakyReLU runs in its conv's store (nn/conv_activation.h): the activation passes
    // forward are the model's (G5's tanh, D5's sigmoid; test_roofline: no LeakyReLU).
    CHECK(activations == modelled_activations);
}
#endif
