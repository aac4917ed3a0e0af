// The roofline model of roofline.h: GPU peaks with their sources, the cost of each kernel the
// library launches (counted from the layer shapes, the GEMM plan and the SASS report's
// instruction counts), the DCGAN iteration, and the reports. Plain C++: no CUDA.
#include "roofline.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <stdexcept>
#include <type_traits>

#include "../kernels/cuda/batchnorm_activation_plan.h"
#include "../kernels/cuda/conv_nhwc_thin.h"
#include "../kernels/cuda/conv_problems.h"
#include "../kernels/cuda/gemm_plan.h"
#include "../kernels/cuda/mma_plan.h"

namespace roofline {

// ---------------------------------------------------------------------------------------
// GPUs
// ---------------------------------------------------------------------------------------
//
// Peaks as NVIDIA publishes them. Tensor-core figures in the datasheets are "with
// sparsity"; the dense rate, which a convolution gets, is half (the datasheets' footnote).
//  [H100-DS] NVIDIA H100 Tensor Core GPU datasheet: H100 SXM FP32 67 TFLOPS, TF32 Tensor
//            Core 989 TFLOPS*, BF16 Tensor Core 1,979 TFLOPS*, GPU memory bandwidth 3.35 TB/s;
//            H100 PCIe FP32 51, TF32 756*, BF16 1,513*, 2 TB/s (* with sparsity).
//  [H100-WP] NVIDIA H100 Tensor Core GPU Architecture whitepaper: 132 SMs (SXM5) and 114
//            (PCIe), 128 FP32 and 64 FP64 units per SM, 4 warp schedulers per SM, 50 MB L2.
//  [H200-DS] NVIDIA H200 Tensor Core GPU datasheet: the H100 SXM's compute with 141 GB HBM3e
//            at 4.8 TB/s (the GPU lent to this project's sessions).
//  [A100-DS] NVIDIA A100 Tensor Core GPU datasheet: A100 80GB SXM FP32 19.5 TFLOPS, TF32
//            Tensor Core 312 TFLOPS*, BF16 624 TFLOPS*, 2,039 GB/s.
//  [A100-WP] NVIDIA A100 Tensor Core GPU Architecture whitepaper: 108 SMs, 64 FP32 and 32
//            FP64 units per SM, 4 warp schedulers per SM, 40 MB L2.
// The clock is not taken from a table: it is the one the FP32 peak implies
// (peak / (SMs * FP32 units * 2)): 1.98 GHz (H100 SXM), 1.75 (PCIe), 1.41 (A100).
const std::vector<GpuSpec>& gpus() {
    static const std::vector<GpuSpec> table{
        {"h100-sxm", "H100 SXM5 80GB", "sm_90", 132, 128, 64, 67.0, 989.0, 1979.0, 3350.0, 50.0,
         "H100 datasheet (SXM column), H100 architecture whitepaper"},
        {"h100-pcie", "H100 PCIe 80GB", "sm_90", 114, 128, 64, 51.0, 756.0, 1513.0, 2000.0, 50.0,
         "H100 datasheet (PCIe column), H100 architecture whitepaper"},
        {"h200", "H200 SXM 141GB", "sm_90", 132, 128, 64, 67.0, 989.0, 1979.0, 4800.0, 50.0,
         "H200 datasheet, H100 architecture whitepaper"},
        {"a100", "A100 SXM4 80GB", "sm_80", 108, 64, 32, 19.5, 312.0, 624.0, 2039.0, 40.0,
         "A100 datasheet (80GB SXM column), A100 architecture whitepaper"},
    };
    return table;
}

double GpuSpec::clock_ghz() const { return fp32_tflops * 1e3 / (double(sms) * fp32_lanes_per_sm * 2.0); }
double GpuSpec::issue_per_s() const { return 4.0 * sms * clock_ghz() * 1e9; }

const GpuSpec* find_gpu(const std::string& key) {
    for (const GpuSpec& g : gpus())
        if (key == g.key) return &g;
    return nullptr;
}

const GpuSpec* gpu_for_device_name(const std::string& device_name) {
    auto has = [&](const char* s) { return device_name.find(s) != std::string::npos; };
    if (has("H200")) return find_gpu("h200");
    if (has("H100")) return find_gpu(has("PCIe") ? "h100-pcie" : "h100-sxm");
    if (has("A100")) return find_gpu("a100");
    return nullptr;
}

const char* mode_name(Mode m) {
    switch (m) {
        case Mode::Fp32: return "fp32";
        case Mode::Tf32: return "TF32";
        case Mode::Bf16: return "BF16";
    }
    return "?";
}

double math_peak_tflops(const GpuSpec& gpu, Mode m) {
    switch (m) {
        case Mode::Fp32: return gpu.fp32_tflops;
        case Mode::Tf32: return gpu.tf32_tflops();
        case Mode::Bf16: return gpu.bf16_tflops();
    }
    return gpu.fp32_tflops;
}

// ---------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------

double wave_efficiency(int64_t blocks, int sms) { return ganops::cuda::mma::mma_wave_efficiency(blocks, sms); }

KernelTime predict(const KernelCost& k, const GpuSpec& gpu, const ModelParams& params) {
    KernelTime t;
    const double wave = wave_efficiency(k.blocks, gpu.sms);
    const double sm_cycles_per_s = 4.0 * gpu.sms * gpu.clock_ghz() * 1e9;  // scheduler-cycles
    if (k.flops > 0) {
        const double peak = k.math_tflops > 0 ? k.math_tflops : gpu.fp32_tflops;
        t.fp32_us = k.flops / (peak * 1e12 * k.flop_efficiency * wave) * 1e6;
    }
    if (k.warp_instructions > 0)
        t.issue_us = k.warp_instructions / (gpu.issue_per_s() * k.issue_utilisation * wave) * 1e6;
    if (k.fp64_warp_instructions > 0) {
        // A warp's fp64 instruction occupies a scheduler's fp64 units 32 / (units per scheduler) cycles.
        const double cycles = 32.0 / (gpu.fp64_lanes_per_sm / 4.0);
        t.fp64_us = k.fp64_warp_instructions * cycles / (sm_cycles_per_s * wave) * 1e6;
    }
    if (k.dram_bytes > 0) t.dram_us = k.dram_bytes / (gpu.dram_gbs * 1e9 * k.dram_efficiency) * 1e6;
    t.launch_us = params.cuda_graph ? params.graph_node_us : params.launch_us;
    struct Term {
        double us;
        const char* name;
    };
    const Term terms[] = {{t.issue_us, "issue"}, {t.fp32_us, k.math_tflops > 0 ? "tensor" : "fp32"}, {t.fp64_us, "fp64"},
                          {t.dram_us, "dram"}};
    Term worst{0, "launch"};
    for (const Term& term : terms)
        if (term.us > worst.us) worst = term;
    t.total_us = worst.us + t.launch_us;
    t.bound = worst.us >= t.launch_us ? worst.name : "launch";
    return t;
}

double floor_us(const KernelCost& k, const GpuSpec& gpu, Mode m) {
    double flop_us = 0;
    if (k.useful_flops > 0) {
        const double peak = k.tensor_core ? math_peak_tflops(gpu, m) : gpu.fp32_tflops;
        flop_us = k.useful_flops / (peak * 1e12) * 1e6;
    }
    const double act_scale = m == Mode::Bf16 ? 0.5 : 1.0;
    const double bytes = k.floor_act_bytes * act_scale + k.floor_fp32_bytes;
    const double byte_us = bytes / (gpu.dram_gbs * 1e9) * 1e6;
    return std::max(flop_us, byte_us);
}

// ---------------------------------------------------------------------------------------
// Kernel costs
// ---------------------------------------------------------------------------------------

namespace {

constexpr double kF = 4.0;  // bytes per float
constexpr int kThreads = 256;  // every kernel's block (kernels/cuda/launch.cuh)

// kernels/cuda/launch.cuh's grid_for: enough blocks of 256 threads, at most 8192.
int64_t grid_for(int64_t n, int64_t per_thread = 1) {
    const int64_t threads = (n + per_thread - 1) / per_thread;
    return std::clamp<int64_t>((threads + kThreads - 1) / kThreads, 1, 8192);
}

// The implicit GEMM's main loop, per 16-deep k step and thread (= per warp), from
// benchmarks/results/2026-12-01-sass-report.md ("main loop" tables): all instructions
// and the FP32 ones (FMUL+FADD: strict fp32 rounds the product and the sum separately,
// so there is no FFMA). Static counts: each instruction of a nested loop once.
struct GemmLoop {
    double instructions, fp32;
};
GemmLoop gemm_loop(ConvPass pass, const GpuSpec& gpu) {
    const bool hopper = std::strcmp(gpu.arch, "sm_90") == 0;
    switch (pass) {
        case ConvPass::Forward: return {hopper ? 1620.0 : 1555.0, 512};
        case ConvPass::BackwardInput: return {hopper ? 2414.0 : 2367.0, 512};
        case ConvPass::BackwardWeight: return {hopper ? 1998.0 : 1953.0, 512};
    }
    return {1, 1};
}

// Issue utilisation assumed for the GEMM main loop: 24 warps per SM (37.5% occupancy, 80
// registers), two barriers per k step and global loads that are not prefetched, so a
// scheduler finds no ready warp some of the time. To be calibrated on a GPU.
constexpr double kGemmIssueUtilisation = 0.8;
// FMUL+FADD: one FLOP per FP32 instruction where the FMA peak counts two.
constexpr double kFmulFaddEfficiency = 0.5;

// The reduce_splits_kernel, per output element: the outer loop's body (111 instructions
// with its 64-bit index arithmetic) plus 68 per 16 partials added (sm_90 report).
constexpr double kReduceBase = 111, kReducePerSplit = 68.0 / 16.0;

struct GemmProblem {
    int64_t M, N, K;
    double a_bytes, b_bytes, c_bytes;
};

// The split-K reduction of a GEMM's partial tiles (no floor of its own: part of the GEMM op).
KernelCost reduce_splits(const std::string& op, const GemmProblem& p, int64_t splits, double l2_fits) {
    KernelCost reduce;
    reduce.op = op;
    reduce.kernel = "reduce_splits_kernel";
    const double outputs = double(p.M) * double(p.N), partial_bytes = kF * double(splits) * outputs;
    reduce.warp_instructions = outputs * (kReduceBase + kReducePerSplit * double(splits)) / 32.0;
    reduce.dram_bytes = (partial_bytes <= l2_fits ? 0.0 : partial_bytes) + p.c_bytes;
    reduce.blocks = grid_for(p.M * p.N);
    return reduce;
}

// The tensor-core loop's split-K reduction (implicit_gemm_mma.cuh, reduce_batch_splits_kernel),
// per output element: the path through the loop body for a few splits (sm_90 SASS of
// reduce_batch_splits_kernel<BackwardInputPhaseNhwc, 4>: 11 to load the first partial, ~6 per
// further split in the remainder code, 47 for the phase's store: its two divisions by
// multiply-high and the 64-bit address), and 71 per 16 further partials in the unrolled loop
// (benchmarks/results/2026-12-02-phases-batched.md). Each problem of the batch reduces its
// own splits; a problem without a split (an odd phase) is copied through once.
constexpr double kBatchReduceBase = 64, kBatchReducePerSplit = 71.0 / 16;

KernelCost reduce_batch_splits(const std::string& op, const GemmProblem* problems, const ganops::cuda::mma::BatchPlan& b,
                               double l2_fits) {
    KernelCost reduce;
    reduce.op = op;
    reduce.kernel = "reduce_batch_splits_kernel";
    double instructions = 0, partial_bytes = 0, c_bytes = 0;
    int64_t m_max = 0, n_max = 0;
    for (int i = 0; i < b.count; ++i) {
        const GemmProblem& p = problems[i];
        const double outputs = double(p.M) * double(p.N);
        instructions += outputs * (kBatchReduceBase + kBatchReducePerSplit * double(b.plans[i].splits - 1));
        partial_bytes += kF * double(b.plans[i].splits) * outputs;
        c_bytes += p.c_bytes;
        m_max = std::max(m_max, p.M);
        n_max = std::max(n_max, p.N);
    }
    reduce.warp_instructions = instructions / 32.0;
    reduce.dram_bytes = (partial_bytes <= l2_fits ? 0.0 : partial_bytes) + c_bytes;
    reduce.blocks = std::min<int64_t>((m_max + 255) / 256, 1024) * std::min<int64_t>(n_max, 65535) * b.count;
    return reduce;
}

// The channels-last tensor-core loops (kernels/cuda/implicit_gemm_mma.cuh): warp instructions
// per stage of the main loop and warp, from the sm_90 SASS (nvcc 13;
// benchmarks/results/2026-12-02-mma-loop.md, 2026-12-02-mma-loop-2.md). The cp.async pipeline: per 32-deep stage
// (kAsyncBK), by mode (TF32, BF16), pass (forward, grad-input phase, grad-weight) and tile
// (Wide, Square, Narrow, Large): 32 HMMA per stage and warp on Wide and Square, 16 on Narrow, 64
// on Large (BF16 half as many, each k16). TF32 and BF16 rows from the SASS of the loop with the
// per-operand rounding branches (2026-12-02-tf32-rounded-operands.md): the TF32 rows count
// both rounding passes and their branches, each instruction once. Grad-weight runs it where C and K_out are multiples of
// 4 (chunks along m and n), else the register-staged loop, per 16-deep stage (kMmaBK), TF32,
// Wide / Square / Narrow, BF16 as its Wide ratio. The weight transposition: instructions per element.
// Grad-input's rows are the batched phases' kernel (mma_gemm_async_kernel<..., BackwardInputPhaseNhwc, 4>,
// 2026-12-02-phases-batched.md; each block runs its phase's copy of the loop with the problem at
// fixed parameter offsets, with_block_problem, so it costs what one phase alone costs).
// Forward and grad-input rows recounted 2026-12-02 (benchmarks/results/2026-12-02-mma-loop-3.md:
// the 32-bit k_left moved their register allocation); grad-weight's (its k-major cursors, the
// loop tiles take where the pixel runs do not apply) recounted with kNhwcAsyncRuns below.
constexpr double kNhwcAsync[2][3][4] = {{{400, 448, 631, 488}, {477, 595, 704, 635}, {446, 467, 661, 537}},
                                        {{323, 344, 490, 384}, {388, 472, 567, 533}, {344, 352, 494, 419}}};
// The paired loop (ChunkLoader::issue_paired: one cursor step per stage), which forward and
// grad-input run where the k-contiguous channel count (C, K_out) is a multiple of kAsyncBK and
// every split starts at a multiple of it (benchmarks/results/2026-12-02-mma-loop-2.md): by mode,
// pass (forward, grad-input phase) and tile, as kNhwcAsync; kNhwcAsync is the other loop.
// Recounted after the chunk copies kept rows and filter tap apart (TapRowLoader,
// benchmarks/results/2026-12-02-mma-loop-3.md), sm_90, nvcc 13: compile_cubin.py on a file that
// instantiates mma_gemm_async_kernel<tile, mode, ForwardNhwc, 1> and <..., BackwardInputPhaseNhwc, 4>,
// then the depth-2 HMMA loops of tools/sass_report/loops.py (find_loops; the paired loop is the
// one that is not the main loop).
constexpr double kNhwcAsyncPaired[2][2][4] = {{{228, 260, 294, 301}, {244, 273, 308, 313}},
                                              {{152, 157, 159, 199}, {166, 169, 171, 212}}};
// Grad-weight's pixel-run loop (PixelRunLoader: one row quad and one pixel state per thread,
// stepped once per stage), which runs where each thread's run of pixels lies in one output row
// (Q a multiple of the run: 4 on Wide, Square and Large, 8 on Narrow) and every split starts
// at a multiple of kAsyncBK; kNhwcAsync's grad-weight row is the other loop (ChunkLoader's
// k-major cursors). By mode (TF32, BF16) and tile, sm_90, nvcc 13: compile_cubin.py on a file
// that instantiates mma_gemm_async_kernel<tile, mode, BackwardWeightNhwc, 1>, the depth-2 HMMA
// loop that is not the cursors' (benchmarks/results/2026-12-02-weight-runs.md). Its rounding
// passes skip what kTf32RoundPass's grad-weight row says except on Narrow, whose B run is one
// chunk: kTf32RoundPassRuns.
constexpr double kNhwcAsyncRuns[2][4] = {{293, 313, 327, 389}, {204, 209, 199, 278}};
constexpr double kTf32RoundPassRuns[4][2] = {{62, 34}, {57, 57}, {119, 21}, {57, 57}};
// The TF32 cp.async loop's rounding pass (ChunkLoader::round_tf32), per operand: the warp
// instructions per stage and warp that an operand arriving as TF32 values skips (mma_plan.h's
// OperandsTf32; the uniform branch around each pass stays in the tables above), by pass
// (forward, grad-input phase, grad-weight), tile (Wide, Square, Narrow, Large) and operand
// (A, B): the instructions the SASS branch jumps over (sm_90, nvcc 13;
// benchmarks/results/2026-12-02-tf32-rounded-operands.md). The paired and per-half loops round
// alike (the same chunks per thread).
constexpr double kTf32RoundPass[3][4][2] = {{{59, 30}, {57, 57}, {117, 30}, {57, 57}},
                                            {{59, 30}, {57, 57}, {117, 30}, {57, 57}},
                                            {{63, 32}, {57, 57}, {129, 36}, {57, 57}}};
constexpr double kNhwcStagedWeightTf32[3] = {687, 802, 1274};
constexpr double kNhwcStagedWeightBf16OverTf32 = 697.0 / 687;
constexpr double kTransposeInstructions = 174.0 / 4;

GemmProblem gemm_problem(ConvPass pass, const ConvShape& s) {
    const double x = kF * s.n * s.c * s.h * s.w, w = kF * s.k * s.c * s.r * s.s, y = kF * s.n * s.k * s.p * s.q;
    switch (pass) {
        case ConvPass::Forward: return {s.n * s.p * s.q, s.k, s.c * s.r * s.s, x, w, y};
        case ConvPass::BackwardInput: return {s.n * s.h * s.w, s.c, s.k * s.r * s.s, y, w, x};
        case ConvPass::BackwardWeight: return {s.c * s.r * s.s, s.k, s.n * s.p * s.q, x, y, w};
    }
    return {};
}

}  // namespace

const char* conv_pass_kernel(ConvPass pass) {
    switch (pass) {
        case ConvPass::Forward: return "gemm_kernel<conv::Forward>";
        case ConvPass::BackwardInput: return "gemm_kernel<conv::BackwardInput>";
        case ConvPass::BackwardWeight: return "gemm_kernel<conv::BackwardWeight>";
    }
    return "?";
}

namespace {

// The GEMMs a pass runs (kernels/cuda/conv_problems.h): one, except grad-input (also every
// transposed convolution's forward), which runs a one-pixel output as one product per
// pixel and a strided one in stride x stride dense phases, each its own launch. Bytes per
// phase: dy whole (its rows together read all of it), the taps' share of w, its share of dx.
std::vector<GemmProblem> gemm_problems(ConvPass pass, const ConvShape& s) {
    const GemmProblem whole = gemm_problem(pass, s);
    if (pass != ConvPass::BackwardInput) return {whole};
    if (s.p == 1 && s.q == 1) return {{s.c * s.h * s.w, s.n, s.k, whole.b_bytes, whole.a_bytes, whole.c_bytes}};
    std::vector<GemmProblem> phases;
    namespace conv = ganops::cuda::conv;
    for (int64_t rh = 0; rh < s.stride; ++rh)
        for (int64_t rw = 0; rw < s.stride; ++rw) {
            const conv::Phase1D rows = conv::phase_1d(int(s.h), int(s.r), int(s.stride), int(s.pad), 1, int(rh));
            const conv::Phase1D cols = conv::phase_1d(int(s.w), int(s.s), int(s.stride), int(s.pad), 1, int(rw));
            const int64_t M = s.n * rows.count * cols.count, taps = int64_t(rows.taps) * cols.taps;
            if (M == 0 || s.c == 0) continue;  // gemm::run launches nothing
            phases.push_back({M, s.c, s.k * taps, whole.a_bytes, kF * s.k * s.c * taps, kF * M * s.c});
        }
    return phases;
}

}  // namespace

std::vector<KernelCost> conv_pass(ConvPass pass, const ConvShape& shape, const GpuSpec& gpu, const std::string& op,
                                  const ModelParams& params, RoundedOperands rounded) {
    if (params.nhwc_tensor_cores) return conv_pass_nhwc(pass, shape, gpu, op, params.nhwc_mode, params, false, true, rounded);
    namespace g = ganops::cuda::gemm;
    const GemmProblem whole = gemm_problem(pass, shape);
    std::vector<KernelCost> out;
    for (const GemmProblem& p : gemm_problems(pass, shape)) {
        const bool first = out.empty();  // carries the pass's useful work and floor
        const g::Plan plan = g::plan(p.M, p.N, p.K);
        // k steps over all splits: split z covers [z * k_chunk, min(K, (z + 1) * k_chunk)).
        int64_t ksteps = 0;
        for (int64_t z = 0; z < plan.splits; ++z) {
            const int64_t len = std::min(p.K, (z + 1) * plan.k_chunk) - z * plan.k_chunk;
            ksteps += (len + g::BK - 1) / g::BK;
        }
        const int64_t tiles = plan.tiles_m * plan.tiles_n;
        const double block_steps = double(tiles) * double(ksteps);
        const GemmLoop loop = gemm_loop(pass, gpu);
        const double warps = double(g::BM / g::TM) * (g::BN / g::TN) / 32.0;  // 8

        const double fits = gpu.l2_mb * 1e6 * params.l2_fraction;
        const double a_dram = p.a_bytes * (p.a_bytes <= fits ? 1.0 : double(plan.tiles_n));
        const double b_dram = p.b_bytes * (p.b_bytes <= fits ? 1.0 : double(plan.tiles_m));
        const double partial_bytes = kF * double(plan.splits) * double(p.M) * double(p.N);

        KernelCost gemm;
        gemm.op = op;
        gemm.kernel = conv_pass_kernel(pass);
        gemm.flops = 2.0 * g::BM * g::BN * g::BK * block_steps;
        gemm.warp_instructions = block_steps * warps * loop.instructions;
        gemm.flop_efficiency = kFmulFaddEfficiency;
        gemm.issue_utilisation = kGemmIssueUtilisation;
        gemm.dram_bytes = a_dram + b_dram + (plan.splits > 1 ? partial_bytes : p.c_bytes);
        gemm.blocks = tiles * plan.splits;
        gemm.useful_flops = first ? shape.useful_flops() : 0.0;
        gemm.tensor_core = true;
        gemm.floor_act_bytes = first ? whole.a_bytes + whole.b_bytes + whole.c_bytes : 0.0;
        out.push_back(gemm);
        if (plan.splits > 1) out.push_back(reduce_splits(op, p, plan.splits, fits));
    }
    return out;
}

namespace {

// Warp instructions per stage of a channels-last tensor-core loop (the tables above).
// paired: forward and grad-input's paired loop, or grad-weight's pixel runs.
double nhwc_loop_instructions(ConvPass pass, Mode mode, ganops::cuda::mma::TileConfig tile, bool async, bool paired) {
    const int p = int(pass), t = int(tile);
    if (async && paired && pass == ConvPass::BackwardWeight) return kNhwcAsyncRuns[mode == Mode::Bf16 ? 1 : 0][t];
    if (async && paired) return kNhwcAsyncPaired[mode == Mode::Bf16 ? 1 : 0][p][t];
    if (async) return kNhwcAsync[mode == Mode::Bf16 ? 1 : 0][p][t];
    return kNhwcStagedWeightTf32[t] * (mode == Mode::Bf16 ? kNhwcStagedWeightBf16OverTf32 : 1.0);
}

}  // namespace

namespace {

// The thin paths (kernels/cuda/conv_nhwc_thin.h), from the sm_90 SASS of conv_nhwc_thin.cu
// (benchmarks/results/2026-12-02-thin-layers.md): instructions per element and thread of
// each kernel's main loop, and per element of the strict-fp32 GEMV kernels per FFMA.
constexpr double kGemvForwardPerFma = 67.0 / 16, kGemvWeightPerFma = 88.0 / 16;
// The pixel product's register-staged loop (mma_gemm_kernel<PixelProductKrsc>, conv2d_nhwc.cu):
// instructions per stage in TF32 by tile (Wide, Square, Narrow), and BF16's on Wide.
constexpr double kPixelProductTf32[3] = {267, 342, 345}, kPixelProductBf16OverTf32 = 207.0 / 267;
constexpr double kGemvInputBase = 30, kGemvInputPerK = 24.0 / 4;
// pad_channels_kernel per float: the interior loop (124 instructions per 4, a load and a
// store each) and the border loop (190 per 4, stores of zeros).
constexpr double kPadInteriorPerElement = 124.0 / 4, kPadBorderPerElement = 190.0 / 4;

// Which thin path (or General) conv2d_nhwc.cu takes for this pass in a tensor-core mode.
ganops::cuda::conv::nhwc::NhwcPath nhwc_thin_path(ConvPass pass, const ConvShape& s) {
    namespace nh = ganops::cuda::conv::nhwc;
    ganops::ConvGeometry g;
    g.batch = s.n, g.in_channels = s.c, g.in_h = s.h, g.in_w = s.w;
    g.out_channels = s.k, g.out_h = s.p, g.out_w = s.q, g.kernel_h = s.r, g.kernel_w = s.s;
    g.opt = ganops::Conv2dOptions::square(int(s.stride), int(s.pad));
    const nh::NhwcPass p = pass == ConvPass::Forward         ? nh::NhwcPass::Forward
                           : pass == ConvPass::BackwardInput ? nh::NhwcPass::BackwardInput
                                                             : nh::NhwcPass::BackwardWeight;
    return nh::nhwc_path(p, ganops::cuda::conv::Dims(g), true);
}

// The whole-window GEMV kernels: SIMT fp32 (FFMA), each operand read once.
KernelCost gemv_pass(ConvPass pass, const ConvShape& s, const std::string& op) {
    const GemmProblem whole = gemm_problem(pass, s);
    const double length = double(s.c) * s.h * s.w, products = double(s.n) * s.k * length;
    KernelCost k;
    k.op = op;
    k.flops = 2 * products;
    k.dram_bytes = whole.a_bytes + whole.b_bytes + whole.c_bytes;
    k.useful_flops = s.useful_flops();
    k.floor_act_bytes = k.dram_bytes;
    if (pass == ConvPass::Forward) {
        k.kernel = "gemv_forward_kernel";
        k.warp_instructions = products * kGemvForwardPerFma / 32;
        k.blocks = std::min<int64_t>(s.n * s.k, 1 << 16);
    } else if (pass == ConvPass::BackwardInput) {
        k.kernel = "gemv_backward_input_kernel";
        k.warp_instructions = double(s.n) * length * (kGemvInputBase + kGemvInputPerK * double(s.k)) / 32;
        k.blocks = grid_for(int64_t(double(s.n) * length));
    } else {
        k.kernel = "gemv_backward_weight_kernel";
        k.warp_instructions = products * kGemvWeightPerFma / 32;
        k.blocks = std::min<int64_t>((s.k * int64_t(length) + 31) / 32, 1 << 16);
    }
    return k;
}

// The narrow grad-input (kernels/cuda/conv_nhwc_narrow.cu, NhwcPath::Narrow): a block per
// tile of dx (narrow_plan), one pixel per thread, SIMT FP32 over the taps that reach it, dy
// staged chunk by chunk in shared memory. Instructions per thread from the sm_90 SASS of
// narrow_conv_backward_input_kernel<C> (benchmarks/results/2026-12-02-narrow-grad-input.md):
// per 16 dy channels of a tap reached, the unrolled tap loop (4 + 16 LDS, 16 C FFMA and 11 of
// its own), by C = 1..4; per tap reached and chunk, its window address and the loop's entry
// and exit; per row or column test of a tap and chunk (a FastDivmod and the range checks);
// per staging step (one float4 of the dy window, or one tap's weights of one channel); per
// thread, the tile and pixel index split, zeroing and the store.
constexpr double kNarrowPer16k[4] = {43, 59, 75, 91};
constexpr double kNarrowPerTap = 20, kNarrowPerTest = 17, kNarrowPerThread = 80;
constexpr double kNarrowPerWindowStep = 30, kNarrowPerWeightStep = 25;

// The (input row, tap) pairs along one axis that meet a dy row: for each tap r, the output
// rows p whose input row h = p stride - pad + r lies in [0, in).
double taps_reached(int64_t out, int64_t in, int64_t kernel, int64_t stride, int64_t pad) {
    double pairs = 0;
    for (int64_t r = 0; r < kernel; ++r)
        for (int64_t p = 0; p < out; ++p) {
            const int64_t h = p * stride - pad + r;
            pairs += h >= 0 && h < in;
        }
    return pairs;
}

KernelCost narrow_grad_input(const ConvShape& s, const std::string& op) {
    namespace nh = ganops::cuda::conv::nhwc;
    ganops::ConvGeometry g;
    g.batch = s.n, g.in_channels = s.c, g.in_h = s.h, g.in_w = s.w;
    g.out_channels = s.k, g.out_h = s.p, g.out_w = s.q, g.kernel_h = s.r, g.kernel_w = s.s;
    g.opt = ganops::Conv2dOptions::square(int(s.stride), int(s.pad));
    const nh::NarrowPlan plan = nh::narrow_plan(ganops::cuda::conv::Dims(g));
    const GemmProblem whole = gemm_problem(ConvPass::BackwardInput, s);
    // (output pixel, tap) pairs that meet a dy pixel: every product the kernel makes is useful.
    const double row_pairs = taps_reached(s.p, s.h, s.r, s.stride, s.pad);
    const double pairs = double(s.n) * row_pairs * taps_reached(s.q, s.w, s.s, s.stride, s.pad);
    const double pixels = double(s.n) * s.h * s.w;
    const double chunks = double((s.k + plan.chunk - 1) / std::max(plan.chunk, 1));
    const int64_t tiles = s.n * ((s.h + plan.tile_h - 1) / plan.tile_h) * ((s.w + plan.tile_w - 1) / plan.tile_w);
    const int c = int(std::min<int64_t>(std::max<int64_t>(s.c, 1), 4));
    // Per thread: R row tests per chunk; each row reached, S column tests.
    const double tests = chunks * (pixels * double(s.r) + double(s.n) * row_pairs * double(s.w) * double(s.s));
    // Per block and chunk: the dy window in float4 steps, the weights a tap and channel per step
    // (kNarrowThreads threads: 256).
    const double threads = double(tiles) * nh::kNarrowThreads;
    const double window_steps = std::ceil(double(plan.window_rows) * plan.window_cols * (plan.chunk / 4) / nh::kNarrowThreads);
    const double weight_steps = std::ceil(double(s.r) * s.s * plan.chunk / nh::kNarrowThreads);
    KernelCost k;
    k.op = op;
    k.kernel = "narrow_conv_backward_input_kernel<" + std::to_string(c) + ">";
    k.flops = 2.0 * pairs * double(plan.chunk) * chunks * double(s.c);  // a partial last chunk multiplies zeros
    k.warp_instructions = (pairs * chunks * kNarrowPerTap + pairs * double(plan.chunk) * chunks / 16.0 * kNarrowPer16k[c - 1] +
                           tests * kNarrowPerTest +
                           threads * (chunks * (window_steps * kNarrowPerWindowStep + weight_steps * kNarrowPerWeightStep) +
                                      kNarrowPerThread)) /
                          32.0;
    // dy, the weights and dx once: neighbouring tiles' windows overlap by a few dy rows, which
    // blocks running side by side read from L2.
    k.dram_bytes = whole.a_bytes + whole.b_bytes + whole.c_bytes;
    k.blocks = tiles;
    k.useful_flops = s.useful_flops();
    k.floor_act_bytes = k.dram_bytes;
    // The op's ideal floor stays the tensor cores' (the floor is the op's, not this kernel's):
    // the kernel runs FP32 FMA in every mode, its time is the fp32 and issue terms above.
    k.tensor_core = true;
    return k;
}

// kernels/cuda/layout.cu's batched_transpose: `batch` matrices of rows x cols. Thin ones (rows
// or cols below 32) take thin_transpose_kernel, one thread per element: its sm_90 SASS loop is
// 71 instructions per 4 elements. The others go through 32 x 32 tiles in shared memory
// (batched_transpose_kernel), a block of 8 warps per tile: per warp and tile 384 instructions
// plus 2 calls of the 64-bit division subroutine (~70 each).
KernelCost batched_transpose(int64_t batch, int64_t rows, int64_t cols, const std::string& op) {
    const int64_t n = batch * rows * cols, tiles = batch * ((rows + 31) / 32) * ((cols + 31) / 32);
    const bool thin = (rows < 32 || cols < 32) && n < (int64_t{1} << 31);
    KernelCost k;
    k.op = op;
    k.kernel = thin ? "thin_transpose_kernel" : "batched_transpose_kernel";
    k.dram_bytes = 2 * kF * double(n);
    k.warp_instructions = thin ? double(n) * (71.0 / 4.0) / 32.0 : double(tiles) * 8.0 * (384.0 + 2.0 * 70.0);
    k.blocks = thin ? grid_for(n) : std::min<int64_t>(tiles, 8192);
    return k;  // a layout copy: no floor of its own
}

// pad_channels_kernel: `images` of h x w pixels and c channels into c_padded channels and a
// border of `pad`: reads the source once, writes the padded tensor once.
KernelCost pad_channels(double images, double h, double w, double c, double c_padded, double pad, const std::string& op) {
    const double interior = images * h * w * c_padded, padded = images * (h + 2 * pad) * (w + 2 * pad) * c_padded;
    KernelCost k;
    k.op = op;
    k.kernel = "pad_channels_kernel";
    k.dram_bytes = kF * (images * h * w * c + padded);
    k.warp_instructions = (interior * kPadInteriorPerElement + (padded - interior) * kPadBorderPerElement) / 32;
    k.blocks = grid_for(int64_t(padded));
    return k;
}

}  // namespace

std::vector<KernelCost> conv_pass_nhwc(ConvPass pass, const ConvShape& shape_in, const GpuSpec& gpu, const std::string& op,
                                       Mode mode, const ModelParams& params, bool register_staged, bool batched_phases,
                                       RoundedOperands rounded) {
    namespace mm = ganops::cuda::mma;
    using Path = ganops::cuda::conv::nhwc::NhwcPath;
    const GemmProblem whole = gemm_problem(pass, shape_in);  // the bytes do not depend on the layout
    const double fits = gpu.l2_mb * 1e6 * params.l2_fraction;
    const Path path = nhwc_thin_path(pass, shape_in);
    if (path == Path::Gemv) return {gemv_pass(pass, shape_in, op)};
    if (path == Path::Narrow) return {narrow_grad_input(shape_in, op)};
    std::vector<KernelCost> out;
    // PaddedChannels: the input (and for forward the weights) copied with C rounded up to 4 and
    // the zero border written out; the GEMM then runs on that shape (grad-weight's store
    // keeps the real channels).
    ConvShape shape = shape_in;
    if (path == Path::PaddedChannels) {
        shape.c = (shape_in.c + 3) / 4 * 4;
        shape.h = shape_in.h + 2 * shape_in.pad;
        shape.w = shape_in.w + 2 * shape_in.pad;
        shape.pad = 0;
        out.push_back(pad_channels(double(shape_in.n), double(shape_in.h), double(shape_in.w), double(shape_in.c), double(shape.c),
                                   double(shape_in.pad), op));
        if (pass == ConvPass::Forward)
            out.push_back(pad_channels(double(shape.k), double(shape.r), double(shape.s), double(shape_in.c), double(shape.c), 0, op));
    }
    if (pass == ConvPass::BackwardInput && path != Path::PixelProduct) {
        // conv2d_nhwc.cu transposes the weights KRSC -> CRSK first: read and write them once.
        KernelCost t;
        t.op = op;
        t.kernel = "krsc_to_crsk_kernel";
        const double n = double(shape.k) * double(shape.c) * double(shape.r) * double(shape.s);
        t.dram_bytes = 2 * kF * n;
        t.warp_instructions = n * kTransposeInstructions / 32.0;
        t.blocks = grid_for(int64_t(n));
        out.push_back(t);
    }
    bool carried = false;  // the first GEMM carries the pass's useful work and floor
    // conv2d_nhwc.cu: forward and grad-input on the cp.async pipeline (modelled so for every
    // layer), grad-weight there when its chunks along m and n exist (C, K_out multiples of 4).
    // The pixel product (G1's forward) runs the register-staged loop: its A is contiguous along m.
    // register_staged: a grad-weight whose operand takes the batchnorm prologue (conv2d_nhwc.cu).
    const bool async = !register_staged && path != Path::PixelProduct &&
                       (pass != ConvPass::BackwardWeight || (shape.c % 4 == 0 && shape.k % 4 == 0));
    const int64_t stage_k = async ? mm::kAsyncBK : mm::kMmaBK;
    // Grad-input's stride phases run as batches of up to kMmaMaxBatch, one launch each (and one
    // reduction where any splits K), planned together (conv2d_nhwc.cu, mma::run_batch); the
    // fused grad-input (batched_phases false) runs one launch per phase. Per batch: the
    // problems' block steps, bytes and partial sums added up.
    const std::vector<GemmProblem> problems = gemm_problems(pass, shape);
    const size_t per_launch =
        pass == ConvPass::BackwardInput && path != Path::PixelProduct && batched_phases ? size_t(mm::kMmaMaxBatch) : 1;
    for (size_t first = 0; first < problems.size(); first += per_launch) {
        const size_t count = std::min(per_launch, problems.size() - first);
        mm::GemmSize sizes[mm::kMmaMaxBatch];
        for (size_t i = 0; i < count; ++i) sizes[i] = {problems[first + i].M, problems[first + i].N, problems[first + i].K};
        const mm::BatchPlan batch = mm::mma_batch_plan(sizes, int(count), async);
        double block_steps = 0, a_dram = 0, b_dram = 0, partial_bytes = 0, c_bytes = 0;
        bool split = false;
        for (size_t i = 0; i < count; ++i) {
            const GemmProblem& p = problems[first + i];
            const mm::MmaPlan& plan = batch.plans[i];
            int64_t ksteps = 0;
            for (int64_t z = 0; z < plan.splits; ++z) {
                const int64_t len = std::min(p.K, (z + 1) * plan.k_chunk) - z * plan.k_chunk;
                ksteps += (len + stage_k - 1) / stage_k;
            }
            block_steps += double(plan.tiles_m * plan.tiles_n) * double(ksteps);
            a_dram += p.a_bytes * (p.a_bytes <= fits ? 1.0 : double(plan.tiles_n));
            b_dram += p.b_bytes * (p.b_bytes <= fits ? 1.0 : double(plan.tiles_m));
            partial_bytes += kF * double(plan.splits) * double(p.M) * double(p.N);
            c_bytes += p.c_bytes;
            split = split || plan.splits > 1;
        }
        // The phases all read dy whole (gemm_problems): a batch's blocks share it in L2.
        if (count > 1 && problems[first].a_bytes <= fits) a_dram = problems[first].a_bytes;
        const mm::MmaPlan& plan = batch.plans[0];
        const mm::TileShape tile = mm::tile_shape(batch.tile);

        // mma_tile_async's paired loop: every stage inside one filter tap (stages_pair() in
        // conv_nhwc_problems.h: C for forward, K_out for grad-input, a multiple of kAsyncBK) and
        // every split starting at a multiple of kAsyncBK.
        // Grad-weight's pixel runs (PixelRunLoader): each thread's run of pixels in one output row.
        const int64_t k_channels = pass == ConvPass::Forward ? shape.c : shape.k;
        const int64_t weight_run = batch.tile == mm::TileConfig::Narrow ? 8 : 4;
        const bool splits_aligned = plan.splits == 1 || plan.k_chunk % mm::kAsyncBK == 0;
        const bool paired = pass == ConvPass::BackwardWeight ? shape.q % weight_run == 0 && splits_aligned
                                                             : k_channels % mm::kAsyncBK == 0 && splits_aligned;
        const auto round_pass = [&](int operand) {
            return pass == ConvPass::BackwardWeight && paired ? kTf32RoundPassRuns[int(plan.tile)][operand]
                                                              : kTf32RoundPass[int(pass)][int(plan.tile)][operand];
        };
        KernelCost gemm;
        gemm.op = op;
        // Operands that arrive as TF32 values skip the TF32 loop's rounding pass: grad-input's B,
        // the CRSK weight copy krsc_to_crsk_kernel rounds (conv2d_nhwc.cu), and the activations
        // and gradients their producers rounded (`rounded`: the step's layers between them,
        // nn/tf32_between_layers.h; the padded copy of PaddedChannels is never flagged).
        const bool flags_read = mode == Mode::Tf32 && async && path != Path::PixelProduct;
        const bool a_tf32 = flags_read && rounded.a && path != Path::PaddedChannels;
        const bool b_tf32 = flags_read && (pass == ConvPass::BackwardInput || (rounded.b && path != Path::PaddedChannels));
        const double stage_instructions =
            path == Path::PixelProduct
                ? kPixelProductTf32[int(plan.tile)] * (mode == Mode::Bf16 ? kPixelProductBf16OverTf32 : 1.0)
                : nhwc_loop_instructions(pass, mode, plan.tile, async, paired) - (a_tf32 ? round_pass(0) : 0.0) -
                      (b_tf32 ? round_pass(1) : 0.0);
        gemm.kernel = path == Path::PixelProduct ? "mma_gemm_kernel<PixelProductKrsc>"
                      : pass == ConvPass::BackwardWeight
                          ? (async ? "mma_gemm_async_kernel<BackwardWeightNhwc>" : "mma_gemm_kernel<BackwardWeightNhwc>")
                      : pass == ConvPass::Forward ? "mma_gemm_async_kernel<ForwardNhwc>"
                                                  : "mma_gemm_async_kernel<BackwardInput*Nhwc>";
        gemm.flops = 2.0 * tile.bm * tile.bn * double(stage_k) * block_steps;
        gemm.math_tflops = math_peak_tflops(gpu, mode);
        gemm.warp_instructions = block_steps * (tile.threads() / 32.0) * stage_instructions;
        gemm.issue_utilisation = kGemmIssueUtilisation;
        gemm.dram_bytes = a_dram + b_dram + (split ? partial_bytes : c_bytes);
        gemm.blocks = batch.grid_m * batch.grid_n * batch.grid_z;
        gemm.useful_flops = carried ? 0.0 : shape_in.useful_flops();
        gemm.tensor_core = true;
        gemm.floor_act_bytes = carried ? 0.0 : whole.a_bytes + whole.b_bytes + whole.c_bytes;
        carried = true;
        out.push_back(gemm);
        if (split) out.push_back(reduce_batch_splits(op, &problems[first], batch, fits));
    }
    return out;
}

KernelCost elementwise(const ElementwiseKind& kind, int64_t n, int64_t blocks, const std::string& op) {
    KernelCost k;
    k.op = op;
    k.kernel = kind.kernel;
    k.dram_bytes = kind.bytes_per_element * double(n);
    k.warp_instructions = kind.instructions_per_element * double(n) / 32.0;
    k.fp64_warp_instructions = kind.fp64_per_element * double(n) / 32.0;
    k.blocks = blocks;
    k.floor_act_bytes = k.dram_bytes;
    return k;
}

// ---------------------------------------------------------------------------------------
// What each op launches (kernels/cuda/*.cu, kernels/*.cpp), per element
// ---------------------------------------------------------------------------------------
//
// Bytes: what the kernel reads and writes once (4 per float). Instructions per element:
// the kernel's one-element grid-stride loop in the sm_90 SASS report (its 4-way unrolled
// loop is within 10%); fp64: the double-precision instructions among them.
namespace {

const ElementwiseKind kFill{"fill_kernel<float>", 4, 12, 0};
const ElementwiseKind kUniform{"uniform_kernel<float>", 4, 180.0 / 4, 0};  // 4 values per Philox block
const ElementwiseKind kNormal{"normal_kernel<float>", 4, 629.0 / 4, 238.0 / 4};
const ElementwiseKind kReluForward{"forward_kernel (ReLU)", 8, 18, 0};
const ElementwiseKind kLeakyForward{"forward_kernel (LeakyReLU)", 8, 18, 0};
const ElementwiseKind kTanhForward{"forward_kernel (tanh)", 8, 58, 0};
const ElementwiseKind kSigmoidForward{"forward_kernel (sigmoid)", 8, 58, 0};
const ElementwiseKind kReluBackward{"backward_kernel (ReLU)", 12, 23, 0};
const ElementwiseKind kLeakyBackward{"backward_kernel (LeakyReLU)", 12, 23, 0};
const ElementwiseKind kTanhBackward{"backward_kernel (tanh)", 12, 23, 0};
const ElementwiseKind kSigmoidBackward{"backward_kernel (sigmoid)", 12, 23, 0};
// batchnorm2d.cu: statistics (read x), normalise (read x, write y); backward: sums (read dy
// and x), dx (read dy and x, write dx). Welford and the sums run in double.
const ElementwiseKind kBnMoments{"moments_kernel", 4, 98, 13};
const ElementwiseKind kBnAffine{"affine_kernel", 8, 84, 0};
const ElementwiseKind kBnGradSums{"grad_sums_kernel", 8, 72, 3};
const ElementwiseKind kBnDx{"dx_kernel", 12, 92, 0};
// batchnorm2d_activation.cu (batchnorm + relu / leaky_relu fused, what Sequential runs in
// training): statistics (read x), normalise-and-activate (read x, write y); backward: sums (read
// dy, x, y), dx (read dy, x, y, write dx). 16-byte vectors on the DCGAN's shapes (hw and C are
// multiples of 4); per element, from the sm_90 SASS main loops (sass_report's "every loop":
// one vector per iteration in the planes sums and dx, two in the apply pass, four rows of a
// vector per float partial in the rows sums): planes (NCHW) and rows (NHWC).
const ElementwiseKind kBnActStatistics{"bn_act_statistics", 4, 44.0 / 4, 2.0 / 4};
const ElementwiseKind kBnActStatisticsRows{"bn_act_statistics_rows", 4, 149.0 / 16, 8.0 / 16};
const ElementwiseKind kBnActApply{"bn_act_apply4", 8, 100.0 / 8, 0};
// batchnorm_nhwc_fused.cu's apply pass, which the fused narrow grad-input runs before its kernel
// (conv2d_nhwc.cu): modelled as bn_act_apply4 per element (not counted from its own SASS).
const ElementwiseKind kNhwcNormActApply{"apply_kernel (batchnorm + activation, NHWC)", 8, 100.0 / 8, 0};
const ElementwiseKind kBnActGradSums{"bn_act_grad_sums", 12, 65.0 / 4, 2.0 / 4};
const ElementwiseKind kBnActGradSumsRows{"bn_act_grad_sums_rows", 12, 235.0 / 16, 8.0 / 16};
const ElementwiseKind kBnActDx{"bn_act_dx4", 16, 110.0 / 4, 0};
// The conv-batchnorm fusion (kernels/cuda/batchnorm_nhwc_fused.cu), by count of the source
// (not yet in the SASS report): the statistics of a split-K output from memory (two passes
// over 32 rows, the second from cache), and the backward's activation mask from x.
const ElementwiseKind kMomentsFromRows{"moments_from_rows_kernel", 4, 16, 0};
const ElementwiseKind kActivationMask{"activation_mask_kernel", 12, 30, 0};
const ElementwiseKind kBcePartial{"partial_terms_kernel<BceTerm>", 8, 254, 89};
const ElementwiseKind kBceBackward{"bce_backward_kernel", 12, 56, 12};
const ElementwiseKind kAdd{"binary_kernel (add)", 12, 19, 0};
// Adam reads param, grad, exp_avg, exp_avg_sq and writes three of them; its loop does two
// elements in 213 instructions, 66 of them fp64.
// The training monitor: one block reads D's outputs (or a loss) and adds a mean in double.
const ElementwiseKind kMonitor{"monitor_add_mean_kernel", 4, 20, 2};
const ElementwiseKind kMonitorNext{"monitor_next_iteration_kernel", 8, 8, 0};
const ElementwiseKind kAdam{"adam_kernel", 28, 213.0 / 2, 66.0 / 2};

// batchnorm2d.cu's splits_for: blocks per channel so that channels * splits fill the GPU.
int64_t bn_splits(int64_t per_channel, int64_t channels) {
    const int64_t by_work = (per_channel + 4 * kThreads - 1) / (4 * kThreads);
    const int64_t by_fill = (1024 + channels - 1) / channels;
    return std::max<int64_t>(1, std::min<int64_t>(std::min(by_work, by_fill), 256));
}

// A one-thread-per-channel kernel merging `splits` double partials of `doubles` each.
KernelCost per_channel_finish(const char* kernel, int64_t channels, int64_t splits, int doubles, int outputs,
                              const std::string& op) {
    KernelCost k;
    k.op = op;
    k.kernel = kernel;
    k.dram_bytes = double(channels) * (8.0 * doubles * double(splits) + 4.0 * outputs);
    k.warp_instructions = double(channels) * (40.0 + 66.0 * double(splits)) / 32.0;
    k.fp64_warp_instructions = double(channels) * 23.0 * double(splits) / 32.0;
    k.blocks = (channels + kThreads - 1) / kThreads;
    return k;  // helper: no floor of its own
}

// batchnorm2d_activation.cu's finishing kernels: blocks of 8 channels x 32 lanes, each lane adding
// every 32nd of the `splits` partials (16 bytes each), then one lane per channel the 32 totals
// (sm_90 SASS: about 6.5 instructions and 2 fp64 per partial, 100 and 64 per channel after).
KernelCost bn_act_finish(const char* kernel, int64_t channels, int64_t splits, int outputs, const std::string& op) {
    KernelCost k;
    k.op = op;
    k.kernel = kernel;
    const double partials = double(channels) * double(splits);
    k.dram_bytes = 16.0 * partials + 4.0 * outputs * double(channels);
    k.warp_instructions = (6.5 * partials + 100.0 * double(channels)) / 32.0;
    k.fp64_warp_instructions = (2.0 * partials + 64.0 * double(channels)) / 32.0;
    k.blocks = (channels + 7) / 8;
    return k;  // helper: no floor of its own
}

struct Net {
    struct Layer {
        std::string name;
        bool transposed;
        ConvShape shape;  // conv2d's terms
        bool batchnorm;
        int64_t bn_channels, bn_hw;  // the layer's output
        enum { ReLU, Leaky, Tanh, Sigmoid } act;
        int64_t out_elements;
    };
    std::vector<Layer> layers;
    int64_t params = 0;
    std::vector<int64_t> param_sizes;
    // D in the step: its features (up to the last activation) are an output, so the last
    // batchnorm is not fused into the head (examples/dcgan_bedroom/step.cpp).
    bool features_output = false;
};

// "G1", "D3", ... (snprintf: GCC 12 warns falsely about "literal" + std::string here).
std::string layer_name(char net, int index) {
    char name[16];
    std::snprintf(name, sizeof name, "%c%d", net, index);
    return name;
}

int doublings(int64_t image) {
    int n = 0;
    for (int64_t s = 4; s < image; s *= 2) ++n;
    return n;
}

// nn/dcgan.cpp's generator: ConvT 4x4 (stride 1 from 1x1, then stride 2 pad 1), BN + ReLU,
// tanh at the end; no biases.
Net generator(const DcganShape& d) {
    Net net;
    const int n = doublings(d.image);
    int64_t width = d.ngf << (n - 1), hw = 4, in = d.nz, in_hw = 1;
    for (int i = 0; i <= n; ++i) {
        const bool last = i == n;
        const int64_t out = last ? d.nc : width;
        const int64_t stride = i == 0 ? 1 : 2, pad = i == 0 ? 0 : 1;
        Net::Layer l;
        l.name = layer_name('G', i + 1);
        l.transposed = true;
        l.shape = {d.batch, out, hw, hw, in, in_hw, in_hw, 4, 4, stride, pad};
        l.batchnorm = !last;
        l.bn_channels = out;
        l.bn_hw = hw * hw;
        l.act = last ? Net::Layer::Tanh : Net::Layer::ReLU;
        l.out_elements = d.batch * out * hw * hw;
        net.layers.push_back(l);
        net.param_sizes.push_back(in * out * 16);
        if (l.batchnorm) net.param_sizes.insert(net.param_sizes.end(), {out, out});
        in = out;
        in_hw = hw;
        if (!last) {
            hw *= 2;
            width /= 2;
        }
    }
    for (int64_t p : net.param_sizes) net.params += p;
    return net;
}

// nn/dcgan.cpp's discriminator: Conv 4x4 stride 2 pad 1, LeakyReLU(0.2) (BN from the second
// layer), then Conv 4x4 to 1x1 and sigmoid; no biases.
Net discriminator(const DcganShape& d) {
    Net net;
    const int n = doublings(d.image);
    int64_t width = d.ndf, hw = d.image, in = d.nc;
    for (int i = 0; i <= n; ++i) {
        const bool last = i == n;
        const int64_t out = last ? 1 : width;
        const int64_t out_hw = last ? 1 : hw / 2;
        Net::Layer l;
        l.name = layer_name('D', i + 1);
        l.transposed = false;
        l.shape = {d.batch, in, hw, hw, out, out_hw, out_hw, 4, 4, last ? 1 : 2, last ? 0 : 1};
        l.batchnorm = i > 0 && !last;
        l.bn_channels = out;
        l.bn_hw = out_hw * out_hw;
        l.act = last ? Net::Layer::Sigmoid : Net::Layer::Leaky;
        l.out_elements = d.batch * out * out_hw * out_hw;
        net.layers.push_back(l);
        net.param_sizes.push_back(in * out * 16);
        if (l.batchnorm) net.param_sizes.insert(net.param_sizes.end(), {out, out});
        in = out;
        hw = out_hw;
        width *= 2;
    }
    for (int64_t p : net.param_sizes) net.params += p;
    net.features_output = true;
    return net;
}

const ElementwiseKind& act_forward(const Net::Layer& l) {
    switch (l.act) {
        case Net::Layer::ReLU: return kReluForward;
        case Net::Layer::Leaky: return kLeakyForward;
        case Net::Layer::Tanh: return kTanhForward;
        case Net::Layer::Sigmoid: return kSigmoidForward;
    }
    return kReluForward;
}
const ElementwiseKind& act_backward(const Net::Layer& l) {
    switch (l.act) {
        case Net::Layer::ReLU: return kReluBackward;
        case Net::Layer::Leaky: return kLeakyBackward;
        case Net::Layer::Tanh: return kTanhBackward;
        case Net::Layer::Sigmoid: return kSigmoidBackward;
    }
    return kReluBackward;
}

const char* act_name(const Net::Layer& l) {
    switch (l.act) {
        case Net::Layer::ReLU: return "relu";
        case Net::Layer::Leaky: return "leaky_relu";
        case Net::Layer::Tanh: return "tanh";
        case Net::Layer::Sigmoid: return "sigmoid";
    }
    return "?";
}

class IterationBuilder {
public:
    IterationBuilder(const DcganShape& d, const GpuSpec& gpu, const ModelParams& params)
        : d_(d), gpu_(gpu), params_(params), g_(generator(d)), dnet_(discriminator(d)) {}

