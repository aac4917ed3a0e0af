#include "gan_loop.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>

#include "common/fashion_mnist.h"
#include "common/sample_classifier.h"
#include "common/sample_quality.h"
#include "image.h"
#include <ganops/nn/distributed/launch.h>

namespace gan_family {

using namespace ganops;

void add_options(CLI::App& app, Options& o, bool image_size_fixed, bool has_batchnorm) {
    app.add_option("--dataroot", o.dataroot, "folder with the Fashion-MNIST IDX files")->capture_default_str();
    app.add_option("--batchSize", o.batch_size, "input batch size")->check(CLI::PositiveNumber)->capture_default_str();
    if (!image_size_fixed)
        app.add_option("--imageSize", o.image_size, "height and width of the images")
            ->check(CLI::IsMember({16, 32, 64}))->capture_default_str();
    app.add_option("--nz", o.nz, "size of the latent z vector")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--niter", o.niter, "number of epochs")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--max-iters", o.max_iters, "stop after this many iterations (0: every epoch)")->capture_default_str();
    app.add_option("--sample-every", o.sample_every, "write a sample grid every N iterations (0: epoch ends only)")
        ->capture_default_str();
    app.add_option("--lr", o.lr, "learning rate")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--beta1", o.beta1, "Adam beta1")->check(CLI::Range(0.0, 0.999999))->capture_default_str();
    app.add_option("--manualSeed", o.seed, "seed")->capture_default_str();
    app.add_option("--outf", o.outf, "output folder")->capture_default_str();
    app.add_option("--device", o.device, "cuda or cpu (default: cuda when a GPU is there)")
        ->check(CLI::IsMember({"cuda", "cpu"}));
    app.add_option("--precision", o.precision,
                   "CUDA convolutions: fp32 (strict), tf32 (tensor cores, the default), bf16, or fp32-accurate (3xTF32); "
                   "the CPU computes in fp32")
        ->check(CLI::IsMember({"fp32", "tf32", "bf16", "fp32-accurate"}));
    app.add_option("--classifier", o.classifier,
                   "a fashion_classifier .safetensors: report Frechet distance and class coverage at the end");
    app.add_option("--eval-samples", o.eval_samples, "generated images for the evaluation")
        ->check(CLI::PositiveNumber)->capture_default_str();
    // As dcgan_bedroom's (examples/dcgan_bedroom/command_line.cpp).
    app.add_flag("--distributed", o.distributed,
                 "data-parallel over the processes of `mpirun -np N` (--batchSize is the global batch, split over them)");
    if (has_batchnorm)
        app.add_flag("--sync-bn", o.sync_bn, "with --distributed: batchnorm statistics over the global batch (default: per rank)");
    app.add_option("--dist-backend", o.dist_backend, "with --distributed: auto (NCCL for GPU tensors when built in), mpi, nccl")
        ->check(CLI::IsMember({"auto", "mpi", "nccl"}))
        ->capture_default_str();
}

Ranks::Ranks(const Options& o, dist::Communicator* comm) : comm_(comm), global_batch_(o.batch_size), sync_bn_(o.sync_bn) {
    GANOPS_CHECK(comm || !o.sync_bn, "--sync-bn needs --distributed");
    GANOPS_CHECK(o.batch_size % size() == 0, "--batchSize ", o.batch_size, " does not split evenly over ", size(),
                 " ranks: with --distributed it is the global batch, a multiple of the number of ranks");
}

Tensor Ranks::my_rows(const Tensor& global) const {
    if (size() == 1) return global;
    GANOPS_CHECK(global.size(0) == global_batch_, "Ranks::my_rows: a draw of ", global.str(), " is not one of the global batch of ",
                 global_batch_);
    const int64_t n = local_batch();
    return global.slice_rows(rank() * n, (rank() + 1) * n);
}

void Ranks::replicate(nn::Module& module) const {
    if (comm_) dist::make_replica(*comm_, module, sync_bn_);
}

std::unique_ptr<dist::GradientReducer> Ranks::reducer(const std::vector<Tensor>& parameters) const {
    return comm_ && comm_->size() > 1 ? std::make_unique<dist::GradientReducer>(*comm_, parameters) : nullptr;
}

int launch(const std::string& program, const Options& o, const std::function<int(Ranks& ranks)>& body) {
    try {
        if (!o.distributed) {
            Ranks ranks(o, nullptr);
            return body(ranks);
        }
        return dist::run_as_rank({.program = program, .device = o.device, .backend = o.dist_backend},
                                 [&](dist::Communicator& comm) {
                                     Ranks ranks(o, &comm);
                                     return body(ranks);
                                 });
    } catch (const std::exception& e) {  // one process (several ranks end in run_as_rank)
        std::fprintf(stderr, "%s: %s\n", program.c_str(), e.what());
        return 1;
    }
}

