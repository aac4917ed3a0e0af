// Our convolution kernels against cuDNN's best algorithm on every convolution of the 64x64
// DCGAN (nz 100, ngf = ndf = 64): forward, grad-input and grad-weight, at each batch size
// and in each precision mode asked for (core/precision.h), cuDNN in the same math:
//   fp32           ours strict fp32 (SIMT FFMA)  cuDNN CUDNN_FMA_MATH (no tensor cores)
//   tf32           ours TF32 tensor cores       cuDNN CUDNN_TENSOR_OP_MATH / DEFAULT_MATH on
//                                               fp32 tensors (TF32 allowed, no fp16 conversion)
//   bf16           ours BF16 operands, fp32 sum cuDNN on bfloat16 tensors, fp32 compute
//   fp32-accurate  ours 3xTF32 tensor cores     cuDNN strict fp32 (CUDNN_FMA_MATH): the mode
//                                               is meant to replace strict fp32, so it is
//                                               measured against it
// Per pass: fresh random inputs, both outputs poisoned (NaN) and computed, their relative
// L2 difference checked against the mode's tolerance, the public API checked against the
// timed call; then both sides timed in the same run, interleaved, with CUDA events after
// --warmup runs, the L2 flushed before every run, median of --reps runs. Prints one
// markdown table per mode and batch (ms, TFLOP/s, share of the mode's peak, cuDNN/ours) and
// geometric means of cuDNN/ours (> 1: we are faster). Exits non-zero after the tables when
// any check failed; without a GPU it says so and exits 2.
//
// Everything is stated on conv2d's side (kernels/conv_geometry.h): x [N, C, H, W],
// w [K, C, R, S], y [N, K, P, Q]. Three primitives cover both kinds of layer:
//   Fwd       y  = conv(x, w)    ours: kernels::conv2d_forward         cuDNN: cudnnConvolutionForward
//   BwdData   x' = conv^T(y, w)  ours: kernels::conv2d_backward_input  cuDNN: cudnnConvolutionBackwardData
//   BwdFilter w' = corr(x, y)    ours: kernels::conv2d_backward_weight cuDNN: cudnnConvolutionBackwardFilter
// A Conv2d layer's forward / grad-input / grad-weight are Fwd / BwdData / BwdFilter. A
// ConvTranspose2d layer's input plays conv2d's y and its output conv2d's x, so its forward /
// grad-input / grad-weight are BwdData / Fwd / BwdFilter (x and dy swapped), exactly as
// kernels/conv_transpose2d.cpp calls them.
//
// --layout nhwc: channels-last on both sides. Ours: kernels/cuda/conv2d_nhwc.h (activations
// NHWC, weights KRSC); cuDNN: the same buffers described as CUDNN_TENSOR_NHWC (filters KRSC).
// The buffers hold the same random values either way; only their meaning changes. The public
// API check is skipped there (the tensor ops take NCHW), and so is the CPU reference.
//
// Usage: conv_vs_cudnn [--batches 128,64] [--reps 50] [--warmup 5]
//                      [--modes fp32,tf32,bf16,fp32-accurate] [--gpu h100-sxm]
//                      [--workspace-mib 1024] [--layout nchw|nhwc] [--no-flush]
// --gpu names the peaks (benchmarks/roofline.h) when the device's name does not.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <ganops/ganops.h>
#include <ganops/kernels/conv2d.h>
#include <ganops/kernels/conv_transpose2d.h>
#include <ganops/kernels/cuda/conv2d_nhwc.h>

#include "bench_common.h"
#include "bench_cudnn.h"
#include "roofline.h"

using namespace ganops;