    std::vector<Launch> build() {
        phase_ = "data";
        const int64_t images = d_.batch * d_.nc * d_.image * d_.image;
        add(elementwise(kUniform, images, grid_for(images, 4), "real batch (uniform)"));
        if (params_.cuda_graph) {
            KernelCost copy;
            copy.op = "batch into the graph's input";
            copy.kernel = "cudaMemcpyAsync (device to device)";
            copy.copy = true;
            copy.dram_bytes = 2 * kF * double(images);
            add(copy);
            KernelCost launch;  // the host's one launch of the iteration
            launch.op = "the iteration's graph";
            launch.kernel = "cudaGraphLaunch";
            launch.copy = true;
            add(launch);
        }

        // The step converts the real batch to channels-last once (step.cpp's boundary()).
        if (params_.nhwc_tensor_cores)
            add(batched_transpose(d_.batch, d_.nc, d_.image * d_.image, "real batch into channels-last"));

        phase_ = "D(real)";
        forward(dnet_);
        monitor("D(x) into the monitor");
        loss_and_backward_d(/*input_grad=*/false, /*first_grads=*/true);
        monitor("loss_D (real) into the monitor");

        phase_ = "G forward";
        add(elementwise(kNormal, d_.batch * d_.nz, grid_for(d_.batch * d_.nz, 4), "noise (normal)"));
        forward(g_);

        phase_ = "D(fake.detach)";
        forward(dnet_);
        monitor("D(G(z)) into the monitor");
        loss_and_backward_d(/*input_grad=*/false, /*first_grads=*/false);
        monitor("loss_D (fake) into the monitor");

        phase_ = "Adam D";
        adam(dnet_, "D Adam step");

        phase_ = "G step: D(fake)";
        forward(dnet_);
        monitor("D(G(z)) of the G step into the monitor");
        loss_and_backward_d(/*input_grad=*/true, /*first_grads=*/false, /*weight_grads=*/false);

        phase_ = "G step: G backward";
        backward(g_, /*input_grad=*/false, /*first_grads=*/true);
        monitor("loss_G into the monitor");

        phase_ = "Adam G";
        adam(g_, "G Adam step");
        add(elementwise(kMonitorNext, 5, 1, "monitor: next iteration"));
        if (params_.cuda_graph) add(elementwise(kMonitorNext, 1, 1, "graph: replay counter and Philox offsets"));
        return std::move(out_);
    }

private:
    void add(KernelCost k) { out_.push_back({phase_, std::move(k)}); }
    void monitor(const char* op) { add(elementwise(kMonitor, d_.batch, 1, op)); }
    void add_all(std::vector<KernelCost> ks) {
        for (KernelCost& k : ks) add(std::move(k));
    }