void backward_and_average(const Tensor& loss, dist::GradientReducer* reducer) {
    if (reducer) reducer->overlap_next_backward();
    loss.backward();
    if (reducer) reducer->finish();
}

Device device_of(const Options& o) {
    if (o.device.empty()) return cuda::available() ? Device::CUDA : Device::CPU;
    return o.device == "cuda" ? Device::CUDA : Device::CPU;
}

Tensor one_hot(const Tensor& labels, int64_t classes, int64_t spatial) {
    const std::vector<float> l = labels.to_vector();
    const int64_t n = labels.numel(), plane = spatial > 0 ? spatial * spatial : 1;
    std::vector<float> v(static_cast<size_t>(n * classes * plane), 0.0f);
    for (int64_t i = 0; i < n; ++i) {
        const int64_t c = int64_t(l[size_t(i)]);
        GANOPS_CHECK(c >= 0 && c < classes, "one_hot: label ", l[size_t(i)], " is not one of ", classes, " classes");
        std::fill_n(v.begin() + (i * classes + c) * plane, plane, 1.0f);
    }
    const Shape shape = spatial > 0 ? Shape{n, classes, spatial, spatial} : Shape{n, classes};
    return Tensor::from_vector(shape, v, labels.device());
}

StepResult adversarial_step(nn::Adam& optD, nn::Adam& optG, const std::function<Tensor()>& d_real,
                            const std::function<Tensor()>& generate, const std::function<Tensor(const Tensor&)>& d_fake,
                            dist::GradientReducer* average_d, dist::GradientReducer* average_g) {
    optD.zero_grad();
    const Tensor out_real = d_real();
    const Tensor err_real = binary_cross_entropy(out_real, Tensor::full(out_real.shape(), 1.0, DType::F32, out_real.device()));
    err_real.backward();
    const Tensor fake = generate();
    const Tensor out_fake = d_fake(fake.detach());
    const Tensor err_fake = binary_cross_entropy(out_fake, Tensor::zeros(out_fake.shape(), DType::F32, out_fake.device()));
    backward_and_average(err_fake, average_d);
    optD.step();
    optG.zero_grad();
    const Tensor out_g = d_fake(fake);
    const Tensor err_g = binary_cross_entropy(out_g, Tensor::full(out_g.shape(), 1.0, DType::F32, out_g.device()));
    backward_and_average(err_g, average_g);
    optG.step();
    return {err_real.item() + err_fake.item(), err_g.item(), mean(out_real).item(), mean(out_fake).item(), mean(out_g).item()};
}

namespace {

void evaluate(const Options& o, Model& model, const std::string& program) {
    const Device device = device_of(o);
    const auto classifier = examples::load_classifier(o.classifier, device);
    const examples::LabelledImages test = examples::load_fashion_mnist(o.dataroot, "t10k", 32, o.eval_samples);
    Generator gen{o.seed + 77, 0};
    std::vector<Tensor> parts;
    for (int64_t done = 0; done < o.eval_samples; done += o.batch_size) {
        NoGradGuard no_grad;
        parts.push_back(model.sample(std::min(o.batch_size, o.eval_samples - done), gen).to(Device::CPU));
    }
    std::vector<float> all;
    for (const Tensor& p : parts) {
        const std::vector<float> v = p.to_vector();
        all.insert(all.end(), v.begin(), v.end());
    }
    const Tensor generated = Tensor::from_vector(parts[0].shape().with(0, o.eval_samples), all);
    examples::report(examples::sample_quality(*classifier, test.images, generated), o.eval_samples, program + ": ",
                     o.outf + "/metrics.json");
}

}  // namespace

