// The roofline model (benchmarks/roofline.h) against answers worked out by hand: a pure
// bandwidth kernel takes bytes / bandwidth, a pure-compute GEMM flops / peak, the DCGAN
// iteration holds the FLOPs of its layer table (about 320 GFLOP, ../shared/GPU.md), and the
// implicit GEMM executes what its tiles and the strided grad-input's zeros say. No GPU.
#include <cmath>
#include <cstring>
#include <string>

#include "catch_compat.h"
#include "roofline.h"

using namespace roofline;

namespace {

const GpuSpec& h100() { return *find_gpu("h100-sxm"); }
const GpuSpec& a100() { return *find_gpu("a100"); }

// One layer's FLOPs per pass, 2 * N * K * P * Q * C * R * S on conv2d's side (NOTES.md's table).
double conv_gflop(double n, double c_in, double c_out, double small_hw) {
    return 2.0 * n * c_in * c_out * small_hw * small_hw * 16 / 1e9;
}

}  // namespace

TEST_CASE("published peaks and the clocks they imply", "[roofline]") {
    CHECK(h100().fp32_tflops == 67.0);
    CHECK(h100().tf32_tflops() == Approx(494.5));   // datasheet 989 "with sparsity", dense half
    CHECK(h100().bf16_tflops() == Approx(989.5));
    CHECK(h100().dram_gbs == 3350.0);
    CHECK(h100().clock_ghz() == Approx(1.98).margin(0.01));
    CHECK(find_gpu("h100-pcie")->clock_ghz() == Approx(1.75).margin(0.01));
    CHECK(a100().clock_ghz() == Approx(1.41).margin(0.01));
    CHECK(a100().tf32_tflops() == Approx(156.0));
    CHECK(h100().issue_per_s() == Approx(4.0 * 132 * h100().clock_ghz() * 1e9));
    CHECK(find_gpu("b200") == nullptr);
}

TEST_CASE("device names map to their peaks", "[roofline]") {
    CHECK(gpu_for_device_name("NVIDIA H100 80GB HBM3") == find_gpu("h100-sxm"));
    CHECK(gpu_for_device_name("NVIDIA H100 PCIe") == find_gpu("h100-pcie"));
    CHECK(gpu_for_device_name("NVIDIA H200") == find_gpu("h200"));
    CHECK(gpu_for_device_name("NVIDIA A100-SXM4-80GB") == find_gpu("a100"));
    CHECK(gpu_for_device_name("Tesla T4") == nullptr);
}

TEST_CASE("a pure-bandwidth kernel takes bytes over bandwidth", "[roofline]") {
    KernelCost k;
    k.dram_bytes = 1e9;
    k.dram_efficiency = 1.0;
    k.blocks = 132 * 4;
    const ModelParams no_launch{.launch_us = 0};
    KernelTime t = predict(k, h100(), no_launch);
    CHECK(t.total_us == Approx(1e9 / 3350e9 * 1e6));  // 298.5 us
    CHECK(std::string(t.bound) == "dram");
    // The efficiency divides the bandwidth; the launch cost adds.
    k.dram_efficiency = 0.9;
    t = predict(k, h100(), ModelParams{.launch_us = 3});
    CHECK(t.total_us == Approx(1e9 / (0.9 * 3350e9) * 1e6 + 3));
    // A ReLU over 2^24 floats reads and writes 8 bytes an element; it is memory-bound.
    const ElementwiseKind relu{"relu", 8, 18, 0};
    const KernelCost r = elementwise(relu, int64_t{1} << 24, 8192, "relu");
    t = predict(r, h100(), no_launch);
    CHECK(std::string(t.bound) == "dram");
    CHECK(t.total_us == Approx(8.0 * (1 << 24) / (0.9 * 3350e9) * 1e6));
}

