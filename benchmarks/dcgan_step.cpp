// One whole DCGAN 64x64 training iteration with libganops on the GPU (nz 100, ngf = ndf = 64,
// Adam lr 2e-4 beta1 0.5, BCE), as pytorch/examples trains it and as the last test case of
// tests/test_cuda_ops.cpp writes it: D on a real batch, G's fake batch through D detached,
// D's Adam step, then fake through D for G's loss and G's Adam step. Fresh real and noise
// batches are drawn on the GPU every iteration.
//
// Per batch size: warm-up iterations, then --iters iterations each bracketed by CUDA events;
// median and minimum ms per iteration, host wall-clock ms per iteration over the timed loop,
// images/s from the median, and the peak device memory held by tensors during the timed
// loop (the caching allocator's peak_bytes_in_use, reset after the warm-up). The losses must
// stay finite, else the program fails. benchmarks/pytorch_dcgan_step.py prints the same
// columns for PyTorch.
//
// With a GPU it also prints, per batch, the measured median next to the roofline model's
// prediction for this GPU (benchmarks/roofline.h) and their ratio; NOTES.md keeps that table.
//
// `--predict` prints the model's prediction instead and needs no GPU: it is handled before
// anything touches CUDA, and in a build without CUDA this program is only that (see
// benchmarks/CMakeLists.txt).
//
// Usage: dcgan_step [--batches 128,64] [--iters 200] [--warmup 20]
//        dcgan_step --predict [--gpu h100-sxm|h100-pcie|h200|a100|all] [--batch 128] [--launch-us 3]
#include <cstdio>

#include "roofline.h"

#if defined(GANOPS_DCGAN_STEP_PREDICT_ONLY)

int main(int argc, char** argv) {
    if (roofline::wants_predict(argc, argv)) return roofline::predict_main(argc, argv);
    std::fprintf(stderr,
                 "dcgan_step: built without CUDA; only the prediction is available:\n"
                 "  dcgan_step --predict [--gpu h100-sxm|h100-pcie|h200|a100|all] [--batch 128] [--launch-us 3]\n");
    return 2;
}

#else

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <ganops/ganops.h>

#include "bench_common.h"

using namespace ganops;

namespace {

struct Result {
    int batch = 0;
    double median_ms = 0, min_ms = 0, wall_ms = 0, peak_mib = 0;
    int64_t mallocs_while_timed = 0;
    double loss_d = 0, loss_g = 0;
};

Result run(int batch, int warmup, int iters) {
    const nn::DcganConfig config{.nz = 100, .ngf = 64, .ndf = 64, .nc = 3, .image_size = 64};
    manual_seed(1);
    auto g = std::make_shared<nn::DcganGenerator>(config);
    auto d = std::make_shared<nn::DcganDiscriminator>(config);
    Generator init{5, 0};
    nn::dcgan_init(*g, init);
    nn::dcgan_init(*d, init);
    g->to(Device::CUDA);
    d->to(Device::CUDA);
    nn::Adam opt_g(g->parameters(), {.lr = 2e-4, .beta1 = 0.5});
    nn::Adam opt_d(d->parameters(), {.lr = 2e-4, .beta1 = 0.5});
    Generator data{6, 0}, noise{7, 0};
    const Tensor ones = Tensor::full({batch}, 1.0, DType::F32, Device::CUDA);
    const Tensor zeros = Tensor::zeros({batch}, DType::F32, Device::CUDA);
    Tensor loss_d_real, loss_d_fake, loss_g;

    auto iteration = [&] {
        const Tensor real = Tensor::uniform({batch, config.nc, config.image_size, config.image_size}, -1, 1, data,
                                            DType::F32, Device::CUDA);
        opt_d.zero_grad();
        loss_d_real = binary_cross_entropy((*d)(real), ones);
        loss_d_real.backward();
        const Tensor fake = (*g)(Tensor::normal({batch, config.nz, 1, 1}, 0, 1, noise, DType::F32, Device::CUDA));
        loss_d_fake = binary_cross_entropy((*d)(fake.detach()), zeros);
        loss_d_fake.backward();
        opt_d.step();
        opt_g.zero_grad();
        loss_g = binary_cross_entropy((*d)(fake), ones);
        loss_g.backward();
        opt_g.step();
    };

    for (int i = 0; i < warmup; ++i) iteration();
    BENCH_CUDA(cudaDeviceSynchronize());
    const double warm_d = loss_d_real.item() + loss_d_fake.item(), warm_g = loss_g.item();
    bench::expect_true(bench::fmt("batch %d: losses after warm-up are finite (D %g, G %g)", batch, warm_d, warm_g),
                       std::isfinite(warm_d) && std::isfinite(warm_g));

    cuda::reset_peak_stats();
    const int64_t mallocs_before = cuda::allocator_stats().device_allocations;
    std::vector<cudaEvent_t> events(2 * size_t(iters));
    for (cudaEvent_t& e : events) BENCH_CUDA(cudaEventCreate(&e));
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; ++i) {
        BENCH_CUDA(cudaEventRecord(events[2 * size_t(i)], bench::stream()));
        iteration();
        BENCH_CUDA(cudaEventRecord(events[2 * size_t(i) + 1], bench::stream()));
    }
    BENCH_CUDA(cudaDeviceSynchronize());
    const double wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    BENCH_CUDA(cudaGetLastError());