int run(const std::string& program, const Options& o, Model& model, const Ranks& ranks) {
    const bool root = ranks.root();
    try {
        if (root) std::filesystem::create_directories(o.outf);
        const Device device = device_of(o);
        // How CUDA convolutions round (core/precision.h); TF32 unless asked, as in PyTorch.
        const Precision precision = parse_precision(o.precision.empty() ? "tf32" : o.precision);
        const PrecisionScope precision_scope(device == Device::CUDA ? precision : matmul_precision());
        if (root && device == Device::CUDA) std::printf("%s: precision %s\n", program.c_str(), precision_name(precision));
        else if (root && !o.precision.empty())
            std::printf("%s: --precision %s does not apply on the CPU, which computes in fp32\n", program.c_str(),
                        o.precision.c_str());
        const examples::LabelledImages data = examples::load_fashion_mnist(o.dataroot, "train", o.image_size);
        const int64_t n = data.images.size(0), per_epoch = n / o.batch_size, plane = data.images.numel() / n;
        const int64_t local_batch = ranks.local_batch();
        GANOPS_CHECK(per_epoch > 0, program, ": ", n, " images are fewer than one batch of ", o.batch_size);
        if (root)
            std::printf("%s: %lld Fashion-MNIST images of %lldx%lld on %s\n", program.c_str(), static_cast<long long>(n),
                        static_cast<long long>(o.image_size), static_cast<long long>(o.image_size), device_name(device));
        if (root && ranks.size() > 1)
            std::printf("distributed: %d ranks over %s, %lld images per rank of each batch of %lld, %s batchnorm\n", ranks.size(),
                        dist::backend_name(ranks.communicator()->backend()), static_cast<long long>(local_batch),
                        static_cast<long long>(o.batch_size), o.sync_bn ? "synchronised" : "per-replica");
        Generator shuffle{o.seed + 5, 0};
        const float* pixels = data.images.data<float>();
        const float* labels = data.labels.data<float>();
        auto save_grid = [&](const std::string& name) {
            NoGradGuard no_grad;
            const std::string path = o.outf + "/" + name;
            dcgan::save_image_grid(model.grid().to(Device::CPU), model.grid_per_row, path);
            return path;
        };
        int64_t iteration = 0;
        const auto t0 = std::chrono::steady_clock::now();
        for (int64_t epoch = 0; epoch < o.niter; ++epoch) {
            // The same order on every rank (one seed); each takes its rows of every global batch.
            const std::vector<int64_t> order =
                dist::shard_epoch_order(random_permutation(n, shuffle), o.batch_size, ranks.rank(), ranks.size());
            for (int64_t b = 0; b < per_epoch; ++b, ++iteration) {
                if (o.max_iters > 0 && iteration >= o.max_iters) break;
                Tensor images = Tensor::empty({local_batch, 1, o.image_size, o.image_size});
                std::vector<float> batch_labels(static_cast<size_t>(local_batch));
                for (int64_t i = 0; i < local_batch; ++i) {
                    const int64_t k = order[size_t(b * local_batch + i)];
                    std::copy(pixels + k * plane, pixels + (k + 1) * plane, images.data<float>() + i * plane);
                    batch_labels[size_t(i)] = labels[k];
                }
                if (iteration == 0 && root) {
                    dcgan::save_image_grid(images.slice_rows(0, std::min<int64_t>(64, local_batch)), 8, o.outf + "/real_samples.png");
                    std::printf("real samples: %s/real_samples.png\n", o.outf.c_str());
                }
                StepResult r = model.step(images.to(device), Tensor::from_vector({local_batch}, batch_labels, device));
                if (ranks.size() > 1) {
                    // The global batch's numbers: equal shards, so the mean of the ranks' means.
                    // Every rank gets the same values and so takes the same decisions below.
                    const std::vector<double> sum = ranks.communicator()->all_reduce_sum_host(
                        {r.loss_d, r.loss_g, r.d_x, r.d_g_z1, r.d_g_z2});
                    r = {sum[0] / ranks.size(), sum[1] / ranks.size(), sum[2] / ranks.size(), sum[3] / ranks.size(),
                         sum[4] / ranks.size()};
                }
                if (!std::isfinite(r.loss_d) || !std::isfinite(r.loss_g)) {
                    if (root)
                        std::fprintf(stderr, "%s: stopping at iteration %lld: the losses are not finite (Loss_D %g, Loss_G %g); "
                                     "the weights of the last finished epoch are kept\n",
                                     program.c_str(), static_cast<long long>(iteration), r.loss_d, r.loss_g);
                    return 3;
                }
                if (!root) continue;
                const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                std::printf("[%lld/%lld][%lld/%lld] Loss_D: %.4f Loss_G: %.4f D(x): %.4f D(G(z)): %.4f / %.4f  %.0f img/s\n",
                            static_cast<long long>(epoch), static_cast<long long>(o.niter), static_cast<long long>(b),
                            static_cast<long long>(per_epoch), r.loss_d, r.loss_g, r.d_x, r.d_g_z1, r.d_g_z2,
                            double((iteration + 1) * o.batch_size) / std::max(seconds, 1e-9));
                if (o.sample_every > 0 && (iteration + 1) % o.sample_every == 0)
                    std::printf("samples: %s\n", save_grid("fake_samples_latest.png").c_str());
            }
            if (root) {
                char tag[32];
                std::snprintf(tag, sizeof tag, "epoch_%03lld", static_cast<long long>(epoch));
                std::printf("samples: %s\n", save_grid(std::string("fake_samples_") + tag + ".png").c_str());
                for (const auto& [stem, module] : model.saved)
                    nn::save_state_dict(*module, o.outf + "/" + stem + "_" + tag + ".safetensors");
            }
            if (o.max_iters > 0 && iteration >= o.max_iters) break;
        }
        if (!root) return 0;
        if (!o.classifier.empty()) evaluate(o, model, program);
        std::printf("done: %lld iterations; images and weights are in %s/\n", static_cast<long long>(iteration), o.outf.c_str());
        return 0;
    } catch (const std::exception& e) {
        if (ranks.size() > 1) throw;  // launch() ends every rank, naming this one
        std::fprintf(stderr, "%s: %s\n", program.c_str(), e.what());
        return 1;
    }
}

}  // namespace gan_family