TEST_CASE("a pure-compute GEMM takes flops over peak", "[roofline]") {
    KernelCost k;
    k.flops = 1e12;
    k.flop_efficiency = 1.0;
    k.blocks = 132 * 3;  // whole waves
    const ModelParams no_launch{.launch_us = 0};
    KernelTime t = predict(k, h100(), no_launch);
    CHECK(t.total_us == Approx(1e12 / 67e12 * 1e6));  // 14.9 ms
    CHECK(std::string(t.bound) == "fp32");
    // The ideal floor of the same GEMM on tensor cores: flops over the dense TF32 / BF16 peak.
    k.useful_flops = 1e12;
    k.tensor_core = true;
    CHECK(floor_us(k, h100(), Mode::Fp32) == Approx(1e12 / 67e12 * 1e6));
    CHECK(floor_us(k, h100(), Mode::Tf32) == Approx(1e12 / 494.5e12 * 1e6));
    CHECK(floor_us(k, h100(), Mode::Bf16) == Approx(1e12 / 989.5e12 * 1e6));
    // One block more than whole waves: the last wave holds it alone.
    CHECK(wave_efficiency(132, 132) == 1.0);
    CHECK(wave_efficiency(133, 132) == Approx(133.0 / 264));
    CHECK(wave_efficiency(64, 132) == Approx(64.0 / 132));
    // Issue-bound: warp instructions over 4 per SM per clock.
    KernelCost issue;
    issue.warp_instructions = 1e9;
    issue.issue_utilisation = 1.0;
    issue.blocks = 132;
    t = predict(issue, h100(), no_launch);
    CHECK(std::string(t.bound) == "issue");
    CHECK(t.total_us == Approx(1e9 / h100().issue_per_s() * 1e6));
}

TEST_CASE("a launch with no work costs the launch overhead", "[roofline]") {
    KernelCost k;
    const KernelTime t = predict(k, h100(), ModelParams{.launch_us = 2.5});
    CHECK(t.total_us == 2.5);
    CHECK(std::string(t.bound) == "launch");
}

TEST_CASE("implicit GEMM: executed FLOPs, re-reads and split-K", "[roofline]") {
    // D2 forward: conv2d 64 -> 128 channels, 32x32 -> 16x16, batch 128. M = 32768, N = 128,
    // K = 1024: whole tiles, no split, no zeros: executes exactly the useful FLOPs.
    const ConvShape d2{128, 64, 32, 32, 128, 16, 16, 4, 4, 2, 1};
    const auto fwd = conv_pass(ConvPass::Forward, d2, h100(), "D2 forward");
    REQUIRE(fwd.size() == 1);
    CHECK(fwd[0].flops == Approx(d2.useful_flops()));
    CHECK(fwd[0].useful_flops / 1e9 == Approx(conv_gflop(128, 64, 128, 16)));  // 8.59
    CHECK(fwd[0].blocks == 512 * 2);
    // x is 33.5 MB, more than half the L2: read once per tile column (2); w and y once.
    const double x = 4.0 * 128 * 64 * 32 * 32, w = 4.0 * 128 * 64 * 16, y = 4.0 * 128 * 128 * 16 * 16;
    CHECK(fwd[0].dram_bytes == Approx(2 * x + w + y));
    // On the A100 (40 MB L2) too; with the whole L2 usable, x fits and is read once.
    CHECK(conv_pass(ConvPass::Forward, d2, h100(), "", ModelParams{.launch_us = 3, .l2_fraction = 1.0})[0].dram_bytes ==
          Approx(x + w + y));

    // Its grad-input runs in 2 x 2 dense phases, one launch each (conv_problems.h), which
    // skip the zeros that stride 2 inserts: together exactly the useful FLOPs.
    const auto dgrad = conv_pass(ConvPass::BackwardInput, d2, h100(), "D2 grad-input");
    REQUIRE(dgrad.size() == 4);
    double dgrad_flops = 0;
    for (const KernelCost& k : dgrad) dgrad_flops += k.flops;
    CHECK(dgrad_flops == Approx(d2.useful_flops()));
    CHECK(dgrad[0].useful_flops == d2.useful_flops());  // counted once, on the first phase
    CHECK(dgrad[1].useful_flops == 0);

    // G5 forward (ConvTranspose 64 -> 3, 32 -> 64) is conv2d's grad-input with 3 columns in a
    // 64-wide tile: 64 / 3 = 21.3x the useful FLOPs.
    const ConvShape g5{128, 3, 64, 64, 64, 32, 32, 4, 4, 2, 1};
    double g5_flops = 0;
    for (const KernelCost& k : conv_pass(ConvPass::BackwardInput, g5, h100(), "G5 forward")) g5_flops += k.flops;
    CHECK(g5_flops / g5.useful_flops() == Approx(64.0 / 3));

    // A one-pixel output (D5's grad-input, 4x4 -> 1x1) is one product per pixel: one launch.
    const ConvShape d5{128, 512, 4, 4, 1, 1, 1, 4, 4, 1, 0};
    CHECK(conv_pass(ConvPass::BackwardInput, d5, h100(), "D5 grad-input")[0].flops >= d5.useful_flops());
    CHECK(conv_pass(ConvPass::BackwardInput, d5, h100(), "D5 grad-input").size() == 1);

    // Grad-weight of D2: M = 1024, N = 128 is 32 tiles, K = 32768 split 9 ways (gemm_plan.h):
    // a reduce kernel follows; the GEMM writes 9 partial copies of dw.
    const auto wgrad = conv_pass(ConvPass::BackwardWeight, d2, h100(), "D2 grad-weight");
    REQUIRE(wgrad.size() == 2);
    CHECK(wgrad[0].blocks == 32 * 9);
    CHECK(std::string(wgrad[1].kernel) == "reduce_splits_kernel");
    CHECK(wgrad[1].useful_flops == 0);
    CHECK(wgrad[0].flops == Approx(d2.useful_flops()));

    // The instruction mix makes the SIMT GEMM issue-bound on both architectures.
    for (const GpuSpec* gpu : {&h100(), &a100()}) {
        const KernelTime t = predict(conv_pass(ConvPass::Forward, d2, *gpu, "")[0], *gpu);
        CHECK(std::string(t.bound) == "issue");
        CHECK(t.issue_us > t.fp32_us);
    }
}

