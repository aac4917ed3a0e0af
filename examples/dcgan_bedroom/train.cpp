// Checkpoint scheme. Files in the output folder:
//   netG_epoch_XXX.safetensors, netD_epoch_XXX.safetensors
//       plain state dicts with pytorch/examples' names ("main.0.weight", ...,
//       "main.1.num_batches_tracked" as I64 []), written at the end of each epoch (and where
//       a run stops), loadable by netG.load_state_dict(safetensors.torch.load_file(...)).
//   checkpoint.safetensors
//       everything --resume needs, in one file so that one atomic rename switches from one
//       consistent state to the next:
//         netG.<state-dict name>, netD.<state-dict name>      the two models
//         optG.exp_avg.<param name>, optG.exp_avg_sq.<param name>, same for optD: Adam's moments
//         history.loss_d, history.loss_g                     F32 [iterations], for the plot
//       and in the metadata (strings): format "ganops-dcgan-run-1"; epoch, batch (the next
//       to run) and iteration (done so far); optG.step and optD.step; seed; the offsets of
//       the noise, tricks and dropout generators and the shuffle generator's offset before
//       the current epoch's order was drawn (the order is drawn again on resume); the model
//       configuration, batch size and dataset.
// Nothing in it depends on the number of ranks of a --distributed run (the batch size and
// batch index are global; every random draw is made for the global batch and sliced), so
// --resume works with any rank count. With per-replica batchnorm the running statistics
// saved are rank 0's.
// Written every epoch, on Ctrl-C and when a run stops; never after a non-finite loss, so
// the last good one stays.
#include "train.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <numeric>
#include <optional>

#include <ganops/ganops.h>
#include <ganops/nn/checkpoint.h>
#include <ganops/nn/distributed/communicator.h>
#include <ganops/nn/distributed/data_parallel.h>
#include <ganops/nn/distributed/launch.h>

#include "common/fashion_mnist.h"
#include "datasets.h"
#include "loader.h"
#include "plot.h"
#include "run_log.h"
#include "step.h"
#include "tools.h"