    // Channels-last passes read KRSC weights and write KRSC weight gradients, and the step
    // keeps its weight parameters channels-last, i.e. KRSC (step.cpp's constructor,
    // kernels/conv2d.cpp): no pass converts a weight or its gradient.
    void conv(ConvPass pass, const Net& net, size_t i, const char* what) {
        const Net::Layer& l = net.layers[i];
        const std::string op = l.name + " " + (l.transposed ? "conv_transpose2d " : "conv2d ") + what;
        const Tf32Activations t = tf32_activations(net, i);
        const RoundedOperands rounded = pass == ConvPass::Forward         ? RoundedOperands{t.x, false}
                                        : pass == ConvPass::BackwardInput ? RoundedOperands{t.dy, false}
                                                                          : RoundedOperands{t.x, t.dy};
        add_all(conv_pass(pass, l.shape, gpu_, op, params_, rounded));
    }

    // Whether every pass of shape s reading its x (forward, grad-weight) or its dy (grad-input,
    // grad-weight) rounds it to TF32: none on a SIMT path (conv2d_nhwc.cu's conv2d_nhwc_rounds_to_tf32).
    static bool passes_round(const ConvShape& s, bool x) {
        using Path = ganops::cuda::conv::nhwc::NhwcPath;
        auto rounds = [&](ConvPass p) {
            const Path path = nhwc_thin_path(p, s);
            return path != Path::Gemv && path != Path::Narrow;
        };
        return rounds(ConvPass::BackwardWeight) && rounds(x ? ConvPass::Forward : ConvPass::BackwardInput);
    }
    // Layer i's activation operands (conv2d's terms) that arrive as TF32 values in the TF32 step
    // (nn/tf32_between_layers.h): its input where the layer before ends in an unfused batchnorm +
    // activation or in the conv + activation kernel (they round their output), its output's
    // gradient where its own batchnorm + activation runs unfused (its backward rounds dx), each
    // where every pass reading it rounds it. D's features are an output: never its last input.
    struct Tf32Activations {
        bool x = false, dy = false;
    };
    Tf32Activations tf32_activations(const Net& net, size_t i) const {
        if (!params_.nhwc_tensor_cores || params_.nhwc_mode != Mode::Tf32) return {};
        const Net::Layer& l = net.layers[i];
        bool input = false;
        if (i > 0 && !(net.features_output && i + 1 == net.layers.size())) {
            const Net::Layer& prev = net.layers[i - 1];
            const bool rounds_output = (prev.batchnorm && fused(prev) && !fused_bn(net, i - 1)) || activation_in_store(prev);
            input = rounds_output && !fused_bn(net, i - 1) && passes_round(l.shape, !l.transposed);
        }
        const bool output_grad = l.batchnorm && fused(l) && !fused_bn(net, i) && passes_round(l.shape, l.transposed);
        // A conv's input is x; a transposed conv's input is conv2d's dy, its output's gradient x.
        return l.transposed ? Tf32Activations{output_grad, input} : Tf32Activations{input, output_grad};
    }