namespace {

// The precision modes: ours under that matmul_precision(), cuDNN in the same math. The
// tolerance is the relative L2 difference allowed between the two outputs: both sides
// round the same operands (TF32: 10 mantissa bits, BF16: 7, and cuDNN's bf16 output once
// more), so they differ by about one operand rounding, far below these bounds, while a
// wrong gather is O(1).
struct ModeSpec {
    Precision ours;
    const char* name;
    cudnnMathType_t cudnn_math;  // CUDNN_FMA_MATH forbids tensor cores, TF32 included
    cudnnDataType_t cudnn_data;  // cuDNN's tensors: float, or bfloat16 in the bf16 mode
    bool tensor_cores;           // whether cuDNN may use them (then DEFAULT_MATH qualifies too)
    double tolerance;
    roofline::Mode peak_mode;    // which peak the share is of
    double peak_divisor;         // fp32-accurate runs three TF32 products per product
    const char* description;
};
const ModeSpec kModes[] = {
    {Precision::FP32, "fp32", CUDNN_FMA_MATH, CUDNN_DATA_FLOAT, false, 1e-4, roofline::Mode::Fp32, 1,
     "strict fp32 against cuDNN CUDNN_FMA_MATH (no tensor cores)"},
    {Precision::TF32, "tf32", CUDNN_TENSOR_OP_MATH, CUDNN_DATA_FLOAT, true, 5e-3, roofline::Mode::Tf32, 1,
     "TF32 against cuDNN's tensor-op math on fp32 tensors (TF32)"},
    {Precision::BF16, "bf16", CUDNN_TENSOR_OP_MATH, CUDNN_DATA_BFLOAT16, true, 2e-2, roofline::Mode::Bf16, 1,
     "BF16 operands with fp32 accumulation against cuDNN on bfloat16 tensors (fp32 compute)"},
    {Precision::FP32Accurate, "fp32-accurate", CUDNN_FMA_MATH, CUDNN_DATA_FLOAT, false, 1e-4, roofline::Mode::Tf32, 3,
     "fp32-accurate (3xTF32 on tensor cores) against cuDNN's strict fp32 (CUDNN_FMA_MATH)"},
};

size_t element_bytes(cudnnDataType_t t) { return t == CUDNN_DATA_BFLOAT16 ? 2 : 4; }

// bfloat16 by round-to-nearest-even of the float's bits (NaN stays NaN).
uint16_t to_bf16(float f) {
    uint32_t u = 0;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return uint16_t(u >> 16);
}
float from_bf16(uint16_t h) {
    const uint32_t u = uint32_t(h) << 16;
    float f = 0;
    std::memcpy(&f, &u, 4);
    return f;
}

// cuDNN's copy of an input in the mode's type: the float32 buffer itself, or a new
// bfloat16 one (freed by the caller with device_free). Untimed.
void* cudnn_input(const float* src, size_t n, cudnnDataType_t t) {
    if (t == CUDNN_DATA_FLOAT) return const_cast<float*>(src);
    const std::vector<float> host = bench::download(src, n);
    std::vector<uint16_t> bits(n);
    for (size_t i = 0; i < n; ++i) bits[i] = to_bf16(host[i]);
    void* d = bench::device_alloc((n + 1) / 2);
    BENCH_CUDA(cudaMemcpy(d, bits.data(), n * 2, cudaMemcpyHostToDevice));
    return d;
}

std::vector<float> download_as_float(const void* d, size_t n, cudnnDataType_t t) {
    if (t == CUDNN_DATA_FLOAT) return bench::download(static_cast<const float*>(d), n);
    std::vector<uint16_t> bits(n);
    BENCH_CUDA(cudaMemcpy(bits.data(), d, n * 2, cudaMemcpyDeviceToHost));
    std::vector<float> out(n);
    for (size_t i = 0; i < n; ++i) out[i] = from_bf16(bits[i]);
    return out;
}

// s is [N, C, H, W] whatever the layout (cuDNN's convention); format says how memory holds it.
cudnnTensorDescriptor_t make_tensor(const Shape& s, cudnnDataType_t t, cudnnTensorFormat_t format) {
    cudnnTensorDescriptor_t d = nullptr;
    BENCH_CUDNN(cudnnCreateTensorDescriptor(&d));
    BENCH_CUDNN(cudnnSetTensor4dDescriptor(d, format, t, int(s[0]), int(s[1]), int(s[2]), int(s[3])));
    return d;
}

const float kOne = 1.0f, kZero = 0.0f;

struct Layer {
    const char* name;
    bool transposed;
    int64_t in_c, out_c, in_hw;
    int stride, pad;
};
// The ten 4x4 convolutions of the 64x64 DCGAN, as in cpu_reference_layers.cpp.
const Layer kLayers[] = {
    {"G1 ConvT 100->512 1->4", true, 100, 512, 1, 1, 0},   {"G2 ConvT 512->256 4->8", true, 512, 256, 4, 2, 1},
    {"G3 ConvT 256->128 8->16", true, 256, 128, 8, 2, 1},  {"G4 ConvT 128->64 16->32", true, 128, 64, 16, 2, 1},
    {"G5 ConvT 64->3 32->64", true, 64, 3, 32, 2, 1},      {"D1 Conv 3->64 64->32", false, 3, 64, 64, 2, 1},
    {"D2 Conv 64->128 32->16", false, 64, 128, 32, 2, 1},  {"D3 Conv 128->256 16->8", false, 128, 256, 16, 2, 1},
    {"D4 Conv 256->512 8->4", false, 256, 512, 8, 2, 1},   {"D5 Conv 512->1 4->1", false, 512, 1, 4, 1, 0},
};

enum class Prim { Fwd, BwdData, BwdFilter };
const char* const kPassNames[3] = {"forward", "grad-input", "grad-weight"};

Prim prim_for(const Layer& l, int pass) {
    if (pass == 2) return Prim::BwdFilter;
    const bool forward_like = (pass == 0) != l.transposed;  // conv forward, or convT grad-input
    return forward_like ? Prim::Fwd : Prim::BwdData;
}

const char* algo_name(Prim p, int algo) {
    static const char* const fwd[] = {"IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT",
                                      "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
    static const char* const data[] = {"ALGO_0", "ALGO_1", "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
    static const char* const filter[] = {"ALGO_0", "ALGO_1", "FFT", "ALGO_3", "WINOGRAD", "WINOGRAD_NONFUSED",
                                         "FFT_TILING"};
    switch (p) {
        case Prim::Fwd: return algo >= 0 && algo < 8 ? fwd[algo] : "?";
        case Prim::BwdData: return algo >= 0 && algo < 6 ? data[algo] : "?";
        case Prim::BwdFilter: return algo >= 0 && algo < 7 ? filter[algo] : "?";
    }
    return "?";
}

const char* prim_short(Prim p) {
    switch (p) {
        case Prim::Fwd: return "fwd";
        case Prim::BwdData: return "dgrad";
        case Prim::BwdFilter: return "wgrad";
    }
    return "?";
}

// The same primitive in float64 on the CPU (the Eigen reference), to tell after a mismatch
// which side is off.
std::vector<double> cpu_reference(Prim prim, const ConvGeometry& g, const Tensor& x, const Tensor& w, const Tensor& y) {
    const Tensor x64 = x.to(Device::CPU).to(DType::F64), w64 = w.to(Device::CPU).to(DType::F64),
                 y64 = y.to(Device::CPU).to(DType::F64);
    Tensor out;
    switch (prim) {
        case Prim::Fwd:
            out = Tensor::empty(g.y_shape(), DType::F64, Device::CPU);
            kernels::conv2d_forward(g, x64, w64, Tensor(), out);
            break;
        case Prim::BwdData:
            out = Tensor::empty(g.x_shape(), DType::F64, Device::CPU);
            kernels::conv2d_backward_input(g, y64, w64, out);
            break;
        case Prim::BwdFilter:
            out = Tensor::empty(g.w_shape(), DType::F64, Device::CPU);
            kernels::conv2d_backward_weight(g, y64, x64, out);
            break;
    }
    return out.to_double_vector();
}

struct Choice {
    int algo = -1;
    size_t memory = 0;
    cudnnMathType_t math = CUDNN_DEFAULT_MATH;
};

// The fastest algorithm that ran, fits the workspace and uses the mode's math. cuDNN's
// Find* results come sorted by time. In fp32 mode a result that reports tensor-op math is
// never taken; one that reports the default math is taken only when no FMA one ran.
template <class Perf>
Choice pick(const std::vector<Perf>& perf, int count, size_t workspace, const ModeSpec& mode, const std::string& what) {
    Choice fallback;
    for (int i = 0; i < count; ++i) {
        const Perf& p = perf[size_t(i)];
        if (p.status != CUDNN_STATUS_SUCCESS || p.memory > workspace) continue;
        const Choice c{int(p.algo), p.memory, p.mathType};
        // Tensor-core modes: tensor-op or default math (both allow TF32 on fp32 data), never
        // the conversion to fp16. Strict modes: FMA math, else default math as a fallback.
        if (p.mathType == mode.cudnn_math || (mode.tensor_cores && p.mathType == CUDNN_DEFAULT_MATH)) return c;
        if (!mode.tensor_cores && p.mathType == CUDNN_DEFAULT_MATH && fallback.algo < 0) fallback = c;
    }
    if (fallback.algo < 0) {
        std::fprintf(stderr, "cuDNN found no usable %s algorithm for %s\n", mode.name, what.c_str());
        std::exit(4);
    }
    std::printf("note: %s: no algorithm reported CUDNN_FMA_MATH; using the fastest reporting CUDNN_DEFAULT_MATH\n",
                what.c_str());
    return fallback;
}

struct Row {
    std::string layer, pass, algo;
    double gflop = 0, ours_ms = 0, cudnn_ms = 0, err = 0;
};

void print_table(int batch, const ModeSpec& mode, bool nhwc, int reps, bool flushed, double peak, const std::vector<Row>& rows) {
    std::printf("\n### Convolutions%s, batch %d, %s: %s, median of %d runs%s\n\n", nhwc ? " (NHWC / KRSC)" : "", batch,
                mode.name, mode.description, reps, flushed ? ", L2 flushed before each run" : ", L2 not flushed");
    std::printf("| layer | pass | GFLOP | ours ms | cuDNN ms | cuDNN/ours | ours TFLOP/s | ours %% of %.0f TFLOP/s "
                "| cuDNN TFLOP/s | cuDNN algorithm (workspace MiB) | rel. L2 diff |\n",
                peak);
    std::printf("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |\n");
    double ours_total = 0, cudnn_total = 0;
    for (const Row& r : rows) {
        const double ours_tflops = r.gflop / r.ours_ms, cudnn_tflops = r.gflop / r.cudnn_ms;  // GFLOP/ms = TFLOP/s
        std::printf("| %s | %s | %.3f | %.4f | %.4f | %.2f | %.2f | %.1f%% | %.2f | %s | %.1e |\n", r.layer.c_str(),
                    r.pass.c_str(), r.gflop, r.ours_ms, r.cudnn_ms, r.cudnn_ms / r.ours_ms, ours_tflops,
                    100.0 * ours_tflops / peak, cudnn_tflops, r.algo.c_str(), r.err);
        ours_total += r.ours_ms;
        cudnn_total += r.cudnn_ms;
    }
    std::printf("\nSum over the %zu passes at batch %d: ours %.3f ms, cuDNN %.3f ms (cuDNN/ours %.2f)\n", rows.size(),
                batch, ours_total, cudnn_total, cudnn_total / ours_total);
}

void print_geomeans(const std::string& label, const std::vector<Row>& rows) {
    std::vector<double> all, big;
    for (const Row& r : rows) {
        all.push_back(r.cudnn_ms / r.ours_ms);
        if (r.gflop >= 1.0) big.push_back(r.cudnn_ms / r.ours_ms);
    }
    std::printf("Geometric mean of cuDNN/ours, %s: %.3f over all %zu passes, %.3f over the %zu passes >= 1 GFLOP\n",
                label.c_str(), bench::geomean(all), all.size(), bench::geomean(big), big.size());
}

}  // namespace

int main(int argc, char** argv) {
    const bench::Args args(argc, argv, {"--batches", "--reps", "--warmup", "--modes", "--gpu", "--workspace-mib", "--layout"},
                           {"--no-flush"});
    const std::vector<int> batches = args.get_ints("--batches", {128, 64});
    const int reps = std::max(1, args.get_int("--reps", 50));
    const int warmup = args.get_int("--warmup", 5);
    const size_t workspace_bytes = size_t(args.get_int("--workspace-mib", 1024)) << 20;
    const std::string layout = args.get("--layout", "nchw");
    if (layout != "nchw" && layout != "nhwc") {
        std::fprintf(stderr, "conv_vs_cudnn: --layout: '%s' (expected nchw or nhwc)\n", layout.c_str());
        return 2;
    }
    const bool nhwc = layout == "nhwc";
    const cudnnTensorFormat_t format = nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
    std::vector<const ModeSpec*> modes;
    {
        std::stringstream list(args.get("--modes", "fp32,tf32,bf16,fp32-accurate"));
        for (std::string name; std::getline(list, name, ',');) {
            const ModeSpec* mode = nullptr;
            for (const ModeSpec& m : kModes)
                if (name == m.name) mode = &m;
            if (mode == nullptr) {
                std::fprintf(stderr, "conv_vs_cudnn: --modes: unknown mode '%s' (expected fp32, tf32, bf16 or fp32-accurate)\n",
                             name.c_str());
                return 2;
            }
            modes.push_back(mode);
        }
    }
    if (!cuda::available()) {
        std::fprintf(stderr, "conv_vs_cudnn: no usable CUDA device: this benchmark times our kernels against cuDNN on a "
                             "GPU and has nothing to measure without one\n");
        return 2;
    }

    try {
        std::printf("## conv_vs_cudnn: our convolutions against cuDNN\n\n");
        const bench::DeviceInfo device = bench::device_info();
        bench::print_device(device);
        const roofline::GpuSpec* gpu =
            args.get("--gpu", "").empty() ? roofline::gpu_for_device_name(device.name) : roofline::find_gpu(args.get("--gpu", ""));
        if (gpu == nullptr) gpu = roofline::find_gpu("h100-sxm");
        std::printf("Peaks: %s's (benchmarks/roofline.cpp; --gpu to choose)\n", gpu->name);
        cudnnHandle_t handle = bench::make_cudnn_handle();
        bench::check_event_ordering();
        const bench::L2Flusher flusher(!args.flag("--no-flush"));
        float* workspace = bench::device_alloc(workspace_bytes / sizeof(float));

        for (const ModeSpec* mode : modes) {
            const PrecisionScope precision(mode->ours);  // our side of every pass below
            const double peak = roofline::math_peak_tflops(*gpu, mode->peak_mode) / mode->peak_divisor;
            const cudnnDataType_t dt = mode->cudnn_data;
            std::vector<Row> every_row;
            for (const int batch : batches) {
                std::vector<Row> rows;
                for (const Layer& l : kLayers) {
                    const Shape in_shape{batch, l.in_c, l.in_hw, l.in_hw};
                    const Conv2dOptions conv_opt = Conv2dOptions::square(l.stride, l.pad);
                    const ConvTranspose2dOptions convt_opt = ConvTranspose2dOptions::square(l.stride, l.pad);
                    const ConvGeometry g =
                        l.transposed
                            ? conv_transpose2d_geometry("conv_vs_cudnn", in_shape, Shape{l.in_c, l.out_c, 4, 4}, convt_opt)
                            : conv2d_geometry("conv_vs_cudnn", in_shape, Shape{l.out_c, l.in_c, 4, 4}, conv_opt);
                    const double gflop = 2.0 * double(g.batch) * double(g.out_channels) * double(g.out_h) *
                                         double(g.out_w) * double(g.in_channels) * double(g.kernel_h) *
                                         double(g.kernel_w) / 1e9;

                    // conv2d-side inputs, fresh for every layer, and one output per side and primitive.
                    auto make = [](const Shape& s) { return Tensor::empty(s, DType::F32, Device::CUDA); };
                    const Tensor x = make(g.x_shape()), w = make(g.w_shape()), y = make(g.y_shape());
                    bench::fill_normal(x.data<float>(), size_t(x.numel()), 0, 1);
                    bench::fill_normal(w.data<float>(), size_t(w.numel()), 0, 0.05f);
                    bench::fill_normal(y.data<float>(), size_t(y.numel()), 0, 1);
                    const Tensor ours_x = make(g.x_shape()), ours_w = make(g.w_shape()), ours_y = make(g.y_shape());
                    // cuDNN's outputs in its type (bf16 takes half of these float buffers).
                    const Tensor cudnn_x = make(g.x_shape()), cudnn_w = make(g.w_shape()), cudnn_y = make(g.y_shape());

                    cudnnTensorDescriptor_t x_desc = make_tensor(g.x_shape(), dt, format);
                    cudnnTensorDescriptor_t y_desc = make_tensor(g.y_shape(), dt, format);
                    cudnnFilterDescriptor_t w_desc = nullptr;
                    BENCH_CUDNN(cudnnCreateFilterDescriptor(&w_desc));
                    BENCH_CUDNN(cudnnSetFilter4dDescriptor(w_desc, dt, format, int(g.out_channels),
                                                           int(g.in_channels), int(g.kernel_h), int(g.kernel_w)));
                    cudnnConvolutionDescriptor_t conv_desc = nullptr;
                    BENCH_CUDNN(cudnnCreateConvolutionDescriptor(&conv_desc));
                    BENCH_CUDNN(cudnnSetConvolution2dDescriptor(conv_desc, g.opt.pad_h, g.opt.pad_w, g.opt.stride_h,
                                                                g.opt.stride_w, g.opt.dilation_h, g.opt.dilation_w,
                                                                CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
                    BENCH_CUDNN(cudnnSetConvolutionMathType(conv_desc, mode->cudnn_math));
                    {
                        int n = 0, c = 0, h = 0, wd = 0;
                        BENCH_CUDNN(cudnnGetConvolution2dForwardOutputDim(conv_desc, x_desc, w_desc, &n, &c, &h, &wd));
                        if (Shape{n, c, h, wd} != g.y_shape()) {
                            std::fprintf(stderr, "%s: cuDNN's output [%d, %d, %d, %d] is not ours\n", l.name, n, c, h, wd);
                            return 4;
                        }
                    }

                    // cuDNN's inputs: the same values, rounded to bfloat16 in the bf16 mode.
                    const void* xp = cudnn_input(x.data<float>(), size_t(x.numel()), dt);
                    const void* wp = cudnn_input(w.data<float>(), size_t(w.numel()), dt);
                    const void* yp = cudnn_input(y.data<float>(), size_t(y.numel()), dt);
                    for (int pass = 0; pass < 3; ++pass) {
                        const Prim prim = prim_for(l, pass);
                        const std::string what = bench::fmt("%s batch %d %s %s (%s)", mode->name, batch, l.name,
                                                            kPassNames[pass], prim_short(prim));
                        std::function<void()> ours, theirs;
                        std::function<Tensor()> api;  // the public entry point the model calls
                        Tensor ours_out, cudnn_out;
                        Choice choice;
                        switch (prim) {
                            case Prim::Fwd: {
                                ours_out = ours_y;
                                cudnn_out = cudnn_y;
                                if (nhwc)
                                    ours = [&] {
                                        cuda::conv2d_forward_nhwc(g, x.data<float>(), w.data<float>(), nullptr, ours_y.data<float>());
                                    };
                                else
                                    ours = [&] { kernels::conv2d_forward(g, x, w, Tensor(), ours_y); };
                                if (l.transposed)  // the layer's grad-input: its output gradient is x here
                                    api = [&] { return kernels::conv_transpose2d_backward_input(x, w, g.y_shape(), convt_opt); };
                                else
                                    api = [&] { return kernels::conv2d_forward(x, w, Tensor(), conv_opt); };
                                int max_count = 0, count = 0;
                                BENCH_CUDNN(cudnnGetConvolutionForwardAlgorithmMaxCount(handle, &max_count));
                                std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(size_t(std::max(max_count, 1)));
                                BENCH_CUDNN(cudnnFindConvolutionForwardAlgorithmEx(
                                    handle, x_desc, xp, w_desc, wp, conv_desc, y_desc, cudnn_y.data_ptr(), max_count,
                                    &count, perf.data(), workspace, workspace_bytes));
                                choice = pick(perf, count, workspace_bytes, *mode, what);
                                const auto algo = cudnnConvolutionFwdAlgo_t(choice.algo);
                                void* out = cudnn_y.data_ptr();
                                theirs = [=] {
                                    BENCH_CUDNN(cudnnConvolutionForward(handle, &kOne, x_desc, xp, w_desc, wp, conv_desc, algo,
                                                                        workspace, workspace_bytes, &kZero, y_desc, out));
                                };
                                break;
                            }
                            case Prim::BwdData: {
                                ours_out = ours_x;
                                cudnn_out = cudnn_x;
                                if (nhwc)
                                    ours = [&] {
                                        cuda::conv2d_backward_input_nhwc(g, y.data<float>(), w.data<float>(), ours_x.data<float>());
                                    };
                                else
                                    ours = [&] { kernels::conv2d_backward_input(g, y, w, ours_x); };
                                if (l.transposed)  // the layer's forward: its input is y here
                                    api = [&] { return kernels::conv_transpose2d_forward(y, w, Tensor(), convt_opt); };
                                else
                                    api = [&] { return kernels::conv2d_backward_input(y, w, g.x_shape(), conv_opt); };
                                int max_count = 0, count = 0;
                                BENCH_CUDNN(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(handle, &max_count));
                                std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perf(size_t(std::max(max_count, 1)));
                                BENCH_CUDNN(cudnnFindConvolutionBackwardDataAlgorithmEx(
                                    handle, w_desc, wp, y_desc, yp, conv_desc, x_desc, cudnn_x.data_ptr(), max_count,
                                    &count, perf.data(), workspace, workspace_bytes));
                                choice = pick(perf, count, workspace_bytes, *mode, what);
                                const auto algo = cudnnConvolutionBwdDataAlgo_t(choice.algo);
                                void* out = cudnn_x.data_ptr();
                                theirs = [=] {
                                    BENCH_CUDNN(cudnnConvolutionBackwardData(handle, &kOne, w_desc, wp, y_desc, yp, conv_desc,
                                                                             algo, workspace, workspace_bytes, &kZero,
                                                                             x_desc, out));
                                };
                                break;
                            }
                            case Prim::BwdFilter: {
                                ours_out = ours_w;
                                cudnn_out = cudnn_w;
                                if (nhwc)
                                    ours = [&] {
                                        cuda::conv2d_backward_weight_nhwc(g, y.data<float>(), x.data<float>(), ours_w.data<float>());
                                    };
                                else
                                    ours = [&] { kernels::conv2d_backward_weight(g, y, x, ours_w); };
                                if (l.transposed)  // layer output gradient = x here, layer input = y
                                    api = [&] { return kernels::conv_transpose2d_backward_weight(x, y, g.w_shape(), convt_opt); };
                                else
                                    api = [&] { return kernels::conv2d_backward_weight(y, x, g.w_shape(), conv_opt); };
                                int max_count = 0, count = 0;
                                BENCH_CUDNN(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(handle, &max_count));
                                std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perf(size_t(std::max(max_count, 1)));
                                BENCH_CUDNN(cudnnFindConvolutionBackwardFilterAlgorithmEx(
                                    handle, x_desc, xp, y_desc, yp, conv_desc, w_desc, cudnn_w.data_ptr(), max_count,
                                    &count, perf.data(), workspace, workspace_bytes));
                                choice = pick(perf, count, workspace_bytes, *mode, what);
                                const auto algo = cudnnConvolutionBwdFilterAlgo_t(choice.algo);
                                void* out = cudnn_w.data_ptr();
                                theirs = [=] {
                                    BENCH_CUDNN(cudnnConvolutionBackwardFilter(handle, &kOne, x_desc, xp, y_desc, yp,
                                                                               conv_desc, algo, workspace, workspace_bytes,
                                                                               &kZero, w_desc, out));
                                };
                                break;
                            }
                        }

                        // Validate before timing: both outputs start as NaN, so an unwritten element fails.
                        const size_t n = size_t(ours_out.numel());
                        bench::poison(ours_out.data_ptr(), n * sizeof(float));
                        bench::poison(cudnn_out.data_ptr(), n * element_bytes(dt));
                        ours();
                        theirs();
                        const std::vector<float> ours_host = bench::download(ours_out.data<float>(), n);
                        const std::vector<float> cudnn_host = download_as_float(cudnn_out.data_ptr(), n, dt);
                        const double err = bench::rel_l2(ours_host, cudnn_host);
                        if (!bench::expect_close(what + ": ours vs cuDNN", err, mode->tolerance) && !nhwc) {
                            const std::vector<double> ref = cpu_reference(prim, g, x, w, y);
                            std::printf("    against the float64 CPU reference: ours %.3g, cuDNN %.3g\n",
                                        bench::rel_l2(ours_host, ref), bench::rel_l2(cudnn_host, ref));
                        }
                        if (!nhwc)
                            bench::expect_close(what + ": public API vs the timed call",
                                                bench::rel_l2(api().to_vector(), ours_host), 1e-6);

                        const std::vector<bench::Timing> t = bench::time_interleaved({ours, theirs}, warmup, reps, flusher);
                        rows.push_back({l.name, kPassNames[pass],
                                        bench::fmt("%s %s (%.0f)", prim_short(prim), algo_name(prim, choice.algo),
                                                   double(choice.memory) / (1 << 20)),
                                        gflop, t[0].median_ms, t[1].median_ms, err});
                    }
                    BENCH_CUDNN(cudnnDestroyConvolutionDescriptor(conv_desc));
                    BENCH_CUDNN(cudnnDestroyFilterDescriptor(w_desc));
                    BENCH_CUDNN(cudnnDestroyTensorDescriptor(y_desc));
                    BENCH_CUDNN(cudnnDestroyTensorDescriptor(x_desc));
                    for (const void* p : {xp, wp, yp})
                        if (dt != CUDNN_DATA_FLOAT) bench::device_free(const_cast<void*>(p));
                }
                print_table(batch, *mode, nhwc, reps, flusher.enabled(), peak, rows);
                print_geomeans(bench::fmt("%s, batch %d", mode->name, batch), rows);
                every_row.insert(every_row.end(), rows.begin(), rows.end());
            }
            if (batches.size() > 1) {
                std::printf("\n");
                print_geomeans(bench::fmt("%s, every batch", mode->name), every_row);
            }
        }
        bench::device_free(workspace);
        BENCH_CUDNN(cudnnDestroy(handle));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "conv_vs_cudnn: %s\n", e.what());
        return 5;
    }
    bench::print_validation_summary("conv_vs_cudnn");
    return bench::failures() == 0 ? 0 : 1;
}