TEST_CASE("the DCGAN iteration: FLOPs, launches, and what today's kernels cost", "[roofline]") {
    const DcganShape shape;  // 64x64, nz 100, ngf = ndf = 64, batch 128
    const std::vector<Launch> launches = dcgan_iteration(shape, h100());
    const IterationSummary s = summarize(launches, h100());

    // By hand from the layer table: G's 4x4 layers (G1 1x1 -> 4x4 as conv2d's y at 1x1).
    const double n = 128;
    const double g1 = conv_gflop(n, 512, 100, 1), g2 = conv_gflop(n, 256, 512, 4), g3 = conv_gflop(n, 128, 256, 8),
                 g4 = conv_gflop(n, 64, 128, 16), g5 = conv_gflop(n, 3, 64, 32);
    const double d1 = conv_gflop(n, 3, 64, 32), d2 = conv_gflop(n, 64, 128, 16), d3 = conv_gflop(n, 128, 256, 8),
                 d4 = conv_gflop(n, 256, 512, 4), d5 = conv_gflop(n, 512, 1, 1);
    CHECK(g2 == Approx(8.59).margin(0.01));
    const double g_pass = g1 + g2 + g3 + g4 + g5, d_pass = d1 + d2 + d3 + d4 + d5;
    // D forward 3x; D grad-weight 2x (the G step computes none); D grad-input 3x but D1's only
    // in the G step (the data and the detached fake want none); G forward, G grad-input
    // without G1 (noise), G grad-weight.
    const double expected = 3 * d_pass + 2 * d_pass + (3 * d_pass - 2 * d1) + g_pass + (g_pass - g1) + g_pass;
    CHECK(s.useful_gflop == Approx(expected).epsilon(1e-9));
    // GPU.md's "about 320 GFLOP" is PyTorch's iteration, with D's weight gradients in the G step.
    CHECK(s.useful_gflop + d_pass == Approx(320).epsilon(0.03));

    // 94 implicit-GEMM launches: D 15 forward + 43 grad-input + 10 grad-weight, G 17 + 4 + 5.
    // A strided grad-input (and a transposed convolution's forward) is 4 phase launches, a
    // one-pixel one (D5's grad-input, G1's forward) one: D's grad-input is D5 3x1, D2-D4
    // 3x4 each and D1 4 (the G step); G's forward is G1 1 and G2-G5 4 each.
    int gemms = 0, adams = 0, copies = 0, adds = 0, monitors = 0, bn_statistics = 0, bn_dx = 0, unfused_bn = 0;
    for (const Launch& l : launches) {
        bn_statistics += l.cost.kernel == "bn_act_statistics";
        bn_dx += l.cost.kernel == "bn_act_dx4";
        unfused_bn += l.cost.kernel == "moments_kernel" || l.cost.kernel == "dx_kernel";
        gemms += l.cost.kernel.rfind("gemm_kernel", 0) == 0;
        adams += l.cost.kernel == "adam_kernel";
        copies += l.cost.kernel == "cudaMemcpyAsync (clone)";
        adds += l.cost.kernel == "binary_kernel (add)";
        monitors += l.cost.kernel.rfind("monitor_", 0) == 0;
    }
    CHECK(gemms == 94);
    CHECK(adams == 2);
    CHECK(copies == 0);        // a parameter's first gradient is kept as its kernel wrote it (core/autograd.cpp)
    CHECK(adds == 11);         // D's gradients accumulate in the fake pass, not in the G step
    CHECK(monitors == 7);      // D(x), D(G(z)) twice, two D losses, G's loss; next iteration
    // Every batchnorm is followed by ReLU or LeakyReLU and runs fused (batchnorm2d_activation.cu):
    // D's 3 batchnorm layers in each of its 3 passes, G's 4 once; as many backwards.
    CHECK(bn_statistics == 3 * 3 + 4);
    CHECK(bn_dx == 3 * 3 + 4);
    CHECK(unfused_bn == 0);

    // Today's kernels: the SIMT GEMMs dominate, far above the ideal floors; the floors fall
    // from fp32 to TF32 to BF16, and the fp32 floor sits near GPU.md's 4.8 ms.
    CHECK(s.today_ms > 10 * s.floor_ms[0]);
    CHECK(s.floor_ms[0] > s.floor_ms[1]);
    CHECK(s.floor_ms[1] > s.floor_ms[2]);
    CHECK(s.floor_ms[0] > 317.0 / 67 * 1e-3 * 1e3);
    CHECK(s.floor_ms[0] < 7.0);
    CHECK(s.launch_ms == Approx(s.launches * 3.0 / 1e3));

    // Replayed as a CUDA graph: each kernel costs a graph node, plus the batch copy and the
    // graph launch.
    const ModelParams graph{.cuda_graph = true, .graph_node_us = 1.0};
    const IterationSummary g = summarize(dcgan_iteration(shape, h100(), graph), h100(), graph);
    CHECK(g.launches == s.launches + 3);  // the copy, the graph launch, the replay-state kernel
    CHECK(g.launch_ms == Approx(g.launches * 1.0 / 1e3));
    CHECK(g.today_ms < s.today_ms);

    // Half the batch: every conv FLOP halves.
    const IterationSummary half = summarize(dcgan_iteration(DcganShape{.batch = 64}, h100()), h100());
    CHECK(half.useful_gflop == Approx(s.useful_gflop / 2));
}

