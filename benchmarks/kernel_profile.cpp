// kernel_profile: the emulator's profiling mode (core/emu/profile.h) on the 64x64 DCGAN's
// convolution layers, without a GPU. For each layer, the library's kernels run on the CPU
// (ganops_emu_profile) and a markdown table gives, per kernel: global-memory sectors per
// warp-level access and coalescing efficiency, DRAM-side bytes (every sector once per launch,
// and once per block), shared-memory wavefronts against the conflict-free minimum, ldmatrix and
// mma counts, barriers; then the instructions with the most excess sectors or wavefronts.
//
//   kernel_profile [--batch N] [--layer NAME]... [--backward] [--nhwc] [--sites N] [--check]
//
// --check: exit 1 unless every tensor-core main loop (mma_gemm*) profiled, and every kernel of
// the thin layers' paths (gemv_*, pad_channels: conv_nhwc_thin.h), meets the
// targets of the performance-evidence issue: global loads at least 90% coalesced, and shared
// memory at its conflict-free minimum for ldmatrix and for the tile stores (cp.async's
// included). ctests run it on the NHWC DCGAN layers (benchmarks/CMakeLists.txt).
//
// --nhwc: the channels-last kernels (kernels/cuda/conv2d_nhwc.h) on NHWC / KRSC buffers
// instead of the NCHW tensor ops: a convolution's forward, grad-input and grad-weight, a
// transposed one's forward (conv2d's grad-input), grad-input (conv2d's forward), grad-weight.
//
// Layers: D1..D5 (the discriminator's convolutions), G1..G5 (the generator's transposed ones);
// default: every layer, forward only. The counts follow NVIDIA's documented rules, not a
// measurement: caches, timing and arithmetic are outside them (see core/emu/profile.h).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/emu/profile.h"
#include "ganops.h"
#include "kernels/cuda/conv2d_nhwc.h"

using namespace ganops;
namespace prof = ganops_emu::profile;

