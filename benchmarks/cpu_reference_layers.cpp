// Times the CPU reference (Eigen) on every convolution of the 64x64 DCGAN (ngf = ndf = 64):
// forward, grad-input and grad-weight, median of several runs after a warm-up, with the
// FLOP count and achieved GFLOP/s. This is the floor the CUDA kernels are compared with on
// machines without a GPU, and the check that the reference stays fast enough for the CPU
// example. Usage: cpu_reference_layers [--batch N] [--reps N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <ganops/ganops.h>
#include <ganops/kernels/conv2d.h>
#include <ganops/kernels/conv_transpose2d.h>

using namespace ganops;

namespace {

double median_ms(const std::function<void()>& f, int reps) {
    f();  // warm-up: first-touch page faults and Eigen's buffers
    std::vector<double> ms;
    for (int i = 0; i < reps; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        f();
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
}

struct Layer {
    const char* name;
    bool transposed;
    int64_t in_c, out_c, in_hw;
    int stride, pad;
};

}  // namespace

int main(int argc, char** argv) {
    int64_t batch = 8;
    int reps = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--batch")) batch = std::stoll(argv[i + 1]);
        if (!std::strcmp(argv[i], "--reps")) reps = std::stoi(argv[i + 1]);
    }
    const std::vector<Layer> layers = {
        {"G1 100->512 1->4", true, 100, 512, 1, 1, 0}, {"G2 512->256 4->8", true, 512, 256, 4, 2, 1},
        {"G3 256->128 8->16", true, 256, 128, 8, 2, 1}, {"G4 128->64 16->32", true, 128, 64, 16, 2, 1},
        {"G5 64->3 32->64", true, 64, 3, 32, 2, 1},      {"D1 3->64 64->32", false, 3, 64, 64, 2, 1},
        {"D2 64->128 32->16", false, 64, 128, 32, 2, 1}, {"D3 128->256 16->8", false, 128, 256, 16, 2, 1},
        {"D4 256->512 8->4", false, 256, 512, 8, 2, 1},  {"D5 512->1 4->1", false, 512, 1, 4, 1, 0},
    };
    Generator gen{1, 0};
    std::printf("CPU reference, batch %lld, median of %d runs (ms, GFLOP/s)\n", static_cast<long long>(batch), reps);
    std::printf("%-20s %9s %12s %12s %12s\n", "layer", "GFLOP", "forward", "grad-input", "grad-weight");
    for (const Layer& l : layers) {
        const Tensor x = Tensor::normal({batch, l.in_c, l.in_hw, l.in_hw}, 0, 1, gen);
        Tensor w, y;
        std::function<void()> fwd, bwd_in, bwd_w;
        if (l.transposed) {
            const auto o = ConvTranspose2dOptions::square(l.stride, l.pad);
            w = Tensor::normal({l.in_c, l.out_c, 4, 4}, 0, 0.02, gen);
            y = kernels::conv_transpose2d_forward(x, w, Tensor(), o);
            const Tensor dy = Tensor::normal(y.shape(), 0, 1, gen);
            fwd = [&, o] { kernels::conv_transpose2d_forward(x, w, Tensor(), o); };
            bwd_in = [&, o, dy] { kernels::conv_transpose2d_backward_input(dy, w, x.shape(), o); };
            bwd_w = [&, o, dy] { kernels::conv_transpose2d_backward_weight(dy, x, w.shape(), o); };
        } else {
            const auto o = Conv2dOptions::square(l.stride, l.pad);
            w = Tensor::normal({l.out_c, l.in_c, 4, 4}, 0, 0.02, gen);
            y = kernels::conv2d_forward(x, w, Tensor(), o);
            const Tensor dy = Tensor::normal(y.shape(), 0, 1, gen);
            fwd = [&, o] { kernels::conv2d_forward(x, w, Tensor(), o); };
            bwd_in = [&, o, dy] { kernels::conv2d_backward_input(dy, w, x.shape(), o); };
            bwd_w = [&, o, dy] { kernels::conv2d_backward_weight(dy, x, w.shape(), o); };
        }
        // 2 * N * K * P * Q * C * R * S, counted from the smaller (conv2d-side) output.
        const Tensor& small = l.transposed ? x : y;
        const double gflop = 2.0 * double(small.numel()) * double(l.transposed ? l.out_c : l.in_c) * 16 / 1e9;
        const double t[3] = {median_ms(fwd, reps), median_ms(bwd_in, reps), median_ms(bwd_w, reps)};
        std::printf("%-20s %9.3f", l.name, gflop);
        for (double ms : t) std::printf("  %6.2f %4.1f", ms, gflop / (ms / 1e3));
        std::printf("\n");
    }
    return 0;
}