    // Whether layer i's batchnorm + activation is fused (into its conv's epilogue and the next
    // conv's prologue).
    bool fused_bn(const Net& net, size_t i) const {
        if (!params_.conv_bn_fusion || !params_.nhwc_tensor_cores || !net.layers[i].batchnorm) return false;
        return i + (net.features_output ? 2 : 1) < net.layers.size();
    }

    // The prologue's extra instructions on each GEMM of a pass (kernel names starting
    // "mma_gemm", in the order of gemm_problems): the cp.async loop transforms each A chunk it
    // copied in shared memory (~32 instructions per 4-element chunk: the channel's divmod,
    // three 16-byte parameter loads, LDS, 4 x (sub, fma, select), STS); the register-staged
    // grad-weight loop applies it per loaded element of the operand (~8: three L1 parameter
    // loads, sub, fma, select) on A (a conv's x) or B (a transposed conv's input).
    void add_prologue(std::vector<KernelCost>& costs, ConvPass pass, const Net::Layer& l, bool on_b) const {
        namespace mm = ganops::cuda::mma;
        size_t next = 0;
        for (const GemmProblem& p : gemm_problems(pass, l.shape)) {
            while (next < costs.size() && costs[next].kernel.rfind("mma_gemm", 0) != 0) ++next;
            if (next == costs.size()) return;
            // Forward and grad-input phases: the cp.async loop (its plan, 32-deep stages); the
            // fused grad-weight: the register-staged loop (16-deep stages).
            const bool async = pass != ConvPass::BackwardWeight;
            const mm::MmaPlan plan = async ? mm::mma_async_plan(p.M, p.N, p.K) : mm::mma_plan(p.M, p.N, p.K);
            const int64_t stage_k = async ? mm::kAsyncBK : mm::kMmaBK;
            const mm::TileShape tile = mm::tile_shape(plan.tile);
            double stages = 0;
            for (int64_t z = 0; z < plan.splits; ++z) {
                const int64_t len = std::min(p.K, (z + 1) * plan.k_chunk) - z * plan.k_chunk;
                stages += double((len + stage_k - 1) / stage_k);
            }
            const double block_stages = double(plan.tiles_m * plan.tiles_n) * stages;
            const double per_stage = async ? double(tile.bm) * double(stage_k / 4) * 32.0
                                           : double(on_b ? tile.bn : tile.bm) * double(stage_k) * 8.0;
            costs[next++].warp_instructions += block_stages * per_stage / 32.0;
        }
    }

