// One whole DCGAN 64x64 training iteration with libganops on the GPU (nz 100, ngf = ndf = 64,
// Adam lr 2e-4 beta1 0.5, BCE), run by the training program's own step
// (examples/dcgan_bedroom/step.h): D on a real batch, G's fake batch through D detached, D's
// Adam step, then fake through D for G's loss (G's gradients only) and G's Adam step, losses
// and D's outputs kept on the device. A fresh real batch is drawn on the GPU every iteration.
//
// Per precision mode (core/precision.h), path (the iteration replayed as a CUDA graph, or
// eager) and batch size: warm-up iterations, then --iters iterations each bracketed by CUDA
// events on the step's stream; median and minimum ms per iteration, host wall-clock ms per
// iteration over the timed loop, images/s from the median, kernel launches, graph launches
// and host synchronisations per timed iteration (ganops::cuda_counters(); the batch's
// uniform fill is one of the launches), cudaMalloc calls while timed, and the peak device
// memory held by tensors from the first warm-up iteration on (the caching allocator's
// peak_bytes_requested, which counts what PyTorch's max_memory_allocated does; a graph's
// replays allocate nothing, its capture did as one iteration), with, below the table, the
// blocks serving it (peak_bytes_in_use) and the memory model's prediction.
// The losses must stay finite, else the program fails.
//
// Unless --no-pytorch, it then runs benchmarks/pytorch_dcgan_step.py (PyTorch eager, fused
// Adam; fp32, tf32 and bf16 autocast + channels_last) in the same call, when python3 with
// PyTorch and a GPU are there, so both sides are measured on the same machine and moment.
//
// With a GPU it also prints, per batch, the measured median next to the roofline model's
// prediction for this GPU (benchmarks/roofline.h) and their ratio; NOTES.md keeps that table.
//
// `--predict` prints the model's prediction instead and needs no GPU: it is handled before
// anything touches CUDA, and in a build without CUDA this program is only that (see
// benchmarks/CMakeLists.txt). The time model is followed by the memory model's predicted
// peak next to PyTorch's (benchmarks/memory_model.h).
//
// Usage: dcgan_step [--batches 128,64] [--iters 200] [--warmup 20] [--modes tf32,fp32,bf16,fp32-accurate]
//                   [--paths graph,eager] [--no-pytorch] [--channels-last]
// --channels-last runs the step on NHWC activations (dcgan_bedroom's default in tf32/bf16).
//        dcgan_step --predict [--gpu h100-sxm|h100-pcie|h200|a100|all] [--batch 128] [--launch-us 3]
//                   [--graph-node-us 1] [--eager]
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "memory_model.h"
#include "roofline.h"

namespace {
// The time prediction (roofline.h), then the memory prediction at the same --batch.
int predict(int argc, char** argv) {
    const int status = roofline::predict_main(argc, argv);
    if (status != 0) return status;
    roofline::DcganShape shape;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], "--batch") == 0) shape.batch = std::atoll(argv[i + 1]);
    std::fputs(memory_model::memory_report(shape).c_str(), stdout);
    return 0;
}
}  // namespace

#if defined(GANOPS_DCGAN_STEP_PREDICT_ONLY)

int main(int argc, char** argv) {
    if (roofline::wants_predict(argc, argv)) return predict(argc, argv);
    std::fprintf(stderr,
                 "dcgan_step: built without CUDA; only the prediction is available:\n"
                 "  dcgan_step --predict [--gpu h100-sxm|h100-pcie|h200|a100|all] [--batch 128] [--launch-us 3] "
                 "[--graph-node-us 1] [--eager]\n");
    return 2;
}

#else

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <ganops/ganops.h>

#include "bench_common.h"
#include "step.h"

using namespace ganops;

