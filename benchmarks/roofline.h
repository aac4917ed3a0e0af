// A roofline prediction of libganops on a GPU, computed on any machine (no CUDA, no GPU):
// per kernel launch and per DCGAN 64x64 training iteration, for the H100 SXM and PCIe, the
// H200 and the A100, in strict fp32, TF32 and BF16. benchmarks/NOTES.md ("Roofline
// prediction") explains the model and its numbers; `dcgan_step --predict` prints it.
//
// The model, per launch:
//   time = max(FP32 pipe, instruction issue, fp64 pipe, DRAM) + launch overhead
//   FP32 pipe  = flops / (FP32 FMA peak * flop_efficiency * wave efficiency)
//   issue      = warp instructions / (4 per SM per clock * SMs * clock * issue_utilisation * wave efficiency)
//   DRAM       = dram_bytes / (DRAM bandwidth * dram_efficiency)
// Today's kernels are strict-fp32 SIMT code (no tensor cores), so the TF32 and BF16 modes
// run the same kernels and get the same prediction. Beside it, each launch carries an
// "ideal floor" per mode: the op's own FLOPs at the mode's peak (tensor cores for the
// convolutions in TF32/BF16) or its compulsory bytes at the full DRAM bandwidth, whichever
// is larger, with no efficiency factor and no launch cost.
//
// KernelCost is the interface for measured counts: the emulator's profiling mode
// (core/emu/profile.*, issue 11 part 2) can fill flops, dram_bytes and warp_instructions
// from a run instead of the analytic counts made here.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace roofline {

// ---- GPUs: published peaks (sources in roofline.cpp and NOTES.md) ----
struct GpuSpec {
    const char* key;   // --gpu value
    const char* name;
    const char* arch;  // "sm_90" or "sm_80": which SASS instruction counts apply
    int sms;
    int fp32_lanes_per_sm;  // FP32 FMA units per SM: 128 on Hopper, 64 on GA100
    int fp64_lanes_per_sm;  // 64 on Hopper, 32 on GA100
    double fp32_tflops;     // non-tensor FP32 (FMA counted as 2 FLOPs), datasheet
    double tf32_sparse_tflops;  // datasheet figures are "with sparsity": dense is half
    double bf16_sparse_tflops;
    double dram_gbs;        // device memory bandwidth, GB/s
    double l2_mb;
    const char* source;

    double clock_ghz() const;         // the boost clock the FP32 peak implies
    double issue_per_s() const;       // warp instructions per second: 4 schedulers per SM
    double tf32_tflops() const { return tf32_sparse_tflops / 2; }
    double bf16_tflops() const { return bf16_sparse_tflops / 2; }
};

const std::vector<GpuSpec>& gpus();
const GpuSpec* find_gpu(const std::string& key);  // null when unknown
// The spec for a CUDA device name ("NVIDIA H100 80GB HBM3" -> h100-sxm); null when none fits.
const GpuSpec* gpu_for_device_name(const std::string& device_name);

enum class Mode { Fp32, Tf32, Bf16 };
constexpr Mode kModes[] = {Mode::Fp32, Mode::Tf32, Mode::Bf16};
const char* mode_name(Mode m);
// The math peak of a mode: FP32 FMA for Fp32, dense tensor-core throughput otherwise.
double math_peak_tflops(const GpuSpec& gpu, Mode m);

// ---- one kernel launch, counted ----
struct KernelCost {
    std::string op;      // what it computes, e.g. "D2 conv2d forward"
    std::string kernel;  // the launched kernel, e.g. "gemm_kernel<conv::Forward>"
    // Today's kernel.
    double flops = 0;                    // FP32 FLOPs it executes (inserted zeros and tile padding included)
    double dram_bytes = 0;               // device-memory traffic, re-reads that miss the L2 included
    double warp_instructions = 0;        // issued warp instructions; 0 when not modelled
    double fp64_warp_instructions = 0;   // of those, fp64 ones (a slower pipe)
    double flop_efficiency = 1;          // fraction of the FP32 FMA peak the FP pipe gives this code
    double math_tflops = 0;              // > 0: the math runs on the tensor cores at this peak (not FP32's)
    double issue_utilisation = 0.9;      // fraction of cycles a scheduler issues
    double dram_efficiency = 0.9;        // achievable fraction of the DRAM peak
    int64_t blocks = 1;                  // grid size: the last wave's tail
    bool copy = false;                   // a cudaMemcpyAsync, not a kernel
    // The op's own work, for the ideal floor.
    double useful_flops = 0;             // 2 per multiply-add the op needs (no zeros, no padding)
    bool tensor_core = false;            // a GEMM that tensor cores would run in TF32/BF16
    double floor_act_bytes = 0;          // compulsory fp32 bytes of activations (2 bytes an element in BF16)
    double floor_fp32_bytes = 0;         // compulsory bytes that stay fp32 (parameters, optimizer state)
};