TEST_CASE("--predict needs no GPU and checks its arguments", "[roofline]") {
    const char* with[] = {"dcgan_step", "--iters", "5", "--predict"};
    const char* without[] = {"dcgan_step", "--iters", "5"};
    CHECK(wants_predict(4, const_cast<char**>(with)));
    CHECK_FALSE(wants_predict(3, const_cast<char**>(without)));
    const char* bad_gpu[] = {"dcgan_step", "--predict", "--gpu", "v100"};
    CHECK(predict_main(4, const_cast<char**>(bad_gpu)) == 2);
    const char* bad_option[] = {"dcgan_step", "--predict", "--iters", "5"};
    CHECK(predict_main(4, const_cast<char**>(bad_option)) == 2);
    const char* bad_batch[] = {"dcgan_step", "--predict", "--batch", "x"};
    CHECK(predict_main(4, const_cast<char**>(bad_batch)) == 2);
}

TEST_CASE("channels-last tensor-core convolution: tensor peak, SASS loop counts, the transposition", "[roofline]") {
    // D2 forward in TF32: M = 32768, N = 128, K = 1024 on the cp.async pipeline's 128x128 tile
    // (mma_plan.h, mma_async_plan): 256 tiles, 32 stages of 32 k each, 8 warps at 301
    // instructions per stage (sm_90 SASS, 64 HMMA; C = 64 is a multiple of 32: the paired loop).
    const ConvShape d2{128, 64, 32, 32, 128, 16, 16, 4, 4, 2, 1};
    const ModelParams nhwc{.nhwc_tensor_cores = true};
    const auto fwd = conv_pass(ConvPass::Forward, d2, h100(), "D2 forward", nhwc);
    REQUIRE(fwd.size() == 1);
    CHECK(fwd[0].kernel == "mma_gemm_async_kernel<ForwardNhwc>");
    CHECK(fwd[0].flops == Approx(d2.useful_flops()));
    CHECK(fwd[0].math_tflops == Approx(h100().tf32_tflops()));
    CHECK(fwd[0].warp_instructions == Approx(256.0 * 32 * 8 * 301));
    // 48 channels (a multiple of 4, not of 32): K = 768, 24 stages of the other loop, 488 per stage.
    ConvShape c48 = d2;
    c48.c = 48;
    CHECK(conv_pass(ConvPass::Forward, c48, h100(), "", nhwc)[0].warp_instructions == Approx(256.0 * 24 * 8 * 488));
    const KernelTime t = predict(fwd[0], h100(), nhwc);
    CHECK(std::string(t.bound) == "issue");  // 301 instructions per 64 HMMA: the issue rate binds, not the tensor cores
    CHECK(t.fp32_us < t.issue_us);
    // BF16 issues fewer instructions per stage (one k16 mma per two k8).
    CHECK(conv_pass_nhwc(ConvPass::Forward, d2, h100(), "", Mode::Bf16, nhwc)[0].warp_instructions < fwd[0].warp_instructions);
    // Grad-input transposes the weights first (one read and one write of w), then its four
    // phases in one launch (mma::run_batch): each M = 128 * 16 * 16, N = 64, K = 512; together
    // 4 x 256 Wide tiles (alone each would take the Square tile), no split, no reduction.
    const auto dgrad = conv_pass(ConvPass::BackwardInput, d2, h100(), "D2 grad-input", nhwc);
    REQUIRE(dgrad.size() == 2);
    CHECK(dgrad[0].kernel == "krsc_to_crsk_kernel");
    CHECK(dgrad[0].dram_bytes == Approx(2 * 4.0 * 128 * 64 * 16));
    CHECK(dgrad[1].useful_flops == d2.useful_flops());
    CHECK(dgrad[1].blocks == 4 * 256);
    // 16 paired stages per tile (K_out = 128); in TF32 the weights' CRSK copy arrives rounded
    // (krsc_to_crsk_kernel), so B's rounding pass (30 of the Wide loop's 244) is skipped; BF16
    // has no such pass (166).
    CHECK(dgrad[1].warp_instructions == Approx(4 * 256.0 * 16 * 8 * (244 - 30)));
    CHECK(conv_pass_nhwc(ConvPass::BackwardInput, d2, h100(), "", Mode::Bf16, nhwc)[1].warp_instructions ==
          Approx(4 * 256.0 * 16 * 8 * 166));
    // The fused grad-input (conv2d_backward_input_nhwc_fused) keeps one launch per phase.
    const auto dgrad_phases = conv_pass_nhwc(ConvPass::BackwardInput, d2, h100(), "", Mode::Tf32, nhwc, false, false);
    CHECK(dgrad_phases.size() >= 5);
    // Grad-weight on the cp.async pipeline (C and K_out multiples of 4: chunks along m and n),
    // split-K; the 3-channel image is padded to 4 channels first and takes it too.
    const auto wgrad = conv_pass(ConvPass::BackwardWeight, d2, h100(), "D2 grad-weight", nhwc);
    REQUIRE(wgrad.size() == 2);
    CHECK(wgrad[0].kernel == "mma_gemm_async_kernel<BackwardWeightNhwc>");
    CHECK(wgrad[1].kernel == "reduce_batch_splits_kernel");
    // Its pixel runs (PixelRunLoader) need Q a multiple of the run (4; 8 on Narrow): D2's 16
    // columns take them, 17 the k-major cursors, whose loop issues at least 1.2x the
    // instructions per mma (kNhwcAsyncRuns against kNhwcAsync's grad-weight row; same tile).
    ConvShape d2_q17 = d2;
    d2_q17.w = 34;
    d2_q17.q = 17;
    const auto wgrad_q17 = conv_pass(ConvPass::BackwardWeight, d2_q17, h100(), "", nhwc);
    REQUIRE(wgrad_q17.size() == 2);
    CHECK(wgrad_q17[0].warp_instructions / wgrad_q17[0].flops > 1.2 * wgrad[0].warp_instructions / wgrad[0].flops);
    const ConvShape d1{128, 3, 64, 64, 64, 32, 32, 4, 4, 2, 1};
    // D1's 3 channels are padded to 4 first (conv_nhwc_thin.h); grad-weight then takes the cp.async loop.
    const auto d1_dw = conv_pass(ConvPass::BackwardWeight, d1, h100(), "D1 grad-weight", nhwc);
    REQUIRE(d1_dw.size() >= 2);
    CHECK(d1_dw[1].kernel == "mma_gemm_async_kernel<BackwardWeightNhwc>");
    // D1's LeakyReLU runs in its forward GEMM's store (nn/conv_activation.h): no activation pass
    // forward; the backward still applies the mask from the saved output.
    int leaky_forward = 0, leaky_backward = 0, d1_fused = 0;
    for (const Launch& l : dcgan_iteration(DcganShape{}, h100(), nhwc)) {
        leaky_forward += l.cost.kernel == "forward_kernel (LeakyReLU)";
        leaky_backward += l.cost.kernel == "backward_kernel (LeakyReLU)";
        d1_fused += l.cost.kernel == "mma_gemm_async_kernel<ForwardNhwcLeakyReLU>";
    }
    CHECK(leaky_forward == 0);
    CHECK(leaky_backward == 3);  // D1 in D(real), D(fake) and the G step
    CHECK(d1_fused == 3);
    // The iteration: the NHWC tensor-core convolutions predict far less than the SIMT loop.
    const auto simt_ms = summarize(dcgan_iteration(DcganShape{}, h100()), h100()).today_ms;
    const auto tc_ms = summarize(dcgan_iteration(DcganShape{}, h100(), nhwc), h100(), nhwc).today_ms;
    CHECK(tc_ms < simt_ms / 4);
}