namespace dcgan {

using namespace ganops;
namespace fs = std::filesystem;

namespace {

constexpr const char* kRunFormat = "ganops-dcgan-run-1";

std::atomic<bool> g_interrupted{false};
extern "C" void on_interrupt(int) {
    g_interrupted = true;
    std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the program at once
    std::signal(SIGTERM, SIG_DFL);
}

struct Streams {
    Generator noise, tricks, dropout, shuffle;
};

// Everything about where a run stands that the models and optimizers do not hold.
struct RunState {
    int64_t epoch = 0, batch = 0, iteration = 0;
    uint64_t epoch_shuffle_offset = 0;
    std::vector<float> loss_d, loss_g;
};

nn::StoredTensor stored_floats(const std::vector<float>& v) {
    nn::StoredTensor s;
    s.dtype = "F32";
    s.shape = {int64_t(v.size())};
    s.bytes.resize(v.size() * 4);
    if (!v.empty()) std::memcpy(s.bytes.data(), v.data(), s.bytes.size());
    return s;
}

std::vector<float> floats_from(const nn::SafetensorsFile& f, const std::string& name, const std::string& path) {
    const nn::StoredTensor* s = f.find(name);
    GANOPS_CHECK(s && s->dtype == "F32" && s->shape.size() == 1, path, ": missing or malformed tensor \"", name, "\"");
    std::vector<float> v(size_t(s->shape[0]));
    if (!v.empty()) std::memcpy(v.data(), s->bytes.data(), v.size() * 4);
    return v;
}

void add_adam(std::vector<std::pair<std::string, nn::StoredTensor>>& out, const std::string& prefix, const nn::Module& model,
              const nn::Adam& opt) {
    const auto named = model.named_parameters();
    for (size_t i = 0; i < named.size(); ++i) {
        out.emplace_back(prefix + ".exp_avg." + named[i].first, nn::stored_from_tensor(opt.exp_avg()[i]));
        out.emplace_back(prefix + ".exp_avg_sq." + named[i].first, nn::stored_from_tensor(opt.exp_avg_sq()[i]));
    }
}

void load_adam(const nn::SafetensorsFile& f, const std::string& path, const std::string& prefix, const nn::Module& model,
               nn::Adam& opt) {
    const auto named = model.named_parameters();
    std::vector<std::pair<Tensor, Tensor>> plan;  // checked first, written after
    for (size_t i = 0; i < named.size(); ++i)
        for (const auto& [kind, dst] : {std::pair{".exp_avg.", opt.exp_avg()[i]}, std::pair{".exp_avg_sq.", opt.exp_avg_sq()[i]}}) {
            const std::string name = prefix + kind + named[i].first;
            const nn::StoredTensor* s = f.find(name);
            GANOPS_CHECK(s, path, ": missing tensor \"", name, "\"");
            const Tensor t = nn::tensor_from_stored(*s, dst.dtype());
            GANOPS_CHECK(t.shape() == dst.shape(), path, ": tensor \"", name, "\" has shape ", t.shape(), " but the model expects ",
                         dst.shape());
            nn::check_finite(t, path + ": tensor \"" + name + "\"");  // NaN moments would train into NaN
            plan.emplace_back(dst, t);
        }
    for (const auto& [dst, src] : plan) dst.copy_from(src);
    const auto it = f.metadata.find(prefix + ".step");
    GANOPS_CHECK(it != f.metadata.end(), path, ": metadata lacks ", prefix, ".step");
    opt.steps_taken = std::stoll(it->second);
}

std::string meta(const nn::SafetensorsFile& f, const std::string& key, const std::string& path) {
    const auto it = f.metadata.find(key);
    GANOPS_CHECK(it != f.metadata.end(), path, ": checkpoint metadata lacks \"", key, "\"");
    return it->second;
}

int64_t meta_int(const nn::SafetensorsFile& f, const std::string& key, const std::string& path) {
    const std::string v = meta(f, key, path);
    try {
        size_t used = 0;
        const long long n = std::stoll(v, &used);
        if (used == v.size()) return n;
    } catch (const std::exception&) {
    }
    fail(path, ": checkpoint metadata \"", key, "\" is not an integer: \"", v, "\"");
}

void save_checkpoint(const std::string& path, const TrainOptions& o, const nn::DcganConfig& config, const nn::Module& netG,
                     const nn::Module& netD, const nn::Adam& optG, const nn::Adam& optD, const Streams& rng,
                     const RunState& state, int ranks) {
    std::vector<std::pair<std::string, nn::StoredTensor>> tensors = nn::state_dict(netG, "netG.");
    for (auto& entry : nn::state_dict(netD, "netD.")) tensors.push_back(std::move(entry));
    add_adam(tensors, "optG", netG, optG);
    add_adam(tensors, "optD", netD, optD);
    tensors.emplace_back("history.loss_d", stored_floats(state.loss_d));
    tensors.emplace_back("history.loss_g", stored_floats(state.loss_g));
    const std::map<std::string, std::string> metadata = {
        {"format", kRunFormat},
        {"epoch", std::to_string(state.epoch)},
        {"batch", std::to_string(state.batch)},
        {"iteration", std::to_string(state.iteration)},
        {"seed", std::to_string(o.seed)},
        {"rng.noise", std::to_string(rng.noise.offset)},
        {"rng.tricks", std::to_string(rng.tricks.offset)},
        {"rng.dropout", std::to_string(rng.dropout.offset)},
        {"rng.epoch_shuffle", std::to_string(state.epoch_shuffle_offset)},
        {"optG.step", std::to_string(optG.steps_taken)},
        {"optD.step", std::to_string(optD.steps_taken)},
        {"nz", std::to_string(config.nz)},
        {"ngf", std::to_string(config.ngf)},
        {"ndf", std::to_string(config.ndf)},
        {"nc", std::to_string(config.nc)},
        {"imageSize", std::to_string(config.image_size)},
        {"batchSize", std::to_string(o.batch_size)},
        {"dataset", o.dataset},
        {"ranks", std::to_string(ranks)},  // for the record: a resumed run may use any number
        {"precision", o.precision},
    };
    nn::write_safetensors(path, tensors, metadata);
}

// One replica of the run; comm is null without --distributed. Every rank runs the same
// steps on its share of each global batch and takes every decision (stop, divergence)
// together with the others; rank 0 alone prints and writes files.
int train_replica(const TrainOptions& opts, dist::Communicator* comm) {
    const int rank = comm ? comm->rank() : 0, ranks = comm ? comm->size() : 1;
    const bool root = rank == 0;
    TrainOptions o = opts;
    if (o.dry_run) o.max_iters = 1;
    GANOPS_CHECK(o.image_size >= 32 && o.image_size <= 256 && (o.image_size & (o.image_size - 1)) == 0,
                 "--imageSize must be a power of two from 32 to 256, got ", o.image_size);
    GANOPS_CHECK(o.d_steps >= 1, "--d-steps must be at least 1");
    GANOPS_CHECK(o.batch_size % ranks == 0, "--batchSize ", o.batch_size, " does not split evenly over ", ranks,
                 " ranks: with --distributed it is the global batch, a multiple of the number of ranks");
    GANOPS_CHECK(comm || !o.sync_bn, "--sync-bn needs --distributed");
    const int64_t local_batch = o.batch_size / ranks;
    const bool idx_data = o.dataset == "fashion-mnist" || o.dataset == "mnist" || o.dataset == "idx";
    if (o.nc == 0) o.nc = idx_data ? 1 : 3;

    // --resume: the run's own seed and model shape win over the command line.
    nn::SafetensorsFile resume;
    std::string resumed_precision;  // empty: not resuming, or a checkpoint from before --precision
    if (!o.resume.empty()) {
        resume = nn::read_safetensors(o.resume);
        GANOPS_CHECK(resume.metadata.count("format") && resume.metadata.at("format") == kRunFormat, o.resume,
                     " is not a dcgan_bedroom checkpoint (to start from weights alone, use --netG/--netD)");
        o.seed = uint64_t(meta_int(resume, "seed", o.resume));
        o.nz = meta_int(resume, "nz", o.resume);
        o.ngf = meta_int(resume, "ngf", o.resume);
        o.ndf = meta_int(resume, "ndf", o.resume);
        o.nc = meta_int(resume, "nc", o.resume);
        o.image_size = meta_int(resume, "imageSize", o.resume);
        if (resume.metadata.count("precision")) resumed_precision = resume.metadata.at("precision");
        if (root && meta_int(resume, "batchSize", o.resume) != o.batch_size)
            std::fprintf(stderr, "warning: %s was trained with --batchSize %lld, continuing with %lld\n", o.resume.c_str(),
                         (long long)meta_int(resume, "batchSize", o.resume), (long long)o.batch_size);
    }

    Device device = Device::CPU;
    if (o.device.empty()) device = cuda::available() ? Device::CUDA : Device::CPU;
    else if (o.device == "cuda") device = Device::CUDA;
    else GANOPS_CHECK(o.device == "cpu", "--device must be cuda or cpu, got \"", o.device, "\"");
    GANOPS_CHECK(device == Device::CPU || cuda::available(), "--device cuda: no usable CUDA device (use --device cpu)");

    // How CUDA convolutions round: the command line's mode, else the resumed run's, else
    // TF32 (PyTorch's default on a GPU). Kept in the checkpoint, so a resumed run keeps it.
    // parse_precision also checks a mode that came from a checkpoint.
    if (o.precision.empty()) o.precision = resumed_precision.empty() ? "tf32" : resumed_precision;
    const Precision precision = parse_precision(o.precision);
    if (root && !resumed_precision.empty() && resumed_precision != o.precision)
        std::printf("precision: %s (the resumed run used %s)\n", o.precision.c_str(), resumed_precision.c_str());
    const PrecisionScope precision_scope(device == Device::CUDA ? precision : matmul_precision());
    if (root && device == Device::CUDA)
        std::printf("precision: %s for the CUDA convolutions\n", precision_name(precision));
    else if (root && !opts.precision.empty())
        std::printf("precision: --precision %s does not apply on the CPU, which computes in fp32\n", opts.precision.c_str());
    // Channels-last pays where the convolutions run NHWC tensor-core kernels: a GPU in TF32
    // or BF16. The CPU's batched convolution and the GPU's SIMT fp32 paths are NCHW, so there
    // it would only add conversions. Not in the checkpoint: weights keep PyTorch's layout,
    // so a run resumes in either format.
    const bool channels_last = o.channels_last != 0 ? o.channels_last > 0
                                                    : device == Device::CUDA && (precision == Precision::TF32 || precision == Precision::BF16);
    if (root && (channels_last || o.channels_last != 0))
        std::printf("memory format: %s activations\n", channels_last ? "channels-last (NHWC)" : "contiguous (NCHW)");
    auto in_run_format = [&](const Tensor& x) { return channels_last ? x.to_memory_format(MemoryFormat::ChannelsLast) : x; };

    // Fail now, not after the first epoch, when results cannot be written.
    if (root) {
        std::error_code ec;
        fs::create_directories(o.outf, ec);
        GANOPS_CHECK(!ec && fs::is_directory(o.outf), "cannot create the output folder ", o.outf, ": ",
                     ec ? ec.message() : "a file of that name exists");
        const std::string probe = (fs::path(o.outf) / ".write_test").string();
        try {
            nn::write_file_atomic(probe, "ok", 2);
        } catch (const std::exception& e) {
            fail("the output folder ", o.outf, " is not writable (", e.what(), ")");
        }
        fs::remove(probe, ec);
        // A run killed while writing (kill -9) leaves a temporary; its target is intact.
        if (const int stale = nn::remove_stale_temporaries(o.outf))
            std::printf("removed %d temporary file(s) of an interrupted write in %s\n", stale, o.outf.c_str());
    }
    auto out_path = [&](const std::string& name) { return (fs::path(o.outf) / name).string(); };

    const auto t_load = std::chrono::steady_clock::now();
    const std::unique_ptr<Dataset> data = open_dataset({.dataset = o.dataset,
                                                         .dataroot = o.dataroot,
                                                         .classes = o.classes,
                                                         .image_size = o.image_size,
                                                         .channels = o.nc,
                                                         .fake_count = o.fake_images > 0 ? o.fake_images : checked_size_product(o.batch_size, 20, "--batchSize x 20 fake images"),
                                                         .seed = o.seed + 6});
    GANOPS_CHECK(data->size() >= o.batch_size, "the dataset has ", data->size(), " images, fewer than one batch of ",
                 o.batch_size, " (", data->describe(), ")");
    const int64_t per_epoch = data->size() / o.batch_size;
    if (root) std::printf("dataset: %s (%.1f s to open); %lldx%lldx%lld, %lld batches of %lld an epoch\n", data->describe().c_str(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count(), (long long)o.nc,
                (long long)o.image_size, (long long)o.image_size, (long long)per_epoch, (long long)o.batch_size);

    manual_seed(o.seed);
    Streams rng{{o.seed + 1, 0}, {o.seed + 2, 0}, {o.seed + 3, 0}, {o.seed + 4, 0}};
    const nn::DcganConfig config{.nz = o.nz, .ngf = o.ngf, .ndf = o.ndf, .nc = o.nc, .image_size = o.image_size};
    nn::DcganGenerator netG(config);
    Discriminator netD(config, o.d_dropout, rng.dropout);
    nn::dcgan_init(netG);
    nn::dcgan_init(netD);
    netG.to(device);
    netD.to(device);
    if (!o.netG.empty()) nn::load_state_dict(netG, o.netG);
    if (!o.netD.empty()) nn::load_state_dict(netD, o.netD);
    nn::Adam optG(netG.parameters(), {.lr = o.lr, .beta1 = o.beta1, .beta2 = 0.999});
    nn::Adam optD(netD.parameters(), {.lr = o.lr, .beta1 = o.beta1, .beta2 = 0.999});
    std::optional<dist::GradientReducer> reduce_g, reduce_d;

    RunState state;
    if (!o.resume.empty()) {
        nn::load_state_dict(netG, resume, o.resume, "netG.");
        nn::load_state_dict(netD, resume, o.resume, "netD.");
        load_adam(resume, o.resume, "optG", netG, optG);
        load_adam(resume, o.resume, "optD", netD, optD);
        state.epoch = meta_int(resume, "epoch", o.resume);
        state.batch = meta_int(resume, "batch", o.resume);
        state.iteration = meta_int(resume, "iteration", o.resume);
        rng.noise.offset = uint64_t(meta_int(resume, "rng.noise", o.resume));
        rng.tricks.offset = uint64_t(meta_int(resume, "rng.tricks", o.resume));
        rng.dropout.offset = uint64_t(meta_int(resume, "rng.dropout", o.resume));
        rng.shuffle.offset = uint64_t(meta_int(resume, "rng.epoch_shuffle", o.resume));
        state.loss_d = floats_from(resume, "history.loss_d", o.resume);
        state.loss_g = floats_from(resume, "history.loss_g", o.resume);
        GANOPS_CHECK(state.batch >= 0 && state.batch <= per_epoch, o.resume, ": batch ", state.batch,
                     " does not fit an epoch of ", per_epoch, " batches (another dataset or batch size?)");
        resume = {};  // the copies are in the models now
        if (root) std::printf("resuming %s at epoch %lld, batch %lld (iteration %lld)\n", o.resume.c_str(), (long long)state.epoch,
                    (long long)state.batch, (long long)state.iteration);
    }

    if (comm) {
        // Replicas start as rank 0's models (and continue from its checkpoint).
        dist::make_replica(*comm, netG, o.sync_bn);
        dist::make_replica(*comm, netD, o.sync_bn);
        reduce_g.emplace(*comm, netG.parameters());
        reduce_d.emplace(*comm, netD.parameters());
        if (root)
            std::printf("distributed: %d ranks over %s, %lld images per rank of each batch of %lld, %s batchnorm; "
                        "gradients all-reduced: G %.1f MB in %zu buckets, D %.1f MB in %zu, a step\n",
                        ranks, dist::backend_name(comm->backend()), (long long)local_batch, (long long)o.batch_size,
                        o.sync_bn ? "synchronised" : "per-replica", reduce_g->bytes() / 1e6, reduce_g->bucket_count(),
                        reduce_d->bytes() / 1e6, reduce_d->bucket_count());
    }

    Generator fixed_gen{o.seed + 5, 0};
    const int64_t grid = std::min<int64_t>(64, o.batch_size);
    const Tensor fixed_noise = Tensor::normal({grid, o.nz, 1, 1}, 0, 1, fixed_gen, DType::F32, device);
    auto save_samples = [&](const std::string& name) {
        NoGradGuard no_grad;
        netG.eval();  // as in the reference: BN uses running statistics for the fixed-noise grid
        const Tensor samples = netG(in_run_format(fixed_noise)).to_memory_format(MemoryFormat::Contiguous);
        netG.train();
        const std::string path = out_path(name);
        save_image_grid(samples, 8, path);
        return path;
    };
    auto save_all = [&](const std::string& epoch_tag) {
        save_checkpoint(out_path("checkpoint.safetensors"), o, config, netG, netD, optG, optD, rng, state, ranks);
        if (!epoch_tag.empty()) {
            nn::save_state_dict(netG, out_path("netG_" + epoch_tag + ".safetensors"));
            nn::save_state_dict(netD, out_path("netD_" + epoch_tag + ".safetensors"));
        }
    };

    const int64_t planned = o.max_iters > 0 ? std::min(o.max_iters, o.niter * per_epoch) : o.niter * per_epoch;
    std::optional<RunLog> log;
    if (root) log.emplace(out_path(o.log_format == "jsonl" ? "log.jsonl" : "log.csv"), o.log_format);
    SkipLog skips;
    const LoaderOptions loader_options{.batch_size = local_batch, .image_size = o.image_size, .channels = o.nc,
                                       .workers = o.workers, .device = device};
    // The step queues its work and records losses and D's outputs on the device; the loop
    // reads them every `check_every` iterations (on a GPU: one host synchronisation per
    // read), and before anything is written. With --distributed it draws for the global
    // batch, works on this rank's rows and averages the gradients over the ranks.
    const int64_t check_every = device == Device::CUDA ? 16 : 1;
    StepRanks distributed;
    if (comm) {
        distributed = {.rank = rank,
                       .ranks = ranks,
                       .all_true = [&](bool mine) { return comm->all_true(mine); },
                       .overlap_d_gradients = [&] { reduce_d->overlap_next_backward(); },
                       .overlap_g_gradients = [&] { reduce_g->overlap_next_backward(); },
                       .reduce_d_gradients = [&] { reduce_d->finish(); },
                       .reduce_g_gradients = [&] { reduce_g->finish(); },
                       .mean_over_ranks = [&](const Tensor& x) { return dist::all_reduce_mean(*comm, x); }};
    }
    DcganStep step(netG, netD, optG, optD,
                   {.batch_size = o.batch_size,
                    .nz = o.nz,
                    .real_label = 1.0 - o.label_smoothing,
                    .fake_label = 0.0,
                    .label_flip = o.label_flip,
                    .d_steps = o.d_steps,
                    .feature_matching = o.feature_matching,
                    .device = device,
                    .cuda_graph = o.cuda_graph,
                    .channels_last = channels_last,
                    .distributed = distributed},
                   rng.noise, rng.tricks, state.iteration, check_every);
    // Everything from here on (batches, samples, checkpoints) is ordered with the step's work.
    cuda::StreamGuard on_step_stream(step.stream());
    g_interrupted = false;
    std::signal(SIGINT, on_interrupt);
    std::signal(SIGTERM, on_interrupt);
    struct RestoreSignals {
        ~RestoreSignals() {
            std::signal(SIGINT, SIG_DFL);
            std::signal(SIGTERM, SIG_DFL);
        }
    } restore_signals;

    const auto t0 = std::chrono::steady_clock::now();
    int64_t session_iterations = 0;
    bool real_grid_written = false;
    struct Queued {
        int64_t epoch, batch, iteration;
        bool stopped;  // the step returned early: D's output was not finite on some rank
    };
    std::deque<Queued> queued;  // iterations run but not yet read back and logged
    // Reads the monitor and logs the queued iterations. Returns 3 (the exit code) when one
    // of them had a non-finite output or loss, naming the first; 0 otherwise. With
    // --distributed every rank calls it at the same iterations; one host all-reduce makes
    // them agree on the first bad iteration (bad on any rank) and gives the global batch's
    // numbers (equal shards: the mean of the ranks' means).
    auto read_back = [&]() -> int {
        if (queued.empty()) return 0;
        const kernels::MonitorReadout r = step.read_monitor();
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const double rate = double(session_iterations) * double(o.batch_size) / std::max(seconds, 1e-9);
        constexpr size_t kPerIteration = 1 + kStepFields;  // a non-finite flag, then the fields
        std::vector<double> numbers;
        numbers.reserve(queued.size() * kPerIteration);
        for (const Queued& q : queued) {
            const bool bad = q.stopped || (r.first_nonfinite >= 0 && q.iteration >= r.first_nonfinite);
            numbers.push_back(bad ? 1.0 : 0.0);
            if (bad) {
                numbers.insert(numbers.end(), kStepFields, 0.0);
                continue;
            }
            GANOPS_CHECK(q.iteration >= r.first_slot_iteration && q.iteration < r.iteration,
                         "dcgan: iteration ", q.iteration, " is no longer in the training monitor (read too late)");
            const std::vector<double>& v = r.slots[size_t(q.iteration - r.first_slot_iteration)];
            numbers.insert(numbers.end(), v.begin(), v.begin() + kStepFields);
        }
        if (comm) {
            numbers = comm->all_reduce_sum_host(numbers);
            for (size_t i = 0; i < numbers.size(); ++i)
                if (i % kPerIteration != 0) numbers[i] /= ranks;
        }
        for (size_t k = 0; !queued.empty(); ++k) {
            const Queued q = queued.front();
            if (numbers[k * kPerIteration] > 0) {
                if (!root) return 3;
                log->clear_status();
                std::fprintf(stderr,
                             "dcgan: stopping at iteration %lld (epoch %lld, batch %lld): D's output or a loss is not finite, "
                             "training has diverged (try a lower --lr). The last good checkpoint, if any, is %s, untouched.\n",
                             (long long)q.iteration, (long long)q.epoch, (long long)q.batch,
                             out_path("checkpoint.safetensors").c_str());
                return 3;
            }
            const double* v = &numbers[k * kPerIteration + 1];
            const bool g = step.g_step(q.iteration);
            state.loss_d.push_back(float(v[kLossD]));
            state.loss_g.push_back(float(g ? v[kLossG] : NAN));
            if (log)
                log->write({.epoch = q.epoch,
                            .epochs = o.niter,
                            .batch = q.batch,
                            .batches = per_epoch,
                            .iteration = q.iteration,
                            .loss_d = v[kLossD],
                            .loss_g = g ? v[kLossG] : NAN,
                            .d_x = v[kDx],
                            .d_g_z1 = v[kDGz1],
                            .d_g_z2 = g ? v[kDGz2] : NAN,
                            .images_per_second = rate,
                            .eta_seconds = double(planned - q.iteration - 1) * double(o.batch_size) / rate,
                            .seconds = seconds});
            queued.pop_front();
        }
        return 0;
    };
    for (; state.epoch < o.niter; ++state.epoch, state.batch = 0) {
        if (o.max_iters > 0 && state.iteration >= o.max_iters) break;
        // The epoch's order comes from the shuffle stream as it stood at the epoch's start,
        // which a checkpoint records, so a resumed epoch sees the same order.
        state.epoch_shuffle_offset = rng.shuffle.offset;
        // With --distributed each rank loads its slice of every global batch.
        const std::vector<int64_t> order =
            dist::shard_epoch_order(random_permutation(data->size(), rng.shuffle), o.batch_size, rank, ranks);
        const int64_t last = o.max_iters > 0 ? std::min(per_epoch, state.batch + (o.max_iters - state.iteration)) : per_epoch;
        BatchLoader loader(*data, loader_options, order, state.batch, last, skips);
        for (; state.batch < last; ++state.batch) {
            Tensor real = loader.next();
            if (root && !real_grid_written) {
                const std::string path = out_path("real_samples.png");
                save_image_grid(real.slice_rows(0, std::min(grid, local_batch)), 8, path);
                std::printf("real samples: %s\n", path.c_str());
                real_grid_written = true;
            }
            // Annealed over all --niter epochs (not --max-iters), so a stopped and resumed run
            // follows the same schedule.
            const double sigma = o.instance_noise * std::max(0.0, 1.0 - double(state.iteration) / double(o.niter * per_epoch));
            // false: a non-finite output of D stopped the iteration early (on every rank alike)
            const bool finite = step.run(real, state.iteration, sigma);
            queued.push_back({state.epoch, state.batch, state.iteration, !finite});
            if (!finite || queued.size() >= size_t(check_every))
                if (const int code = read_back(); code != 0) return code;
            ++state.iteration;
            ++session_iterations;
            real = Tensor();  // its memory is reused only after the queued kernels reading it (loader.h)
            if (root && o.sample_every > 0 && state.iteration % o.sample_every == 0)
                std::printf("samples: %s\n", save_samples("fake_samples_latest.png").c_str());
            bool interrupted = g_interrupted;
            if (comm) interrupted = !comm->all_true(!interrupted);  // Ctrl-C reached some rank: every rank stops here
            if (interrupted) {
                if (const int code = read_back(); code != 0) return code;
                ++state.batch;
                if (!root) return 130;
                log->clear_status();
                save_all("");
                std::fprintf(stderr, "dcgan: interrupted; checkpoint written to %s (continue with --resume %s)\n",
                             out_path("checkpoint.safetensors").c_str(), out_path("checkpoint.safetensors").c_str());
                return 130;
            }
        }
        if (const int code = read_back(); code != 0) return code;
        char tag[32];
        std::snprintf(tag, sizeof tag, "epoch_%03lld", (long long)state.epoch);
        if (!root) continue;  // the loop's increments, as on rank 0
        std::printf("samples: %s\n", save_samples("fake_samples_" + std::string(tag) + ".png").c_str());
        if (state.batch == per_epoch) {  // a complete epoch: the checkpoint starts the next one
            ++state.epoch;
            state.batch = 0;
            state.epoch_shuffle_offset = rng.shuffle.offset;
            save_all(tag);
            --state.epoch;  // the loop's increment
            state.batch = per_epoch;
        } else {
            save_all(tag);
        }
        std::printf("checkpoint: %s\n", out_path("checkpoint.safetensors").c_str());
    }
    if (!root) return 0;
    log->clear_status();
    save_loss_plot(state.loss_d, state.loss_g, out_path("loss_curves.png"));
    if (skips.count() > 0)
        std::fprintf(stderr, "warning: %lld unreadable images were skipped (the first %d are named above)\n",
                     (long long)skips.count(), SkipLog::kWarnings);
    std::printf("done: %lld iterations in %.1f s; sample grids, loss_curves.png, log and checkpoints are in %s/\n",
                (long long)session_iterations,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), o.outf.c_str());
    if (!o.classifier.empty()) report_sample_quality(netG, o.classifier, o.dataset == "fashion-mnist" ? o.dataroot : examples::kFashionMnistRoot,
                              o.eval_samples, o.seed, device, o.outf);
    return 0;
}

}  // namespace

int train(const TrainOptions& opts) {
    if (!opts.distributed) return train_replica(opts, nullptr);
    return dist::run_as_rank({.program = "dcgan", .device = opts.device, .backend = opts.dist_backend},
                             [&](dist::Communicator& comm) { return train_replica(opts, &comm); });
}

}  // namespace dcgan