namespace {

struct Result {
    std::string mode, path;
    int batch = 0;
    double median_ms = 0, min_ms = 0, wall_ms = 0, peak_mib = 0, peak_block_mib = 0;
    double launches = 0, graph_launches = 0, host_syncs = 0;  // per timed iteration
    int64_t mallocs_while_timed = 0;
    double loss_d = 0, loss_g = 0;
    bool channels_last = false;  // --channels-last: NHWC activations (step.h)
};

Result run(Precision precision, bool graph, int batch, int warmup, int iters, bool channels_last) {
    PrecisionScope scope(precision);
    const nn::DcganConfig config{.nz = 100, .ngf = 64, .ndf = 64, .nc = 3, .image_size = 64};
    manual_seed(1);
    Generator init{5, 0}, data{6, 0}, noise{7, 0}, tricks{8, 0}, dropout{9, 0};
    auto g = std::make_unique<nn::DcganGenerator>(config);
    auto d = std::make_unique<dcgan::Discriminator>(config, 0.0, dropout);
    nn::dcgan_init(*g, init);
    nn::dcgan_init(*d, init);
    g->to(Device::CUDA);
    d->to(Device::CUDA);
    nn::Adam opt_g(g->parameters(), {.lr = 2e-4, .beta1 = 0.5});
    nn::Adam opt_d(d->parameters(), {.lr = 2e-4, .beta1 = 0.5});
    cuda::reset_peak_stats();
    dcgan::DcganStep step(*g, *d, opt_g, opt_d,
                          {.batch_size = batch, .nz = config.nz, .device = Device::CUDA, .cuda_graph = graph,
                           .channels_last = channels_last},
                          noise,
                          tricks, 0, warmup + iters);
    cuda::StreamGuard on(step.stream());
    auto iteration = [&](int i) {
        const Tensor real = Tensor::uniform({batch, config.nc, config.image_size, config.image_size}, -1, 1, data,
                                            DType::F32, Device::CUDA);
        step.run(real, i, 0.0);
    };

    for (int i = 0; i < warmup; ++i) iteration(i);
    BENCH_CUDA(cudaStreamSynchronize(step.stream()));
    const CudaCounters before = cuda_counters();
    std::vector<cudaEvent_t> events(2 * size_t(iters));
    for (cudaEvent_t& e : events) BENCH_CUDA(cudaEventCreate(&e));
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; ++i) {
        BENCH_CUDA(cudaEventRecord(events[2 * size_t(i)], step.stream()));
        iteration(warmup + i);
        BENCH_CUDA(cudaEventRecord(events[2 * size_t(i) + 1], step.stream()));
    }
    BENCH_CUDA(cudaStreamSynchronize(step.stream()));
    const double wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    const CudaCounters after = cuda_counters();
    BENCH_CUDA(cudaGetLastError());

    Result r;
    r.mode = precision_name(precision);
    r.path = graph ? "graph" : "eager";
    r.batch = batch;
    r.channels_last = channels_last;
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
    r.launches = double(after.launches - before.launches) / iters;
    r.graph_launches = double(after.graph_launches - before.graph_launches) / iters;
    r.host_syncs = double(after.host_syncs - before.host_syncs) / iters;
    r.mallocs_while_timed = after.device_allocations - before.device_allocations;
    r.peak_mib = double(cuda::allocator_stats().peak_bytes_requested) / (1 << 20);
    r.peak_block_mib = double(cuda::allocator_stats().peak_bytes_in_use) / (1 << 20);
    const kernels::MonitorReadout m = kernels::read_monitor(step.monitor);
    r.loss_d = m.slots.back()[dcgan::kLossD];
    r.loss_g = m.slots.back()[dcgan::kLossG];
    bench::expect_true(bench::fmt("%s %s batch %d: every loss and output of D stayed finite (first bad iteration %lld)",
                                  r.mode.c_str(), r.path.c_str(), batch, static_cast<long long>(m.first_nonfinite)),
                       m.first_nonfinite < 0);
    bench::expect_true(bench::fmt("%s %s batch %d: no host synchronisation and no cudaMalloc while timed (%g, %lld)",
                                  r.mode.c_str(), r.path.c_str(), batch, r.host_syncs,
                                  static_cast<long long>(r.mallocs_while_timed)),
                       r.host_syncs == 0 && r.mallocs_while_timed == 0);
    return r;
}

std::vector<std::string> split_list(const std::string& list) {
    std::vector<std::string> out;
    std::stringstream in(list);
    for (std::string item; std::getline(in, item, ',');)
        if (!item.empty()) out.push_back(item);
    return out;
}