struct ModelParams {
    // Per launch, added to every kernel and copy: 3 us, the middle of the 2-4 us per launch
    // measured for eager launches on the H100 (NOTES.md says where it comes from).
    double launch_us = 3.0;
    // The training step replays its iteration as a CUDA graph (examples/dcgan_bedroom/step.h):
    // then each kernel costs graph_node_us instead (the GPU starts graph nodes without the
    // host; about 1 us apart for short dependent kernels is our assumption, to be measured),
    // and the iteration adds one graph launch and one copy of the batch into the graph's input.
    bool cuda_graph = false;
    double graph_node_us = 1.0;
    // A GEMM operand re-read by every tile column (row) is fetched from DRAM once when it
    // fits in this fraction of the L2, else once per tile column (row): the A100 and H100
    // split their L2 into two partitions.
    double l2_fraction = 0.5;
    // Convolutions as the channels-last tensor-core kernels (kernels/cuda/conv2d_nhwc.cu) in
    // nhwc_mode (Tf32 or Bf16), instead of today's NCHW strict-fp32 SIMT loop; `--nhwc`.
    bool nhwc_tensor_cores = false;
    Mode nhwc_mode = Mode::Tf32;
    // With nhwc_tensor_cores: Conv -> BatchNorm2d -> ReLU/LeakyReLU -> Conv fused as the step
    // runs it channels-last (nn/conv_bn_chain.h): the statistics from the first conv's epilogue
    // (one pass over its output where its GEMM splits K), batchnorm + activation applied in the
    // next conv's operand load (and in its grad-weight's), no moments, affine or activation
    // pass. `--nhwc --conv-bn-fusion` sets it (off by default, as in the library).
    bool conv_bn_fusion = false;
};

struct KernelTime {
    double fp32_us = 0, issue_us = 0, fp64_us = 0, dram_us = 0, launch_us = 0;  // fp32_us: the math pipe's
    double total_us = 0;       // max of the four + launch
    const char* bound = "";    // "issue", "fp32", "tensor", "fp64", "dram" or "launch"
};

double wave_efficiency(int64_t blocks, int sms);  // blocks / (sms * ceil(blocks / sms))
KernelTime predict(const KernelCost& k, const GpuSpec& gpu, const ModelParams& params = {});
double floor_us(const KernelCost& k, const GpuSpec& gpu, Mode m);  // the ideal floor, no launch cost

// ---- builders: what the library launches for an op ----
// A convolution in conv2d's terms (kernels/conv_geometry.h): x [n, c, h, w], w [k, c, r, s],
// y [n, k, p, q]. A ConvTranspose2d layer's input is conv2d's y and its output conv2d's x.
struct ConvShape {
    int64_t n, c, h, w, k, p, q, r, s, stride, pad;
    double useful_flops() const { return 2.0 * n * k * p * q * c * r * s; }
};
// The implicit-GEMM passes of kernels/cuda/conv2d.cu (CUTLASS's fprop, dgrad, wgrad).
enum class ConvPass { Forward, BackwardInput, BackwardWeight };
const char* conv_pass_kernel(ConvPass pass);  // "gemm_kernel<conv::Forward>", ...
// The gemm_kernel launch and, when K is split, the reduce_splits_kernel launch; with
// params.nhwc_tensor_cores the channels-last tensor-core launches instead (conv_pass_nhwc).
// The GEMM operands (A, B) of a pass that arrive as TF32 values from their producers
// (nn/tf32_between_layers.h; conv2d_nhwc.h's ActivationsTf32): the TF32 cp.async loop skips
// their rounding pass (kTf32RoundPass). Forward: A is x; grad-input: A is dy; grad-weight: A is
// x, B is dy.
struct RoundedOperands {
    bool a = false, b = false;
};
std::vector<KernelCost> conv_pass(ConvPass pass, const ConvShape& shape, const GpuSpec& gpu, const std::string& op,
                                  const ModelParams& params = {}, RoundedOperands rounded = {});