TEST_CASE("operands their producers rounded to TF32 skip the loop's rounding pass, in the layers the step rounds", "[roofline]") {
    // D2 forward (as above), its x (D1's conv + LeakyReLU output, rounded: nn/tf32_between_layers.h)
    // flagged: A's rounding pass, 57 of the Large paired loop's 301 per stage, skipped.
    const ConvShape d2{128, 64, 32, 32, 128, 16, 16, 4, 4, 2, 1};
    const ModelParams nhwc{.nhwc_tensor_cores = true};
    const auto fwd = conv_pass(ConvPass::Forward, d2, h100(), "", nhwc, RoundedOperands{true, false});
    REQUIRE(fwd.size() == 1);
    CHECK(fwd[0].warp_instructions == Approx(256.0 * 32 * 8 * (301 - 57)));
    // Grad-weight with both x and dy flagged: fewer instructions than with neither.
    const auto dw_plain = conv_pass(ConvPass::BackwardWeight, d2, h100(), "", nhwc);
    const auto dw_rounded = conv_pass(ConvPass::BackwardWeight, d2, h100(), "", nhwc, RoundedOperands{true, true});
    CHECK(dw_rounded[0].warp_instructions < dw_plain[0].warp_instructions);
    // BF16 converts at the fragment: no pass to skip.
    CHECK(conv_pass_nhwc(ConvPass::Forward, d2, h100(), "", Mode::Bf16, nhwc, false, true, RoundedOperands{true, true})[0]
              .warp_instructions == Approx(conv_pass_nhwc(ConvPass::Forward, d2, h100(), "", Mode::Bf16, nhwc)[0].warp_instructions));
    // In the TF32 iteration D2's forward (D(real), D(fake), the G step) reads its x rounded; D5,
    // a strict-fp32 GEMV, is costed as before.
    int d2_forward = 0;
    for (const Launch& l : dcgan_iteration(DcganShape{}, h100(), nhwc))
        if (l.cost.op == "D2 conv2d forward") {
            CHECK(l.cost.warp_instructions == Approx(fwd[0].warp_instructions));
            ++d2_forward;
        }
    CHECK(d2_forward == 3);
}