// PyTorch in the same call: its script's table, printed as it comes.
void run_pytorch(const std::vector<int>& batches, int iters, int warmup) {
    std::ostringstream text;
    text << "python3 " << GANOPS_SOURCE_DIR << "/benchmarks/pytorch_dcgan_step.py --batches";
    for (int b : batches) text << ' ' << b;
    text << " --modes fp32 tf32 bf16 --iters " << iters << " --warmup " << warmup << " 2>&1";
    const std::string command = text.str();
    std::printf("\n### PyTorch in the same call: `%s`\n\n", command.c_str());
    std::fflush(stdout);
    const int status = std::system(command.c_str());
    if (status != 0) std::printf("\n(PyTorch run unavailable or failed: exit status %d)\n", status);
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
    std::printf("Prediction for %s (`dcgan_step --predict --gpu %s --batch N`, `--eager` for the eager path); the "
                "model's kernels run strict fp32. A miss by more than 2x means the model needs correcting (NOTES.md).\n\n",
                gpu->name, gpu->key);
    std::printf("| mode | path | batch | measured ms/iter (median) | predicted ms/iter | measured / predicted | of which "
                "launch (predicted) | ideal floor fp32 | ideal floor TF32 | within 2x |\n");
    std::printf("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n");
    for (const Result& r : results) {
        roofline::DcganShape shape;
        shape.batch = r.batch;
        roofline::ModelParams params;
        params.cuda_graph = r.path == "graph";
        const roofline::IterationSummary s =
            roofline::summarize(roofline::dcgan_iteration(shape, *gpu, params), *gpu, params);
        const double ratio = r.median_ms / s.today_ms;
        std::printf("| %s | %s | %d | %.3f | %.3f | %.2f | %.2f | %.3f | %.3f | %s |\n", r.mode.c_str(), r.path.c_str(),
                    r.batch, r.median_ms, s.today_ms, ratio, s.launch_ms, s.floor_ms[0], s.floor_ms[1],
                    ratio > 0.5 && ratio < 2.0 ? "yes" : "**no**");
    }
}

}  // namespace

int main(int argc, char** argv) {
    // Before anything else: the prediction must not initialise CUDA (no GPU needed).
    if (roofline::wants_predict(argc, argv)) return predict(argc, argv);
    const bench::Args args(argc, argv, {"--batches", "--iters", "--warmup", "--modes", "--paths"}, {"--predict", "--no-pytorch", "--channels-last"});
    const std::vector<int> batches = args.get_ints("--batches", {128, 64});
    const int iters = std::max(1, args.get_int("--iters", 200));
    const int warmup = std::max(3, args.get_int("--warmup", 20));  // two eager iterations and the capture at least
    const std::vector<std::string> modes = split_list(args.get("--modes", "tf32,fp32,bf16,fp32-accurate"));
    const std::vector<std::string> paths = split_list(args.get("--paths", "graph,eager"));
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
        for (const std::string& mode : modes)
            for (const std::string& path : paths) {
                if (path != "graph" && path != "eager") fail("dcgan_step: --paths takes graph and eager, got ", path);
                for (const int batch : batches) results.push_back(run(parse_precision(mode), path == "graph", batch, warmup, iters, args.flag("--channels-last")));
            }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "dcgan_step: %s\n", e.what());
        return 5;
    }
    std::printf("\n### Whole training iteration (D real + D fake + G, both Adam steps), median of %d after %d warm-up\n\n",
                iters, warmup);
    // The first eight columns are pytorch_dcgan_step.py's (benchmarks/run_all.sh joins the two tables).
    std::printf("| implementation | mode | batch | ms/iter (median) | ms/iter (min) | wall ms/iter | images/s | peak MiB | "
                "launches/iter | graph launches/iter | host syncs/iter |\n");
    std::printf("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (const Result& r : results)
        std::printf("| libganops (%s%s) | %s | %d | %.3f | %.3f | %.3f | %.0f | %.0f | %.1f | %.1f | %.2f |\n", r.path.c_str(),
                    r.channels_last ? ", channels-last" : "",
                    r.mode.c_str(), r.batch, r.median_ms, r.min_ms, r.wall_ms, 1000.0 * r.batch / r.median_ms, r.peak_mib,
                    r.launches, r.graph_launches, r.host_syncs);
    std::printf("\n");
    for (const Result& r : results)
        std::printf("%s %s batch %d: final Loss_D %.4f, Loss_G %.4f; cudaMalloc calls during the timed loop: %lld; peak "
                    "%.1f MiB requested (%.1f MiB in blocks), predicted %.1f MiB (benchmarks/memory_model.h)\n",
                    r.mode.c_str(), r.path.c_str(), r.batch, r.loss_d, r.loss_g, static_cast<long long>(r.mallocs_while_timed),
                    r.peak_mib, r.peak_block_mib,
                    double(memory_model::dcgan_step_memory({.batch = r.batch}, r.mode == "fp32" ? memory_model::GemmPath::Simt
                                                                                                 : memory_model::GemmPath::TensorCore,
                                                           r.path == "graph")
                               .peak()) / (1 << 20));
    print_measured_vs_predicted(results, device_name);
    if (!args.flag("--no-pytorch")) run_pytorch(batches, iters, warmup);
    bench::print_validation_summary("dcgan_step");
    return bench::failures() == 0 ? 0 : 1;
}

#endif  // GANOPS_DCGAN_STEP_PREDICT_ONLY