    // The epilogue's statistics: each unsplit GEMM writes 12 bytes per (32 rows, channel).
    // Returns false where some GEMM of the pass splits K (then a pass over the output does it).
    bool add_epilogue(std::vector<KernelCost>& costs, ConvPass pass, const Net::Layer& l) const {
        namespace mm = ganops::cuda::mma;
        std::vector<GemmProblem> problems = gemm_problems(pass, l.shape);
        for (const GemmProblem& p : problems)
            if (mm::mma_async_plan(p.M, p.N, p.K).splits > 1) return false;  // the cp.async loop's plan
        if (pass == ConvPass::BackwardInput && l.shape.p == 1 && l.shape.q == 1) return false;  // the one-pixel product
        size_t next = 0;
        for (const GemmProblem& p : problems) {
            while (next < costs.size() && costs[next].kernel.rfind("mma_gemm", 0) != 0) ++next;
            if (next == costs.size()) break;
            const double groups = double((p.M + 31) / 32);
            costs[next].dram_bytes += 12.0 * groups * double(p.N);
            costs[next].warp_instructions += double(p.M) * double(p.N) * 6.0 / 32.0;  // two sums, a mean, 3 shuffles per 8 rows
            ++next;
        }
        return true;
    }

    // After a fused conv: its output's statistics merged (and from memory where not gathered).
    void fused_statistics(const Net::Layer& l, bool gathered) {
        const int64_t n = l.out_elements, groups = (n / l.bn_channels + 31) / 32;
        const std::string op = l.name + " batchnorm statistics (fused)";
        if (!gathered) add(elementwise(kMomentsFromRows, n, grid_for(groups * l.bn_channels), op));
        const int64_t chunks = (l.bn_channels + 31) / 32;
        const int64_t splits = std::clamp<int64_t>(std::min((groups + 127) / 128, (512 + chunks - 1) / chunks), 1, 256);
        KernelCost merge;
        merge.op = op;
        merge.kernel = "merge_tile_moments_kernel";
        merge.dram_bytes = 12.0 * double(groups) * double(l.bn_channels) + 24.0 * double(splits * l.bn_channels);
        merge.warp_instructions = double(groups) * double(l.bn_channels) * 40.0 / 32.0;
        merge.fp64_warp_instructions = double(groups) * double(l.bn_channels) * 20.0 / 32.0;
        merge.blocks = chunks * splits;
        add(merge);
        add(per_channel_finish("finish_kernel", l.bn_channels, splits, 3, 7, op));
    }

