// One DCGAN training iteration on the CPU, libganops against PyTorch, in one call: the
// README's configuration (32x32, nc 1, ngf = ndf = 32, nz 100, batch 64, Adam lr 2e-4 beta1
// 0.5, BCE), the iteration of benchmarks/dcgan_step.cpp (D on a real batch, G's fake batch
// through D detached, D's step, fake through D for G's loss, G's step).
//
// Rounds alternate, ours then PyTorch's (benchmarks/pytorch_cpu_step.py, run by python3 when
// torch imports), so that load from other processes falls on both alike; each round is
// the median of --iters iterations after --warmup. It prints every round, the median of the
// rounds' medians for each and their ratio (ours / PyTorch: below 1 is faster), by the wall
// clock and by the process's CPU time per iteration (the figure less disturbed by other
// processes; spinning threads are charged, threads waiting for a core are not).
//
// Then, unless --no-layers: one core's FMA peak, measured with a loop of independent vector
// FMAs on the thread's CPU time, and every convolution pass of the network timed alone, with
// its GFLOP/s against the --threads-core peak and per CPU-second against one core's (issue
// 17: passes of 100 MFLOP or more should reach half of the peak).
//
// Usage: cpu_step [--threads 2] [--iters 30] [--warmup 5] [--rounds 3] [--batch 64]
//                 [--python python3] [--no-torch] [--no-layers]
#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <ganops/core/thread_pool.h>
#include <ganops/ganops.h>
#include <ganops/kernels/conv2d.h>
#include <ganops/kernels/conv_transpose2d.h>

using namespace ganops;

namespace {

struct Options {
    int threads = 2, iters = 30, warmup = 5, rounds = 3, batch = 64;
    std::string python = "python3";
    bool torch = true, layers = true;
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// CPU time of the whole process (all its threads) and of the calling thread, in ms: less
// disturbed by other processes than the wall clock (a thread waiting for a core is not
// charged), so the figure to compare on a shared machine.
double process_cpu_ms() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return 1e3 * double(t.tv_sec) + 1e-6 * double(t.tv_nsec);
}
double thread_cpu_ms() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return 1e3 * double(t.tv_sec) + 1e-6 * double(t.tv_nsec);
}

double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

const nn::DcganConfig kConfig{.nz = 100, .ngf = 32, .ndf = 32, .nc = 1, .image_size = 32};

// The training iteration, set up once and run round after round.
struct OurStep {
    std::shared_ptr<nn::DcganGenerator> g = std::make_shared<nn::DcganGenerator>(kConfig);
    std::shared_ptr<nn::DcganDiscriminator> d = std::make_shared<nn::DcganDiscriminator>(kConfig);
    std::unique_ptr<nn::Adam> opt_g, opt_d;
    Generator data{6, 0}, noise{7, 0};
    Tensor ones, zeros, loss_d_real, loss_d_fake, loss_g;
    int batch;

    explicit OurStep(int batch_size) : batch(batch_size) {
        Generator init{5, 0};
        nn::dcgan_init(*g, init);
        nn::dcgan_init(*d, init);
        opt_g = std::make_unique<nn::Adam>(g->parameters(), nn::AdamOptions{.lr = 2e-4, .beta1 = 0.5});
        opt_d = std::make_unique<nn::Adam>(d->parameters(), nn::AdamOptions{.lr = 2e-4, .beta1 = 0.5});
        ones = Tensor::full({batch}, 1.0);
        zeros = Tensor::zeros({batch});
    }

    void iteration() {
        const Tensor real =
            Tensor::uniform({batch, kConfig.nc, kConfig.image_size, kConfig.image_size}, -1, 1, data);
        opt_d->zero_grad();
        loss_d_real = binary_cross_entropy((*d)(real), ones);
        loss_d_real.backward();
        const Tensor fake = (*g)(Tensor::normal({batch, kConfig.nz, 1, 1}, 0, 1, noise));
        loss_d_fake = binary_cross_entropy((*d)(fake.detach()), zeros);
        loss_d_fake.backward();
        opt_d->step();
        opt_g->zero_grad();
        loss_g = binary_cross_entropy((*d)(fake), ones);
        loss_g.backward();
        opt_g->step();
    }

    // The median wall ms of `iters` iterations, and the process CPU ms per iteration.
    std::pair<double, double> round_ms(int warmup, int iters) {
        for (int i = 0; i < warmup; ++i) iteration();
        std::vector<double> ms;
        const double cpu0 = process_cpu_ms();
        for (int i = 0; i < iters; ++i) {
            const auto t0 = std::chrono::steady_clock::now();
            iteration();
            ms.push_back(ms_since(t0));
        }
        const double cpu = (process_cpu_ms() - cpu0) / iters;
        const double loss = loss_d_real.item() + loss_d_fake.item() + loss_g.item();
        if (!std::isfinite(loss)) {
            std::fprintf(stderr, "cpu_step: libganops' losses are not finite\n");
            std::exit(1);
        }
        return {median(ms), cpu};
    }
};