    Result r;
    r.batch = batch;
    std::vector<double> ms;
    for (int i = 0; i < iters; ++i) {
        float elapsed = 0;
        BENCH_CUDA(cudaEventElapsedTime(&elapsed, events[2 * size_t(i)], events[2 * size_t(i) + 1]));
        ms.push_back(elapsed);
    }
    for (cudaEvent_t e : events) BENCH_CUDA(cudaEventDestroy(e));
    std::sort(ms.begin(), ms.end());
    const size_t n = ms.size();
    r.median_ms = n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
    r.min_ms = ms.front();
    r.wall_ms = wall_ms / iters;
    const cuda::AllocatorStats stats = cuda::allocator_stats();
    r.peak_mib = double(stats.peak_bytes_in_use) / (1 << 20);
    r.mallocs_while_timed = stats.device_allocations - mallocs_before;
    r.loss_d = loss_d_real.item() + loss_d_fake.item();
    r.loss_g = loss_g.item();
    bench::expect_true(bench::fmt("batch %d: losses after the timed loop are finite (D %g, G %g)", batch, r.loss_d,
                                  r.loss_g),
                       std::isfinite(r.loss_d) && std::isfinite(r.loss_g));
    return r;
}

// The measured median next to the model's prediction for the GPU it ran on.
void print_measured_vs_predicted(const std::vector<Result>& results, const std::string& device_name) {
    const roofline::GpuSpec* gpu = roofline::gpu_for_device_name(device_name);
    std::printf("\n### Measured against the roofline prediction (benchmarks/roofline.h)\n\n");
    if (!gpu) {
        std::printf("No published peaks for %s in benchmarks/roofline.cpp: no prediction to compare with.\n",
                    device_name.c_str());
        return;
    }
    std::printf("Prediction for %s (`dcgan_step --predict --gpu %s --batch N`); today's kernels run strict fp32. "
                "A miss by more than 2x means the model needs correcting (NOTES.md).\n\n",
                gpu->name, gpu->key);
    std::printf("| batch | measured ms/iter (median) | predicted ms/iter | measured / predicted | of which launch "
                "(predicted) | ideal floor fp32 | ideal floor TF32 | within 2x |\n");
    std::printf("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n");
    for (const Result& r : results) {
        roofline::DcganShape shape;
        shape.batch = r.batch;
        const roofline::IterationSummary s = roofline::summarize(roofline::dcgan_iteration(shape, *gpu), *gpu);
        const double ratio = r.median_ms / s.today_ms;
        std::printf("| %d | %.3f | %.3f | %.2f | %.2f | %.3f | %.3f | %s |\n", r.batch, r.median_ms, s.today_ms, ratio,
                    s.launch_ms, s.floor_ms[0], s.floor_ms[1], ratio > 0.5 && ratio < 2.0 ? "yes" : "**no**");
    }
}

}  // namespace

int main(int argc, char** argv) {
    // Before anything else: the prediction must not initialise CUDA (no GPU needed).
    if (roofline::wants_predict(argc, argv)) return roofline::predict_main(argc, argv);
    const bench::Args args(argc, argv, {"--batches", "--iters", "--warmup"}, {"--predict"});
    const std::vector<int> batches = args.get_ints("--batches", {128, 64});
    const int iters = std::max(1, args.get_int("--iters", 200));
    const int warmup = args.get_int("--warmup", 20);
    if (!cuda::available()) {
        std::fprintf(stderr, "dcgan_step: no usable CUDA device\n");
        return 2;
    }
    std::vector<Result> results;
    std::string device_name;
    try {
        std::printf("## dcgan_step: one DCGAN 64x64 training iteration with libganops\n\n");
        const bench::DeviceInfo device = bench::device_info();
        device_name = device.name;
        bench::print_device(device);
        bench::check_event_ordering();
        for (const int batch : batches) results.push_back(run(batch, warmup, iters));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "dcgan_step: %s\n", e.what());
        return 5;
    }
    std::printf("\n### Whole training iteration (D real + D fake + G, both Adam steps), median of %d after %d warm-up\n\n",
                iters, warmup);
    std::printf("| implementation | mode | batch | ms/iter (median) | ms/iter (min) | wall ms/iter | images/s | peak MiB |\n");
    std::printf("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (const Result& r : results)
        std::printf("| libganops | fp32 | %d | %.3f | %.3f | %.3f | %.0f | %.0f |\n", r.batch, r.median_ms, r.min_ms,
                    r.wall_ms, 1000.0 * r.batch / r.median_ms, r.peak_mib);
    std::printf("\n");
    for (const Result& r : results)
        std::printf("batch %d: final Loss_D %.4f, Loss_G %.4f; cudaMalloc calls during the timed loop: %lld\n", r.batch,
                    r.loss_d, r.loss_g, static_cast<long long>(r.mallocs_while_timed));
    print_measured_vs_predicted(results, device_name);
    bench::print_validation_summary("dcgan_step");
    return bench::failures() == 0 ? 0 : 1;
}

#endif  // GANOPS_DCGAN_STEP_PREDICT_ONLY