    void forward(const Net& net) {
        bool pending = false;  // the previous layer's batchnorm + activation is applied on load here
        for (size_t i = 0; i < net.layers.size(); ++i) {
            const Net::Layer& l = net.layers[i];
            const bool prologue = pending, epilogue = fused_bn(net, i);
            pending = epilogue;
            if (prologue || epilogue) {
                const ConvPass pass = l.transposed ? ConvPass::BackwardInput : ConvPass::Forward;
                const std::string op = l.name + (l.transposed ? " conv_transpose2d " : " conv2d ") + "forward (fused)";
                // conv2d_backward_input_nhwc_fused runs its phases one launch each.
                std::vector<KernelCost> costs = conv_pass_nhwc(pass, l.shape, gpu_, op, params_.nhwc_mode, params_,
                                                               /*register_staged=*/false, /*batched_phases=*/false);
                if (prologue) add_prologue(costs, pass, l, false);
                if (prologue && !costs.empty() && costs[0].kernel.rfind("narrow_conv", 0) == 0) {
                    // The narrow grad-input has no prologue: conv2d_nhwc.cu applies the
                    // batchnorm + activation to its input in a pass first.
                    const int64_t n = l.shape.n * l.shape.k * l.shape.p * l.shape.q;
                    costs.insert(costs.begin(), elementwise(kNhwcNormActApply, n, grid_for(n), op));
                }
                const bool gathered = epilogue && add_epilogue(costs, pass, l);
                add_all(std::move(costs));
                if (epilogue) {
                    fused_statistics(l, gathered);
                    continue;  // no affine, no activation pass: the next conv applies them
                }
            } else if (activation_in_store(l)) {
                const std::string op = l.name + " conv2d + " + act_name(l) + " forward";
                std::vector<KernelCost> costs = conv_pass(ConvPass::Forward, l.shape, gpu_, op, params_);
                for (KernelCost& k : costs)  // the store's compare and multiply, per output element
                    if (k.kernel == "mma_gemm_async_kernel<ForwardNhwc>") {
                        k.kernel = "mma_gemm_async_kernel<ForwardNhwcLeakyReLU>";
                        k.warp_instructions += 2.0 * double(l.out_elements) / 32.0;
                    }
                add_all(std::move(costs));
                continue;  // no activation pass
            } else {
                // A ConvTranspose2d runs conv2d's grad-input GEMM; a Conv2d the forward GEMM.
                conv(l.transposed ? ConvPass::BackwardInput : ConvPass::Forward, net, i, "forward");
            }
            if (l.batchnorm && fused(l)) {
                bn_act_forward(l);
                continue;
            }
            if (l.batchnorm) {
                const int64_t n = l.out_elements, per_channel = d_.batch * l.bn_hw;
                const int64_t splits = bn_splits(per_channel, l.bn_channels);
                const std::string op = l.name + " batchnorm forward";
                add(elementwise(kBnMoments, n, l.bn_channels * splits, op));
                add(per_channel_finish("finish_moments_kernel", l.bn_channels, splits, 3, 9, op));
                add(elementwise(kBnAffine, n, grid_for(n), op));
            }
            add(elementwise(act_forward(l), l.out_elements, grid_for(l.out_elements),
                            l.name + " " + act_name(l) + " forward"));
        }
    }