std::string script_path(const char* argv0) {
    // Beside the sources: the build tree's benchmarks/ has a link to it, else the source tree.
    std::string dir = argv0;
    dir = dir.substr(0, dir.find_last_of('/') + 1);
    for (const std::string& p : {dir + "pytorch_cpu_step.py", std::string(GANOPS_BENCHMARKS_DIR "/pytorch_cpu_step.py")})
        if (FILE* f = std::fopen(p.c_str(), "r")) {
            std::fclose(f);
            return p;
        }
    return {};
}

std::string run_command(const std::string& command) {
    std::string out;
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) return out;
    char buffer[4096];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
    pclose(pipe);
    return out;
}

// PyTorch's round: the script prints "cpu_ms <value>" and "median_ms <value>" last.
std::pair<double, double> torch_round_ms(const Options& o, const std::string& script) {
    const std::string command = o.python + " '" + script + "' --threads " + std::to_string(o.threads) +
                                " --iters " + std::to_string(o.iters) + " --warmup " + std::to_string(o.warmup) +
                                " --batch " + std::to_string(o.batch) + " 2>&1";
    const std::string out = run_command(command);
    const size_t at = out.rfind("median_ms "), cpu_at = out.rfind("cpu_ms ");
    if (at == std::string::npos || cpu_at == std::string::npos) {
        std::fprintf(stderr, "cpu_step: no PyTorch figure (%s):\n%s\n", command.c_str(), out.c_str());
        return {NAN, NAN};
    }
    return {std::atof(out.c_str() + at + 10), std::atof(out.c_str() + cpu_at + 7)};
}

// ---- the FMA peak: independent vector FMAs, no memory traffic ----
// One variant per instruction set, picked for the running CPU (not the build's flags), so a
// portable build measures the same peak. Twelve chains hide the FMA latency (4 cycles) on
// two FMA ports; the result is kept so the loop is not optimised away. GFLOP per second of
// the thread's own CPU time: one core's peak, whatever else runs on the machine.
constexpr int kChains = 12, kInner = 1000;

#define GANOPS_FMA_LOOP(V, LANES, SET, FMA, STORE)                                        \
    V acc[kChains];                                                                       \
    for (int i = 0; i < kChains; ++i) acc[i] = SET(1.0f + 1e-3f * float(i));              \
    const V a = SET(0.999999f), b = SET(1e-7f);                                           \
    int64_t loops = 0;                                                                    \
    const double t0 = thread_cpu_ms();                                                    \
    double elapsed = 0;                                                                   \
    while (elapsed < seconds) {                                                           \
        for (int k = 0; k < kInner; ++k)                                                  \
            for (int i = 0; i < kChains; ++i) acc[i] = FMA(acc[i], a, b);                 \
        ++loops;                                                                          \
        elapsed = (thread_cpu_ms() - t0) / 1e3;                                           \
    }                                                                                     \
    alignas(64) float lanes[LANES];                                                       \
    float total = 0;                                                                      \
    for (int i = 0; i < kChains; ++i) {                                                   \
        STORE(lanes, acc[i]);                                                             \
        for (float f : lanes) total += f;                                                 \
    }                                                                                     \
    volatile float sink = total;                                                          \
    (void)sink;                                                                           \
    return 2.0 * LANES * kChains * kInner * double(loops) / elapsed / 1e9;

__attribute__((target("avx512f"))) double fma_gflops_avx512(double seconds) {
    GANOPS_FMA_LOOP(__m512, 16, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_store_ps)
}
__attribute__((target("avx2,fma"))) double fma_gflops_avx2(double seconds) {
    GANOPS_FMA_LOOP(__m256, 8, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_store_ps)
}
// Without FMA: a multiply and an add, the two flops they are.
inline __m128 mul_add_sse(__m128 a, __m128 b, __m128 c) { return _mm_add_ps(_mm_mul_ps(a, b), c); }
double fma_gflops_sse(double seconds) { GANOPS_FMA_LOOP(__m128, 4, _mm_set1_ps, mul_add_sse, _mm_store_ps) }
#undef GANOPS_FMA_LOOP

const char* fma_isa() {
    return __builtin_cpu_supports("avx512f") ? "AVX-512 FMA" : __builtin_cpu_supports("fma") ? "AVX2 FMA" : "SSE";
}