namespace {

struct Layer {
    const char* name;
    bool transposed;
    int64_t in_channels, out_channels, in_size;
    int kernel, stride, pad;
};

// 64x64 DCGAN, nz = 100, ngf = ndf = 64, nc = 3 (nn/dcgan.h).
const Layer kLayers[] = {
    {"D1", false, 3, 64, 64, 4, 2, 1},     {"D2", false, 64, 128, 32, 4, 2, 1},
    {"D3", false, 128, 256, 16, 4, 2, 1},  {"D4", false, 256, 512, 8, 4, 2, 1},
    {"D5", false, 512, 1, 4, 4, 1, 0},     {"G1", true, 100, 512, 1, 4, 1, 0},
    {"G2", true, 512, 256, 4, 4, 2, 1},    {"G3", true, 256, 128, 8, 4, 2, 1},
    {"G4", true, 128, 64, 16, 4, 2, 1},    {"G5", true, 64, 3, 32, 4, 2, 1},
};

void usage() {
    std::fprintf(stderr, "usage: kernel_profile [--batch N] [--layer D1..D5|G1..G5]... [--backward] [--nhwc] [--sites N] [--check]\n");
    std::exit(2);
}

// A flat device buffer of n random floats (the NHWC kernels take raw pointers).
Tensor device_buffer(int64_t n, double stddev, Generator& gen) { return Tensor::normal({n}, 0.0, stddev, gen).to(Device::CUDA); }

// --check: the targets every tensor-core main loop must meet; what misses goes to `failures`.
// The thin layers' own kernels (kernels/cuda/conv_nhwc_thin.h: the whole-window GEMV kernels,
// the channel padding) carry a convolution pass too: they are held to the same coalescing and
// shared-memory targets, without the mma.
constexpr double kMinLoadEfficiency = 0.90;
bool is_main_loop(const std::string& kernel) { return kernel.rfind("mma_gemm", 0) == 0; }
bool is_thin_conv_kernel(const std::string& kernel) {
    return kernel.rfind("gemv_", 0) == 0 || kernel.rfind("pad_channels", 0) == 0;
}
void check_targets(const char* layer, const std::vector<prof::KernelRecord>& records, std::vector<std::string>& failures) {
    for (const prof::KernelRecord& r : records) {
        if (!is_main_loop(r.kernel) && !is_thin_conv_kernel(r.kernel)) continue;
        char line[256];
        if (r.global_load_efficiency() < kMinLoadEfficiency) {
            std::snprintf(line, sizeof line, "%s %s: global loads %.1f%% coalesced (target >= %.0f%%)", layer, r.kernel.c_str(),
                          100 * r.global_load_efficiency(), 100 * kMinLoadEfficiency);
            failures.push_back(line);
        }
        if (r.ldmatrix_wavefronts != r.ldmatrix_ideal_wavefronts || r.shared_store_wavefronts != r.shared_store_ideal_wavefronts) {
            std::snprintf(line, sizeof line, "%s %s: shared wavefronts ldmatrix %llu (min %llu), stores %llu (min %llu)", layer,
                          r.kernel.c_str(), (unsigned long long)r.ldmatrix_wavefronts, (unsigned long long)r.ldmatrix_ideal_wavefronts,
                          (unsigned long long)r.shared_store_wavefronts, (unsigned long long)r.shared_store_ideal_wavefronts);
            failures.push_back(line);
        }
        if (is_main_loop(r.kernel) && r.mma_instructions == 0) failures.push_back(std::string(layer) + " " + r.kernel + ": no mma issued");
    }
}

// One layer through the NHWC kernels; returns the forward's and the backward's records.
void profile_nhwc(const Layer& L, int64_t batch, bool backward, int sites, Generator& gen, std::vector<std::string>* failures) {
    const int64_t s = L.in_size;
    const Shape x_shape{batch, L.in_channels, s, s};
    const Shape w_shape = L.transposed ? Shape{L.in_channels, L.out_channels, L.kernel, L.kernel}
                                       : Shape{L.out_channels, L.in_channels, L.kernel, L.kernel};
    // conv2d's geometry; a transposed layer's input is conv2d's y, its output conv2d's x.
    const ConvGeometry g = L.transposed
                               ? conv_transpose2d_geometry("kernel_profile", x_shape, w_shape, ConvTranspose2dOptions::square(L.stride, L.pad))
                               : conv2d_geometry("kernel_profile", x_shape, w_shape, Conv2dOptions::square(L.stride, L.pad));
    const Tensor x = device_buffer(g.x_shape().numel(), 1.0, gen), y = device_buffer(g.y_shape().numel(), 1.0, gen);
    const Tensor w = device_buffer(g.w_shape().numel(), 0.02, gen);
    Tensor out_x = Tensor::empty({g.x_shape().numel()}, DType::F32, Device::CUDA);
    Tensor out_y = Tensor::empty({g.y_shape().numel()}, DType::F32, Device::CUDA);
    Tensor dw = Tensor::empty({g.w_shape().numel()}, DType::F32, Device::CUDA);
    auto t0 = std::chrono::steady_clock::now();
    prof::start();
    if (L.transposed)
        cuda::conv2d_backward_input_nhwc(g, y.data<float>(), w.data<float>(), out_x.data<float>());
    else
        cuda::conv2d_forward_nhwc(g, x.data<float>(), w.data<float>(), nullptr, out_y.data<float>());
    (void)(L.transposed ? out_x : out_y).to(Device::CPU);
    prof::stop();
    const std::vector<prof::KernelRecord> forward = prof::report();
    std::vector<prof::KernelRecord> backward_records;
    if (backward) {
        prof::start();
        if (L.transposed) {
            cuda::conv2d_forward_nhwc(g, x.data<float>(), w.data<float>(), nullptr, out_y.data<float>());
            cuda::conv2d_backward_weight_nhwc(g, y.data<float>(), x.data<float>(), dw.data<float>());
        } else {
            cuda::conv2d_backward_input_nhwc(g, y.data<float>(), w.data<float>(), out_x.data<float>());
            cuda::conv2d_backward_weight_nhwc(g, y.data<float>(), x.data<float>(), dw.data<float>());
        }
        (void)dw.to(Device::CPU);
        prof::stop();
        backward_records = prof::report();
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("## %s (NHWC): %s %lld -> %lld channels, input %lldx%lld, kernel %d, stride %d, padding %d, batch %lld; "
                "profiled on the CPU in %.1f s\n\n",
                L.name, L.transposed ? "conv_transpose2d" : "conv2d", (long long)L.in_channels, (long long)L.out_channels,
                (long long)s, (long long)s, L.kernel, L.stride, L.pad, (long long)batch, seconds);
    std::printf("### Forward\n\n%s\n", prof::markdown(forward, sites).c_str());
    if (backward) std::printf("### Backward (grad-input, then grad-weight)\n\n%s\n", prof::markdown(backward_records, sites).c_str());
    std::fflush(stdout);
    if (failures) {
        check_targets(L.name, forward, *failures);
        check_targets(L.name, backward_records, *failures);
    }
}

}  // namespace

int main(int argc, char** argv) {
    int64_t batch = 8;
    int sites = 5;
    bool backward = false, nhwc = false, check = false;
    std::vector<std::string> only;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--batch" && i + 1 < argc) batch = std::atoll(argv[++i]);
        else if (a == "--layer" && i + 1 < argc) only.push_back(argv[++i]);
        else if (a == "--backward") backward = true;
        else if (a == "--nhwc") nhwc = true;
        else if (a == "--check") check = true;
        else if (a == "--sites" && i + 1 < argc) sites = std::atoi(argv[++i]);
        else usage();
    }
    if (!prof::available()) {
        std::fprintf(stderr, "kernel_profile: link with ganops_emu_profile\n");
        return 1;
    }
    Generator gen{2026, 0};
    std::vector<std::string> failures;
    for (const Layer& L : kLayers) {
        if (!only.empty() && std::find(only.begin(), only.end(), L.name) == only.end()) continue;
        if (nhwc) {
            profile_nhwc(L, batch, backward, sites, gen, check ? &failures : nullptr);
            continue;
        }
        const int64_t s = L.in_size;
        const Tensor x = Tensor::normal({batch, L.in_channels, s, s}, 0.0, 1.0, gen).to(Device::CUDA);
        // Weights as PyTorch lays them out: [out, in, k, k] for a convolution, [in, out, k, k]
        // for a transposed one.
        const Shape w_shape = L.transposed ? Shape{L.in_channels, L.out_channels, L.kernel, L.kernel}
                                           : Shape{L.out_channels, L.in_channels, L.kernel, L.kernel};
        Tensor w = Tensor::normal(w_shape, 0.0, 0.02, gen).to(Device::CUDA);
        Tensor xin = x;
        if (backward) {
            xin.set_requires_grad(true);
            w.set_requires_grad(true);
        }
        auto t0 = std::chrono::steady_clock::now();
        prof::start();
        const Tensor y = L.transposed
                             ? conv_transpose2d(xin, w, Tensor(), ConvTranspose2dOptions::square(L.stride, L.pad))
                             : conv2d(xin, w, Tensor(), Conv2dOptions::square(L.stride, L.pad));
        (void)y.to(Device::CPU);  // waits for the kernels
        prof::stop();
        const std::vector<prof::KernelRecord> forward = prof::report();
        double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::vector<prof::KernelRecord> backward_records;
        if (backward) {
            const Tensor dy = Tensor::normal(y.shape(), 0.0, 1.0, gen).to(Device::CUDA);
            t0 = std::chrono::steady_clock::now();
            prof::start();
            y.backward(dy);
            (void)xin.grad().to(Device::CPU);
            (void)w.grad().to(Device::CPU);
            prof::stop();
            backward_records = prof::report();
            seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        }
        const auto& ys = y.shape();
        std::printf("## %s: %s %lld -> %lld channels, %lldx%lld -> %lldx%lld, kernel %d, stride %d, padding %d, batch %lld\n\n",
                    L.name, L.transposed ? "conv_transpose2d" : "conv2d", (long long)L.in_channels,
                    (long long)L.out_channels, (long long)s, (long long)s, (long long)ys[2], (long long)ys[3], L.kernel,
                    L.stride, L.pad, (long long)batch);
        const double macs = double(batch) * double(L.out_channels) * double(ys[2]) * double(ys[3]) *
                            double(L.in_channels) * L.kernel * L.kernel * (L.transposed ? double(s * s) / double(ys[2] * ys[3]) : 1.0);
        std::printf("Useful FLOPs of the forward pass: %.4g GFLOP (2 x %.4g MACs); the backward pass: twice that. "
                    "Profiled on the CPU in %.1f s.\n\n",
                    2 * macs / 1e9, macs, seconds);
        std::printf("### Forward\n\n%s\n", prof::markdown(forward, sites).c_str());
        if (backward)
            std::printf("### Backward (gradients of the input and the weight; \"#2\": a second instantiation of the "
                        "same kernel)\n\n%s\n",
                        prof::markdown(backward_records, sites).c_str());
        std::fflush(stdout);
        if (check) {
            check_targets(L.name, forward, failures);
            check_targets(L.name, backward_records, failures);
        }
    }
    if (!check) return 0;
    for (const std::string& f : failures) std::printf("TARGET MISSED: %s\n", f.c_str());
    std::printf(failures.empty() ? "All tensor-core main loops meet the coalescing and shared-memory targets.\n"
                                 : "%zu target(s) missed.\n", failures.size());
    return failures.empty() ? 0 : 1;
}