    // A Conv2d followed by ReLU or LeakyReLU (D1) runs as one channels-last kernel in the TF32 and
    // BF16 modes, the activation in the GEMM's store (nn/conv_activation.h); its backward is
    // the activation's then the conv's, as unfused.
    bool activation_in_store(const Net::Layer& l) const {
        return params_.nhwc_tensor_cores && !l.transposed && !l.batchnorm &&
               (l.act == Net::Layer::Leaky || l.act == Net::Layer::ReLU);
    }

    // Sequential (and the step's D) runs a BatchNorm2d followed by ReLU or LeakyReLU as one op
    // in training (nn/batchnorm2d.cpp): batchnorm2d_activation.cu.
    static bool fused(const Net::Layer& l) { return l.act == Net::Layer::ReLU || l.act == Net::Layer::Leaky; }

    // The kernels' plan (batchnorm_activation_plan.h): NCHW planes, or channels-last rows
    // when the step runs channels-last (the NHWC convolutions).
    ganops::cuda::BnActPlan bn_act_plan(const Net::Layer& l) const {
        return params_.nhwc_tensor_cores ? ganops::cuda::bn_act_plan(d_.batch * l.bn_hw, l.bn_channels, 1, true)
                                         : ganops::cuda::bn_act_plan(d_.batch, l.bn_channels, l.bn_hw, true);
    }

    void bn_act_forward(const Net::Layer& l) {
        const ganops::cuda::BnActPlan p = bn_act_plan(l);
        const int64_t n = l.out_elements;
        const std::string op = l.name + " batchnorm + " + act_name(l) + " forward";
        add(elementwise(p.rows ? kBnActStatisticsRows : kBnActStatistics, n, p.grid_x * p.splits, op));
        add(bn_act_finish("finish_statistics_kernel", l.bn_channels, p.splits, 7, op));
        add(elementwise(kBnActApply, n, grid_for(n, 4), op));
    }

    void bn_act_backward(const Net::Layer& l, bool weight_grads, bool first_grads) {
        const ganops::cuda::BnActPlan p = bn_act_plan(l);
        const int64_t n = l.out_elements;
        const std::string op = l.name + " batchnorm + " + act_name(l) + " backward";
        add(elementwise(p.rows ? kBnActGradSumsRows : kBnActGradSums, n, p.grid_x * p.splits, op));
        add(bn_act_finish("finish_gradients_kernel", l.bn_channels, p.splits, 5, op));
        add(elementwise(kBnActDx, n, grid_for(n, 4), op));
        if (weight_grads) {
            param_grad(l.bn_channels, first_grads, l.name + " batchnorm weight grad");
            param_grad(l.bn_channels, first_grads, l.name + " batchnorm bias grad");
        }
    }

    // A leaf's gradient: the first backward keeps the kernel's fresh output as .grad (no
    // copy: core/autograd.cpp's add_to_grad), later ones add.
    void param_grad(int64_t n, bool first, const std::string& op) {
        if (!first) {
            KernelCost k = elementwise(kAdd, n, grid_for(n), op);
            k.floor_fp32_bytes = k.floor_act_bytes;
            k.floor_act_bytes = 0;
            add(k);
        }
    }

    // weight_grads false: only gradients that flow on to the input (the G step through D).
    void backward(const Net& net, bool input_grad, bool first_grads, bool weight_grads = true) {
        for (size_t i = net.layers.size(); i-- > 0;) {
            const Net::Layer& l = net.layers[i];
            // Conv-fused: the activation's mask is recomputed from the batchnorm's input x, then
            // the batchnorm's own backward.
            const bool conv_fused = fused_bn(net, i);
            if (l.batchnorm && fused(l) && !conv_fused)
                bn_act_backward(l, weight_grads, first_grads);
            else
                add(elementwise(conv_fused ? kActivationMask : act_backward(l), l.out_elements, grid_for(l.out_elements),
                                l.name + " " + act_name(l) + " backward"));
            if (l.batchnorm && (conv_fused || !fused(l))) {
                const int64_t n = l.out_elements, per_channel = d_.batch * l.bn_hw;
                const int64_t splits = bn_splits(per_channel, l.bn_channels);
                const std::string op = l.name + " batchnorm backward";
                add(elementwise(kBnGradSums, n, l.bn_channels * splits, op));
                add(per_channel_finish("finish_grad_kernel", l.bn_channels, splits, 2, 5, op));
                add(elementwise(kBnDx, n, grid_for(n), op));
                if (weight_grads) {
                    param_grad(l.bn_channels, first_grads, l.name + " batchnorm weight grad");
                    param_grad(l.bn_channels, first_grads, l.name + " batchnorm bias grad");
                }
            }
            // The first layer's input is data (D) or noise (G): no gradient wanted, except
            // for D's input in the G step, where the gradient flows on into G.
            if (i > 0 || input_grad)
                conv(l.transposed ? ConvPass::Forward : ConvPass::BackwardInput, net, i, "grad-input");
            if (!weight_grads) continue;
            if (i > 0 && fused_bn(net, i - 1)) {
                // The grad-weight reads act(bn(x)) through the prologue: a conv's x is A, a
                // transposed conv's input B.
                const std::string op = l.name + (l.transposed ? " conv_transpose2d " : " conv2d ") + "grad-weight (fused)";
                std::vector<KernelCost> costs =
                    conv_pass_nhwc(ConvPass::BackwardWeight, l.shape, gpu_, op, params_.nhwc_mode, params_, /*register_staged=*/true);
                add_prologue(costs, ConvPass::BackwardWeight, l, l.transposed);
                add_all(std::move(costs));
            } else {
                conv(ConvPass::BackwardWeight, net, i, "grad-weight");
            }
            param_grad(l.shape.k * l.shape.c * 16, first_grads, l.name + " weight grad");
        }
    }

    void loss_and_backward_d(bool input_grad, bool first_grads, bool weight_grads = true) {
        add(elementwise(kBcePartial, d_.batch, 1, "BCE forward"));
        add(per_channel_finish("finish_terms_kernel", 1, 1, 1, 1, "BCE forward"));
        add(elementwise(kFill, 1, 1, "backward seed (ones)"));
        add(elementwise(kBceBackward, d_.batch, grid_for(d_.batch), "BCE backward"));
        backward(dnet_, input_grad, first_grads, weight_grads);
    }

    void adam(const Net& net, const std::string& op) {
        int64_t largest = 0, blocks = 0;
        for (int64_t p : net.param_sizes) largest = std::max(largest, p);
        const int64_t grid_x = std::min<int64_t>(grid_for(largest), 1024);
        for (int64_t p : net.param_sizes) blocks += std::min(grid_for(p), grid_x);
        KernelCost k = elementwise(kAdam, net.params, blocks, op);
        k.floor_fp32_bytes = k.floor_act_bytes;
        k.floor_act_bytes = 0;
        add(k);
    }