double fma_loop_gflops_one_thread(double seconds) {
    if (__builtin_cpu_supports("avx512f")) return fma_gflops_avx512(seconds);
    if (__builtin_cpu_supports("fma") && __builtin_cpu_supports("avx2")) return fma_gflops_avx2(seconds);
    return fma_gflops_sse(seconds);
}

// One core's peak: the best of three half-second runs.
double fma_peak_gflops_per_core() {
    double best = 0;
    for (int r = 0; r < 3; ++r) best = std::max(best, fma_loop_gflops_one_thread(0.5));
    return best;
}

struct Layer {
    const char* name;
    bool transposed;
    int64_t in_c, out_c, in_hw;
    int stride, pad;
};

void time_layers(const Options& o, double core_peak) {
    const double peak = core_peak * o.threads;
    const int64_t ngf = kConfig.ngf, ndf = kConfig.ndf, nc = kConfig.nc;
    const std::vector<Layer> layers = {
        {"G1 100->128 1->4", true, kConfig.nz, ngf * 4, 1, 1, 0}, {"G2 128->64 4->8", true, ngf * 4, ngf * 2, 4, 2, 1},
        {"G3 64->32 8->16", true, ngf * 2, ngf, 8, 2, 1},         {"G4 32->1 16->32", true, ngf, nc, 16, 2, 1},
        {"D1 1->32 32->16", false, nc, ndf, 32, 2, 1},            {"D2 32->64 16->8", false, ndf, ndf * 2, 16, 2, 1},
        {"D3 64->128 8->4", false, ndf * 2, ndf * 4, 8, 2, 1},    {"D4 128->1 4->1", false, ndf * 4, 1, 4, 1, 0},
    };
    Generator gen{1, 0};
    std::printf("\n### Convolution passes alone, batch %d, median of 15, %d threads\n\n", o.batch, o.threads);
    std::printf("Peak: %s, %.1f GFLOP/s per core (measured on the thread's CPU time), %.1f on %d cores. "
                "'of peak (wall)' divides by the %d-core peak; 'per CPU-s' is GFLOP per second of the process's CPU "
                "time, over the one-core peak (what each core did while it ran).\n\n",
                fma_isa(), core_peak, peak, o.threads, o.threads);
    std::printf("| layer | pass | MFLOP | ms (wall) | GFLOP/s | of peak (wall) | per CPU-s | of core peak | "
                "target (>= 100 MFLOP: 50%%) |\n");
    std::printf("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n");
    for (const Layer& l : layers) {
        const Tensor x = Tensor::normal({o.batch, l.in_c, l.in_hw, l.in_hw}, 0, 1, gen);
        Tensor w, y;
        std::function<void()> pass[3];
        if (l.transposed) {
            const auto opt = ConvTranspose2dOptions::square(l.stride, l.pad);
            w = Tensor::normal({l.in_c, l.out_c, 4, 4}, 0, 0.02, gen);
            y = kernels::conv_transpose2d_forward(x, w, Tensor(), opt);
            const Tensor dy = Tensor::normal(y.shape(), 0, 1, gen);
            pass[0] = [&, opt] { kernels::conv_transpose2d_forward(x, w, Tensor(), opt); };
            pass[1] = [&, opt, dy] { kernels::conv_transpose2d_backward_input(dy, w, x.shape(), opt); };
            pass[2] = [&, opt, dy] { kernels::conv_transpose2d_backward_weight(dy, x, w.shape(), opt); };
        } else {
            const auto opt = Conv2dOptions::square(l.stride, l.pad);
            w = Tensor::normal({l.out_c, l.in_c, 4, 4}, 0, 0.02, gen);
            y = kernels::conv2d_forward(x, w, Tensor(), opt);
            const Tensor dy = Tensor::normal(y.shape(), 0, 1, gen);
            pass[0] = [&, opt] { kernels::conv2d_forward(x, w, Tensor(), opt); };
            pass[1] = [&, opt, dy] { kernels::conv2d_backward_input(dy, w, x.shape(), opt); };
            pass[2] = [&, opt, dy] { kernels::conv2d_backward_weight(dy, x, w.shape(), opt); };
        }
        // 2 * N * (conv2d-side output pixels) * K * C*R*S, counted on the smaller side.
        const Tensor& small = l.transposed ? x : y;
        const double mflop = 2.0 * double(small.numel()) * double(l.transposed ? l.out_c : l.in_c) * 16 / 1e6;
        const char* names[3] = {"forward", "grad-input", "grad-weight"};
        for (int p = 0; p < 3; ++p) {
            pass[p]();
            std::vector<double> ms, cpu;
            for (int r = 0; r < 15; ++r) {
                const double c0 = process_cpu_ms();
                const auto t0 = std::chrono::steady_clock::now();
                pass[p]();
                ms.push_back(ms_since(t0));
                cpu.push_back(process_cpu_ms() - c0);
            }
            const double t = median(ms), gflops = mflop / t, per_cpu = mflop / median(cpu);
            const bool met = gflops >= 0.5 * peak || per_cpu >= 0.5 * core_peak;
            const char* verdict = mflop < 100 ? "-" : gflops >= 0.5 * peak ? "met" : met ? "met (CPU time)" : "**missed**";
            std::printf("| %s | %s | %.1f | %.3f | %.1f | %.0f%% | %.1f | %.0f%% | %s |\n", l.name, names[p], mflop, t,
                        gflops, 100 * gflops / peak, per_cpu, 100 * per_cpu / core_peak, verdict);
        }
    }
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "cpu_step: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        auto positive = [&](const std::string& v) {
            const int n = std::atoi(v.c_str());
            if (n < 1) {
                std::fprintf(stderr, "cpu_step: %s must be a positive integer, got '%s'\n", a.c_str(), v.c_str());
                std::exit(2);
            }
            return n;
        };
        if (a == "--threads") o.threads = positive(value());
        else if (a == "--iters") o.iters = positive(value());
        else if (a == "--warmup") o.warmup = std::max(0, std::atoi(value().c_str()));
        else if (a == "--rounds") o.rounds = positive(value());
        else if (a == "--batch") o.batch = positive(value());
        else if (a == "--python") o.python = value();
        else if (a == "--no-torch") o.torch = false;
        else if (a == "--no-layers") o.layers = false;
        else {
            std::fprintf(stderr,
                         "usage: cpu_step [--threads 2] [--iters 30] [--warmup 5] [--rounds 3] [--batch 64] "
                         "[--python python3] [--no-torch] [--no-layers]\n");
            std::exit(2);
        }
    }
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse(argc, argv);
    set_cpu_threads(o.threads);
    std::string script;
    if (o.torch) {
        script = script_path(argv[0]);
        const std::string probe = run_command(o.python + " -c 'import torch; print(\"torch\", torch.__version__)' 2>/dev/null");
        if (script.empty() || probe.rfind("torch ", 0) != 0) {
            std::printf("PyTorch not found (%s): libganops alone.\n", script.empty() ? "no script" : o.python.c_str());
            script.clear();
        } else {
            std::printf("PyTorch %s", probe.c_str() + 6);
        }
    }
    std::printf("## cpu_step: DCGAN 32x32 (nc %lld, ngf = ndf = %lld, nz %lld), batch %d, Adam, %d threads\n\n",
                static_cast<long long>(kConfig.nc), static_cast<long long>(kConfig.ngf),
                static_cast<long long>(kConfig.nz), o.batch, o.threads);
    std::printf("Wall: median ms per iteration; CPU: the process's CPU ms per iteration (all threads; "
                "spinning counts, waiting for a core does not).\n\n");
    std::printf("| round | libganops wall | PyTorch wall | ratio | libganops CPU | PyTorch CPU | ratio |\n");
    std::printf("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    OurStep ours(o.batch);
    std::vector<double> our_ms, torch_ms, our_cpu, torch_cpu;
    for (int r = 0; r < o.rounds; ++r) {
        const auto [wall, cpu] = ours.round_ms(r == 0 ? o.warmup : 1, o.iters);
        our_ms.push_back(wall);
        our_cpu.push_back(cpu);
        const auto [t, tc] = script.empty() ? std::pair<double, double>{NAN, NAN} : torch_round_ms(o, script);
        if (std::isfinite(t)) {
            torch_ms.push_back(t);
            torch_cpu.push_back(tc);
        }
        std::printf("| %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n", r + 1, wall, t, wall / t, cpu, tc, cpu / tc);
        std::fflush(stdout);
    }
    const double ours_median = median(our_ms), ours_cpu = median(our_cpu);
    const double torch_median = torch_ms.empty() ? NAN : median(torch_ms);
    const double torch_cpu_median = torch_cpu.empty() ? NAN : median(torch_cpu);
    std::printf("| median | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n\n", ours_median, torch_median,
                ours_median / torch_median, ours_cpu, torch_cpu_median, ours_cpu / torch_cpu_median);
    std::printf("libganops: %.2f ms/iter (%.0f images/s)", ours_median, 1000.0 * o.batch / ours_median);
    if (std::isfinite(torch_median))
        std::printf("; PyTorch: %.2f ms/iter (%.0f images/s); libganops / PyTorch = %.2f", torch_median,
                    1000.0 * o.batch / torch_median, ours_median / torch_median);
    std::printf("\n");
    if (o.layers) time_layers(o, fma_peak_gflops_per_core());
    return 0;
}