TEST_CASE("channels-last thin layers: the GEMV, the pixel product, the padded image and the narrow grad-input launch what conv2d_nhwc.cu does",
          "[roofline]") {
    const ModelParams nhwc{.nhwc_tensor_cores = true};
    const auto kernels = [](const std::vector<KernelCost>& v) {
        std::string s;
        for (const KernelCost& k : v) s += (s.empty() ? "" : ", ") + k.kernel;
        return s;
    };
    // D5: 512 -> 1 channel, 4x4 -> 1x1: one strict-fp32 GEMV kernel per pass, each operand read once.
    const ConvShape d5{128, 512, 4, 4, 1, 1, 1, 4, 4, 1, 0};
    const auto d5_fwd = conv_pass(ConvPass::Forward, d5, h100(), "D5 forward", nhwc);
    CHECK(kernels(d5_fwd) == "gemv_forward_kernel");
    CHECK(d5_fwd[0].dram_bytes == Approx(4.0 * (128 * 8192 + 8192 + 128)));
    CHECK(d5_fwd[0].useful_flops == Approx(d5.useful_flops()));
    CHECK_FALSE(d5_fwd[0].tensor_core);
    CHECK(kernels(conv_pass(ConvPass::BackwardInput, d5, h100(), "", nhwc)) == "gemv_backward_input_kernel");
    CHECK(kernels(conv_pass(ConvPass::BackwardWeight, d5, h100(), "", nhwc)) == "gemv_backward_weight_kernel");
    // G1 (100 -> 512, 1x1 -> 4x4) as conv2d's geometry: its forward is grad-input, the pixel
    // product on the KRSC weights (no transposition).
    const ConvShape g1{128, 512, 4, 4, 100, 1, 1, 4, 4, 1, 0};
    const auto g1_fwd = conv_pass(ConvPass::BackwardInput, g1, h100(), "G1 forward", nhwc);
    REQUIRE(!g1_fwd.empty());
    CHECK(g1_fwd[0].kernel == "mma_gemm_kernel<PixelProductKrsc>");
    CHECK(g1_fwd[0].useful_flops == Approx(g1.useful_flops()));
    // M = 8192, N = 128, K = 100 on the 64x64 tile: 128 x 2 tiles, 7 stages, 4 warps at 342
    // instructions per stage (its sm_90 SASS).
    CHECK(g1_fwd[0].warp_instructions == Approx(256.0 * 7 * 4 * 342));
    // D1 (3 -> 64): the image (and the weights) padded to 4 channels and a 66x66 image first;
    // grad-weight's store keeps the 3 real channels (no cropping pass).
    const ConvShape d1{128, 3, 64, 64, 64, 32, 32, 4, 4, 2, 1};
    const auto d1_fwd = conv_pass(ConvPass::Forward, d1, h100(), "D1 forward", nhwc);
    CHECK(kernels(d1_fwd) == "pad_channels_kernel, pad_channels_kernel, mma_gemm_async_kernel<ForwardNhwc>");
    CHECK(d1_fwd[0].dram_bytes == Approx(4.0 * (128 * 3 * 64 * 64 + 128 * 4 * 66 * 66)));
    CHECK(d1_fwd[2].useful_flops == Approx(d1.useful_flops()));
    const auto d1_wgrad = conv_pass(ConvPass::BackwardWeight, d1, h100(), "D1 grad-weight", nhwc);
    REQUIRE(d1_wgrad.size() >= 2);
    CHECK(d1_wgrad[0].kernel == "pad_channels_kernel");
    CHECK(d1_wgrad[1].kernel == "mma_gemm_async_kernel<BackwardWeightNhwc>");  // 4 channels: chunks along m
    CHECK(d1_wgrad.back().kernel != "pad_channels_kernel");
    // D1's grad-input (and G5's forward, the same GEMM) writes the 3-channel image with the
    // narrow SIMT kernel (conv_nhwc_narrow.h): one launch, no weight transposition; only the
    // products whose taps reach an image pixel (4 of the 16 taps per pixel inside the image).
    const auto d1_dgrad = conv_pass(ConvPass::BackwardInput, d1, h100(), "D1 grad-input", nhwc);
    CHECK(kernels(d1_dgrad) == "narrow_conv_backward_input_kernel<3>");
    const double pairs = 128.0 * 126 * 126;  // per axis 126 of the 4 x 32 (tap, dy row) pairs reach the image
    CHECK(d1_dgrad[0].flops == Approx(2 * pairs * 64 * 3));
    CHECK(d1_dgrad[0].dram_bytes == Approx(4.0 * (128 * 64 * 32 * 32 + 64 * 3 * 16 + 128 * 3 * 64 * 64)));
    CHECK(d1_dgrad[0].useful_flops == Approx(d1.useful_flops()));
    const KernelTime narrow = predict(d1_dgrad[0], h100(), nhwc);
    CHECK(std::string(narrow.bound) == "issue");
    CHECK(narrow.total_us < 45);  // eager (3 us launch); the 16-wide tensor-core tile's phases: ~77 us
    CHECK(narrow.fp32_us > 10);   // 0.78 GFLOP of FP32 FMA
}