    DcganShape d_;
    const GpuSpec& gpu_;
    ModelParams params_;
    Net g_, dnet_;
    std::string phase_;
    std::vector<Launch> out_;
};

}  // namespace

std::vector<Launch> dcgan_iteration(const DcganShape& shape, const GpuSpec& gpu, const ModelParams& params) {
    if (shape.batch < 1 || shape.image < 16 || (shape.image & (shape.image - 1)) != 0)
        throw std::invalid_argument("dcgan_iteration: batch must be >= 1 and the image size a power of two >= 16");
    return IterationBuilder(shape, gpu, params).build();
}

IterationSummary summarize(const std::vector<Launch>& launches, const GpuSpec& gpu, const ModelParams& params) {
    IterationSummary s;
    for (const Launch& l : launches) {
        const KernelTime t = predict(l.cost, gpu, params);
        ++s.launches;
        s.useful_gflop += l.cost.useful_flops / 1e9;
        s.issued_gflop += l.cost.flops / 1e9;
        s.dram_gb += l.cost.dram_bytes / 1e9;
        s.today_ms += t.total_us / 1e3;
        s.launch_ms += t.launch_us / 1e3;
        for (int m = 0; m < 3; ++m) s.floor_ms[m] += floor_us(l.cost, gpu, kModes[m]) / 1e3;
    }
    return s;
}

// ---------------------------------------------------------------------------------------
// Reports
// ---------------------------------------------------------------------------------------

namespace {

// PyTorch 2.11 eager + cuDNN 9.19 on the H100 SXM, batch 128 (../shared/GPU.md).
struct PyTorchNumber {
    Mode mode;
    double ms;
    const char* what;
};
constexpr PyTorchNumber kPyTorchH100[] = {
    {Mode::Fp32, 14.4, "strict fp32, fused Adam"},
    {Mode::Tf32, 7.7, "TF32, fused Adam"},
    {Mode::Bf16, 9.9, "bf16 autocast, channels_last"},
};

}  // namespace

void print_kernel_table(std::FILE* out, const std::vector<Launch>& launches, const GpuSpec& gpu,
                        const ModelParams& params) {
    // Launches of the same op and kernel have the same shape: one row, with their count.
    struct Row {
        const KernelCost* cost;
        int count = 0;
    };
    std::vector<Row> rows;
    std::map<std::string, size_t> index;
    for (const Launch& l : launches) {
        const std::string key = l.cost.op + '\x1f' + l.cost.kernel;
        auto [it, fresh] = index.try_emplace(key, rows.size());
        if (fresh) rows.push_back({&l.cost, 0});
        ++rows[it->second].count;
    }
    std::fprintf(out,
                 "| op | kernel | launches | grid | GFLOP executed | GFLOP useful | MB DRAM | bound | us each | "
                 "useful TFLOP/s | ms / iter | floor fp32 | floor TF32 | floor BF16 |\n");
    std::fprintf(out, "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (const Row& r : rows) {
        const KernelCost& k = *r.cost;
        const KernelTime t = predict(k, gpu, params);
        const double busy_us = t.total_us - t.launch_us;
        char tflops[32] = "";
        if (k.useful_flops > 0 && busy_us > 0) std::snprintf(tflops, sizeof tflops, "%.1f", k.useful_flops / busy_us / 1e6);
        std::fprintf(out, "| %s | `%s` | %d | %lld | %.3f | %.3f | %.1f | %s | %.1f | %s | %.3f | %.3f | %.3f | %.3f |\n",
                     k.op.c_str(), k.kernel.c_str(), r.count, static_cast<long long>(k.blocks), k.flops / 1e9,
                     k.useful_flops / 1e9, k.dram_bytes / 1e6, t.bound, t.total_us, tflops,
                     r.count * t.total_us / 1e3, r.count * floor_us(k, gpu, Mode::Fp32) / 1e3,
                     r.count * floor_us(k, gpu, Mode::Tf32) / 1e3, r.count * floor_us(k, gpu, Mode::Bf16) / 1e3);
    }
    const IterationSummary s = summarize(launches, gpu, params);
    std::fprintf(out, "| **total** | | %lld | | %.1f | %.1f | %.0f | | | | **%.2f** | %.2f | %.2f | %.2f |\n",
                 static_cast<long long>(s.launches), s.issued_gflop, s.useful_gflop, s.dram_gb * 1e3, s.today_ms,
                 s.floor_ms[0], s.floor_ms[1], s.floor_ms[2]);
}

void print_kernel_kind_table(std::FILE* out, const std::vector<Launch>& launches, const GpuSpec& gpu,
                             const ModelParams& params) {
    std::vector<std::string> order;
    std::map<std::string, std::vector<Launch>> by_kernel;
    for (const Launch& l : launches) {
        // One row per kernel function: "forward_kernel (ReLU)" and "(tanh)" are one kernel.
        const std::string name = l.cost.kernel.substr(0, l.cost.kernel.find(" ("));
        auto [it, fresh] = by_kernel.try_emplace(name);
        if (fresh) order.push_back(name);
        it->second.push_back(l);
    }
    const double total = summarize(launches, gpu, params).today_ms;
    std::stable_sort(order.begin(), order.end(), [&](const std::string& a, const std::string& b) {
        return summarize(by_kernel[a], gpu, params).today_ms > summarize(by_kernel[b], gpu, params).today_ms;
    });
    std::fprintf(out, "| kernel | launches | GFLOP executed | GFLOP useful | ms today | share | floor fp32 | floor TF32 | "
                      "floor BF16 |\n");
    std::fprintf(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (const std::string& name : order) {
        const IterationSummary s = summarize(by_kernel[name], gpu, params);
        std::fprintf(out, "| `%s` | %lld | %.1f | %.1f | %.2f | %.1f%% | %.3f | %.3f | %.3f |\n", name.c_str(),
                     static_cast<long long>(s.launches), s.issued_gflop, s.useful_gflop, s.today_ms,
                     100.0 * s.today_ms / total, s.floor_ms[0], s.floor_ms[1], s.floor_ms[2]);
    }
}

void print_phase_table(std::FILE* out, const std::vector<Launch>& launches, const GpuSpec& gpu,
                       const ModelParams& params) {
    std::vector<std::string> order;
    std::map<std::string, std::vector<Launch>> by_phase;
    for (const Launch& l : launches) {
        auto [it, fresh] = by_phase.try_emplace(l.phase);
        if (fresh) order.push_back(l.phase);
        it->second.push_back(l);
    }
    std::fprintf(out, "| phase | launches | GFLOP useful | GFLOP executed | ms today | of which launch | floor fp32 | "
                      "floor TF32 | floor BF16 |\n");
    std::fprintf(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (const std::string& phase : order) {
        const IterationSummary s = summarize(by_phase[phase], gpu, params);
        std::fprintf(out, "| %s | %lld | %.1f | %.1f | %.2f | %.2f | %.3f | %.3f | %.3f |\n", phase.c_str(),
                     static_cast<long long>(s.launches), s.useful_gflop, s.issued_gflop, s.today_ms, s.launch_ms,
                     s.floor_ms[0], s.floor_ms[1], s.floor_ms[2]);
    }
}

void print_summary(std::FILE* out, const DcganShape& shape, const ModelParams& params) {
    std::fprintf(out, "| GPU | mode | kernels that run | today's kernels ms/iter | of which launch | ideal floor "
                      "ms/iter | floor + today's launches | PyTorch measured ms/iter | today / PyTorch |\n");
    std::fprintf(out, "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    const auto row = [&](const GpuSpec& gpu, int m, const char* kernels, const IterationSummary& s) {
        const Mode mode = kModes[m];
        char torch[64] = "-", ratio[32] = "-";
        if (std::strcmp(gpu.key, "h100-sxm") == 0 && shape.batch == 128) {
            for (const PyTorchNumber& p : kPyTorchH100)
                if (p.mode == mode) {
                    std::snprintf(torch, sizeof torch, "%.1f", p.ms);
                    std::snprintf(ratio, sizeof ratio, "%.1fx", s.today_ms / p.ms);
                }
        }
        std::fprintf(out, "| %s | %s | %s | %.2f | %.2f | %.2f | %.2f | %s | %s |\n", gpu.name, mode_name(mode), kernels,
                     s.today_ms, s.launch_ms, s.floor_ms[m], s.floor_ms[m] + s.launch_ms, torch, ratio);
    };
    for (const GpuSpec& gpu : gpus()) {
        ModelParams simt = params;
        simt.nhwc_tensor_cores = false;
        const IterationSummary s = summarize(dcgan_iteration(shape, gpu, simt), gpu, simt);
        for (int m = 0; m < 3; ++m)
            row(gpu, m, kModes[m] == Mode::Fp32 ? "NCHW fp32 SIMT" : "NCHW fp32 SIMT (the NCHW tensor-core loop is not modelled)", s);
        // The convolutions on the channels-last tensor-core kernels (conv2d_nhwc.cu); the
        // other kernels as today's.
        for (int m = 1; m < 3; ++m) {
            ModelParams tc = params;
            tc.nhwc_tensor_cores = true;
            tc.nhwc_mode = kModes[m];
            tc.conv_bn_fusion = false;
            row(gpu, m, "NHWC tensor cores (conv2d_nhwc), other kernels as today", summarize(dcgan_iteration(shape, gpu, tc), gpu, tc));
            tc.conv_bn_fusion = true;
            row(gpu, m, "NHWC tensor cores, batchnorm fused into the convs (opt-in, nn/conv_bn_chain.h)",
                summarize(dcgan_iteration(shape, gpu, tc), gpu, tc));
        }
    }
}

// ---------------------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------------------

bool wants_predict(int argc, char** argv) {
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], "--predict") == 0) return true;
    return false;
}

namespace {

void print_gpu_line(std::FILE* out, const GpuSpec& g) {
    std::fprintf(out,
                 "- %s (`%s`): %d SMs x %d FP32 units at %.2f GHz; FP32 %.1f, TF32 %.1f, BF16 %.1f TFLOP/s dense; "
                 "DRAM %.0f GB/s; L2 %.0f MB; SASS counts for %s. Source: %s.\n",
                 g.name, g.key, g.sms, g.fp32_lanes_per_sm, g.clock_ghz(), g.fp32_tflops, g.tf32_tflops(),
                 g.bf16_tflops(), g.dram_gbs, g.l2_mb, g.arch, g.source);
}

// The whole of `text` as a number, else an error that names it.
template <class T>
T number(const std::string& text) {
    size_t used = 0;
    T v{};
    try {
        if constexpr (std::is_integral_v<T>)
            v = static_cast<T>(std::stoll(text, &used));
        else
            v = static_cast<T>(std::stod(text, &used));
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != text.size()) throw std::invalid_argument("'" + text + "' is not a number");
    return v;
}

}  // namespace

int predict_main(int argc, char** argv) {
    std::string gpu_key = "h100-sxm";
    DcganShape shape;
    ModelParams params;
    params.cuda_graph = true;  // as the training step runs on a GPU (examples/dcgan_bedroom/step.h)
    // --conv-bn-fusion: the NHWC model with the conv-batchnorm fusion (nn::conv_bn_fusion_enabled,
    // off by default: predicted slower than the unfused kernels today, NOTES.md).
    bool fused = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
            return argv[++i];
        };
        try {
            if (a == "--predict") continue;
            if (a == "--gpu") {
                gpu_key = value();
            } else if (a == "--batch") {
                shape.batch = number<int64_t>(value());
            } else if (a == "--launch-us") {
                params.launch_us = number<double>(value());
            } else if (a == "--graph-node-us") {
                params.graph_node_us = number<double>(value());
            } else if (a == "--nhwc") {
                params.nhwc_tensor_cores = true;
                params.conv_bn_fusion = fused;
            } else if (a == "--conv-bn-fusion") {
                fused = true;
                params.conv_bn_fusion = params.nhwc_tensor_cores;
            } else if (a == "--eager") {
                params.cuda_graph = false;
            } else {
                std::string known;
                for (const GpuSpec& g : gpus()) known += std::string(known.empty() ? "" : "|") + g.key;
                std::fprintf(stderr,
                             "dcgan_step --predict: unknown option %s\nusage: dcgan_step --predict [--gpu %s|all] "
                             "[--batch N] [--launch-us US] [--graph-node-us US] [--eager] [--nhwc [--conv-bn-fusion]]\n",
                             a.c_str(), known.c_str());
                return 2;
            }
        } catch (const std::exception& e) {
            std::fprintf(stderr, "dcgan_step --predict: %s: %s\n", a.c_str(), e.what());
            return 2;
        }
    }
    std::vector<const GpuSpec*> detailed;
    if (gpu_key == "all") {
        for (const GpuSpec& g : gpus()) detailed.push_back(&g);
    } else if (const GpuSpec* g = find_gpu(gpu_key)) {
        detailed.push_back(g);
    } else {
        std::fprintf(stderr, "dcgan_step --predict: unknown GPU '%s' (h100-sxm, h100-pcie, h200, a100 or all)\n",
                     gpu_key.c_str());
        return 2;
    }
    if (shape.batch < 1) {
        std::fprintf(stderr, "dcgan_step --predict: --batch must be >= 1\n");
        return 2;
    }

    std::FILE* out = stdout;
    std::fprintf(out, "## dcgan_step --predict: roofline prediction (no GPU used)\n\n");
    std::fprintf(out,
                 "PREDICTED, not measured: one DCGAN %lldx%lld training iteration (nz %lld, ngf = ndf = %lld, batch "
                 "%lld; D on real and fake, G step, both Adam steps) with the kernels of this tree. Model: "
                 "benchmarks/roofline.h, NOTES.md \"Roofline prediction\". %s\n\n",
                 static_cast<long long>(shape.image), static_cast<long long>(shape.image),
                 static_cast<long long>(shape.nz), static_cast<long long>(shape.ngf),
                 static_cast<long long>(shape.batch),
                 (params.cuda_graph ? "The iteration is one replayed CUDA graph (step.h): " + std::to_string(params.graph_node_us).substr(0, 4) +
                                          " us per kernel node (an assumption, to be measured), no host synchronisation; "
                                          "--eager models eager launches instead."
                                    : "Eager launches: " + std::to_string(params.launch_us).substr(0, 4) +
                                          " us per launch, no host synchronisation.")
                     .c_str());
    for (const GpuSpec& g : gpus()) print_gpu_line(out, g);
    for (const GpuSpec* g : detailed) {
        const std::vector<Launch> launches = dcgan_iteration(shape, *g, params);
        std::fprintf(out, "\n### %s, batch %lld: per kernel (%s)\n\n", g->name, static_cast<long long>(shape.batch),
                     params.nhwc_tensor_cores ? (params.conv_bn_fusion ? "convolutions on the NHWC tensor-core kernels in TF32, batchnorm fused into them"
                                                                                : "convolutions on the NHWC tensor-core kernels in TF32")
                                              : "today's NCHW kernels, modelled as strict fp32 in every mode");
        print_kernel_table(out, launches, *g, params);
        std::fprintf(out, "\n### %s, batch %lld: per kernel function\n\n", g->name, static_cast<long long>(shape.batch));
        print_kernel_kind_table(out, launches, *g, params);
        std::fprintf(out, "\n### %s, batch %lld: per phase\n\n", g->name, static_cast<long long>(shape.batch));
        print_phase_table(out, launches, *g, params);
    }
    std::fprintf(out, "\n### Per iteration, every GPU and mode (batch %lld)\n\n", static_cast<long long>(shape.batch));
    print_summary(out, shape, params);
    std::fprintf(out,
                 "\nTarget (training-step issue): beat PyTorch on the H100, below 7.7 ms/iter in TF32 and 14.4 in "
                 "strict fp32. GPU.md's floors for ~320 GFLOP: 4.8 ms fp32 FMA, 0.65 ms TF32.\n");
    return 0;
}

}  // namespace roofline