// The channels-last tensor-core kernels of a pass in `mode` (Tf32 or Bf16): the cp.async
// pipeline (forward, grad-input, grad-weight where C and K_out allow its chunks; register_staged:
// grad-weight on the register-staged loop, as the batchnorm prologue runs it), their split-K
// reductions, and grad-input's weight transposition. Instruction counts per stage from the
// sm_90 SASS (benchmarks/results/2026-12-02-nhwc-tensor-core.md). Grad-input's stride phases
// run batched, one launch per mma::kMmaMaxBatch (batched_phases false: one launch each, as the
// fused grad-input runs them).
std::vector<KernelCost> conv_pass_nhwc(ConvPass pass, const ConvShape& shape, const GpuSpec& gpu, const std::string& op,
                                       Mode mode, const ModelParams& params = {}, bool register_staged = false,
                                       bool batched_phases = true, RoundedOperands rounded = {});

// Element-wise and reduction kernels: n elements, bytes and instructions per element.
struct ElementwiseKind {
    const char* kernel;
    double bytes_per_element;         // DRAM bytes today's kernel moves per element
    double instructions_per_element;  // per thread, from the SASS report's loop counts
    double fp64_per_element;
};
KernelCost elementwise(const ElementwiseKind& kind, int64_t n, int64_t blocks, const std::string& op);

// ---- the DCGAN iteration (benchmarks/dcgan_step.cpp) ----
struct DcganShape {
    int64_t batch = 128, nz = 100, ngf = 64, ndf = 64, nc = 3, image = 64;
};
struct Launch {
    std::string phase;  // "D(real)", "G forward", ...
    KernelCost cost;
};
// Every launch of one iteration, in order: D on a real batch, G's fake through D detached,
// D's Adam step, fake through D for G's loss (input gradients only: D's weight gradients are
// not computed), G's Adam step, and the training monitor's kernels (kernels/training_monitor.h),
// as examples/dcgan_bedroom/step.cpp runs it for dcgan_step.cpp.
std::vector<Launch> dcgan_iteration(const DcganShape& shape, const GpuSpec& gpu, const ModelParams& params = {});

struct IterationSummary {
    int64_t launches = 0;
    double useful_gflop = 0, issued_gflop = 0, dram_gb = 0;
    double today_ms = 0;        // today's kernels (any mode: they are all strict fp32)
    double launch_ms = 0;       // of which launch overhead
    double floor_ms[3] = {};    // ideal floor per mode, no launch cost
};
IterationSummary summarize(const std::vector<Launch>& launches, const GpuSpec& gpu, const ModelParams& params = {});

// ---- reports ----
// The per-kernel table (launches of the same op and kernel merged), the same per kernel
// function (largest first), the per-phase table, and the summary over every GPU and mode with PyTorch's numbers from shared/GPU.md.
void print_kernel_table(std::FILE* out, const std::vector<Launch>& launches, const GpuSpec& gpu,
                        const ModelParams& params = {});
void print_kernel_kind_table(std::FILE* out, const std::vector<Launch>& launches, const GpuSpec& gpu,
                             const ModelParams& params = {});
void print_phase_table(std::FILE* out, const std::vector<Launch>& launches, const GpuSpec& gpu,
                       const ModelParams& params = {});
void print_summary(std::FILE* out, const DcganShape& shape, const ModelParams& params = {});

// `dcgan_step --predict [--gpu KEY|all] [--batch N] [--launch-us US]`: prints the prediction
// and returns the exit status. Touches no CUDA API.
int predict_main(int argc, char** argv);
bool wants_predict(int argc, char** argv);  // --predict is among the arguments

}  // namespace roofline
