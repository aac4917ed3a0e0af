#include "step.h"

#include <cstdio>
#include <utility>

namespace dcgan {

using namespace ganops;

Tensor Discriminator::features(const Tensor& x) {
    GANOPS_CHECK(x.ndim() == 4 && x.size(1) == config.nc && x.size(2) == config.image_size && x.size(3) == config.image_size,
                 "Discriminator: images must be [N, ", config.nc, ", ", config.image_size, ", ", config.image_size, "], got ",
                 x.str());
    return run(x, 0, main->size() - 2);
}

Tensor Discriminator::head(const Tensor& h) {
    const Tensor out = run(h, main->size() - 2, main->size());
    return out.reshape({out.size(0)});
}

Tensor Discriminator::run(Tensor h, size_t begin, size_t end) {
    // Without dropout, Conv -> BatchNorm2d -> LeakyReLU -> Conv inside [begin, end) runs fused as
    // in Sequential (nn/conv_bn_chain.h); the last batchnorm of the features stays unfused,
    // since the features are an output. Conv -> LeakyReLU (the first layer) runs as one op as
    // in Sequential (nn/conv_activation.h), dropout after it.
    const nn::Children layers(main->named_children().begin() + std::ptrdiff_t(begin),
                              main->named_children().begin() + std::ptrdiff_t(end));
    // Outputs and gradients rounded to TF32 between layers as in Sequential, with its switch
    // (nn/tf32_between_layers.h; never with dropout between them, nor past `end`: an output).
    const bool round_tf32 = main->round_tf32_between_layers && p_ == 0;
    std::optional<kernels::BatchnormOnLoad> pending;
    Tensor alone_input;  // the input of layer i - 1 where it ran alone (else undefined)
    for (size_t i = begin; i < end; ++i) {
        const Tensor previous_input = std::exchange(alone_input, Tensor());
        if (p_ == 0)
            if (const size_t ran = nn::run_conv_bn_chain(layers, i - begin, h, pending)) {
                i += ran - 1;
                continue;
            }
        if (const size_t ran = nn::run_conv_activation(layers, i - begin, h, round_tf32)) {
            i += ran - 1;  // the activation's index
            if (p_ > 0 && dynamic_cast<nn::LeakyReLU*>(&(*main)[i])) h = dropout(h, p_, is_training(), gen_);
            continue;
        }
        nn::Module& layer = (*main)[i];
        // A BatchNorm2d and the LeakyReLU after it run as one op, as nn::Sequential runs them
        // (BatchNorm2d::forward_leaky_relu: fused in training, two ops in evaluation).
        auto* bn = dynamic_cast<nn::BatchNorm2d*>(&layer);
        auto* leaky = bn && i + 1 < end ? dynamic_cast<nn::LeakyReLU*>(&(*main)[i + 1]) : nullptr;
        if (leaky) {
            const RoundToTf32 round =
                round_tf32 ? nn::batchnorm_activation_rounding(layers, i - begin, h, previous_input) : RoundToTf32{};
            h = bn->forward_leaky_relu(h, leaky->negative_slope, round);
            ++i;
        } else {
            alone_input = h;
            h = layer.forward(h);
        }
        if (p_ > 0 && (leaky || dynamic_cast<nn::LeakyReLU*>(&layer))) h = dropout(h, p_, is_training(), gen_);
    }
    return h;
}

DcganStep::DcganStep(nn::DcganGenerator& netG, Discriminator& netD, nn::Adam& optG, nn::Adam& optD, const StepOptions& options,
                     Generator& noise, Generator& tricks, int64_t first_iteration, int64_t monitor_capacity)
    : monitor(kernels::make_training_monitor(monitor_capacity, kStepFields, first_iteration, options.device)),
      netG_(netG),
      netD_(netD),
      optG_(optG),
      optD_(optD),
      options_(options),
      noise_(noise),
      tricks_(tricks),
      g_params_(netG.parameters()) {
    GANOPS_CHECK(options.d_steps >= 1, "DcganStep: d_steps must be at least 1, got ", options.d_steps);
    const StepRanks& d = options.distributed;
    GANOPS_CHECK(d.ranks >= 1 && d.rank >= 0 && d.rank < d.ranks && options.batch_size % d.ranks == 0,
                 "DcganStep: the global batch ", options.batch_size, " does not split evenly over ", d.ranks,
                 " ranks (this is rank ", d.rank, ")");
    GANOPS_CHECK(!d.on() || (d.overlap_d_gradients && d.overlap_g_gradients && d.reduce_d_gradients && d.reduce_g_gradients &&
                             d.mean_over_ranks),
                 "DcganStep: a distributed step needs every function of StepRanks");
    // Weights in the activations' format, converted once here (on the default stream, waited
    // for below; nothing to do when they are in it already) rather than by every pass.
    if (options.weights_follow_activations) {
        const MemoryFormat weights = options.channels_last ? MemoryFormat::ChannelsLast : MemoryFormat::Contiguous;
        netG.to(weights);
        netD.to(weights);
        optG.follow_parameter_formats();
        optD.follow_parameter_formats();
    }
    // Layers round their outputs to TF32 where the next convolution rounds them anyway (the
    // TF32 mode on CUDA channels-last; no bit of any result changes): it skips its rounding pass.
    netG.main->round_tf32_between_layers = options.channels_last;
    netD.main->round_tf32_between_layers = options.channels_last;
    if (options.device == Device::CUDA) {
        // Our stream is not ordered after the default one: let the work queued there so far
        // (the models' initialisation, a loaded checkpoint) finish first. Once.
        cuda::synchronize_stream(nullptr);
        stream_ = cuda::create_stream();
        graph_ = std::make_unique<cuda::Graph>();
    }
    cuda::StreamGuard on(stream_);
    real_labels_ = Tensor::full({local_batch()}, options.real_label, DType::F32, options.device);
    fake_labels_ = Tensor::full({local_batch()}, options.fake_label, DType::F32, options.device);
    ones_ = Tensor::full({local_batch()}, 1.0, DType::F32, options.device);

    counters_u64_ = {&noise.offset, &tricks.offset, &netD.dropout_generator().offset};
    counters_i64_ = {&optG.steps_taken, &optD.steps_taken};
    for (nn::Sequential* net : {netG.main.get(), netD.main.get()})
        for (size_t i = 0; i < net->size(); ++i)
            if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(&(*net)[i])) counters_i64_.push_back(&bn->num_batches_tracked);
}

DcganStep::~DcganStep() {
    if (!stream_) return;
    try {
        graph_.reset();  // waits for its replays
        cuda::destroy_stream(stream_);
    } catch (...) {
        // A device fault: the process reports it elsewhere; nothing to free safely here.
    }
}

int64_t DcganStep::local_batch() const { return options_.batch_size / options_.distributed.ranks; }

Tensor DcganStep::my_rows(const Tensor& global) const {
    if (options_.distributed.ranks == 1) return global;
    const int64_t n = local_batch();
    return global.slice_rows(options_.distributed.rank * n, (options_.distributed.rank + 1) * n);
}

// Targets for D's step; with label flipping some swap sides. The draws come from the tricks
// stream on the host (Philox gives the same numbers on every device), for the global batch.
Tensor DcganStep::d_labels(double mine, double other) {
    if (options_.label_flip <= 0) return mine == options_.real_label ? real_labels_ : fake_labels_;
    const std::vector<float> u = my_rows(Tensor::uniform({options_.batch_size}, 0, 1, tricks_)).to_vector();
    std::vector<float> v(u.size());
    for (size_t i = 0; i < u.size(); ++i) v[i] = float(u[i] < options_.label_flip ? other : mine);
    return Tensor::from_vector({local_batch()}, v, options_.device);
}

kernels::MonitorReadout DcganStep::read_monitor() const {
    cuda::StreamGuard on(stream_);
    return kernels::read_monitor(monitor);
}

bool DcganStep::nonfinite_seen() const {
    // Reading the monitor is a plain memory read on the CPU; on a GPU it would wait.
    if (options_.device != Device::CPU) return false;
    const bool mine = kernels::read_monitor(monitor).first_nonfinite >= 0;
    // With --distributed every rank stops together (one that went on would wait forever in
    // the gradient all-reduce): a host collective, as cheap as the CPU iteration's others.
    return options_.distributed.on() ? !options_.distributed.all_true(!mine) : mine;
}

std::string DcganStep::graph_blocker(const Tensor& real, double sigma) const {
    if (!options_.cuda_graph) return "turned off";
    if (graph_failed_) return "the capture failed";
    // The gradient all-reduces and host collectives of a data-parallel step go through MPI
    // on the host, which a stream capture cannot record. Capturing NCCL's all-reduces (it
    // supports graph capture) is future work; until then a --distributed iteration is eager.
    if (options_.distributed.on()) return "--distributed iterations all-reduce on the host";
    if (sigma > 0) return "instance noise changes every iteration";
    if (options_.label_flip > 0) return "label flipping draws on the host";
    if (options_.d_steps != 1) return "--d-steps alternates two kinds of iteration";
    if (real.shape()[0] != local_batch()) return "a batch of another size";
    return {};
}

bool DcganStep::run(const Tensor& real, int64_t iteration, double sigma) {
    cuda::StreamGuard on(stream_);
    if (options_.device != Device::CUDA) return run_eagerly(real, iteration, sigma);
    if (const std::string why = graph_blocker(real, sigma); !why.empty()) {
        if (why != reported_blocker_ && options_.cuda_graph && options_.distributed.rank == 0)
            std::fprintf(stderr, "dcgan: iteration %lld runs eagerly, not as a CUDA graph: %s\n", (long long)iteration, why.c_str());
        reported_blocker_ = why;
        graph_stale_ = true;
        return run_eagerly(real, iteration, sigma);
    }
    reported_blocker_.clear();
    // Two eager iterations first: the caching allocator then holds every block the
    // iteration needs, so the capture allocates nothing.
    if (eager_runs_ < 2) {
        graph_stale_ = true;
        return run_eagerly(real, iteration, sigma);
    }
    if (!static_real_.defined() || static_real_.shape() != real.shape()) {
        static_real_ = Tensor::empty(real.shape(), DType::F32, Device::CUDA);
        graph_stale_ = true;
    }
    static_real_.copy_from(real);  // device to device, on our stream: no host wait
    // The kernels a capture recorded are those of the precision mode current then.
    if (matmul_precision() != captured_precision_) graph_stale_ = true;
    if (graph_stale_ || !graph_->ready()) {
        captured_precision_ = matmul_precision();
        std::vector<uint64_t> before_u64;
        std::vector<int64_t> before_i64;
        for (uint64_t* c : counters_u64_) before_u64.push_back(*c);
        for (int64_t* c : counters_i64_) before_i64.push_back(*c);
        const std::string why = graph_->capture(stream_, [&] { run_eagerly(static_real_, iteration, 0.0); });
        // The captured work has not run: put the host's counters back, and note how far one
        // iteration moves them.
        delta_u64_.clear();
        delta_i64_.clear();
        for (size_t i = 0; i < counters_u64_.size(); ++i) {
            delta_u64_.push_back(*counters_u64_[i] - before_u64[i]);
            *counters_u64_[i] = before_u64[i];
        }
        for (size_t i = 0; i < counters_i64_.size(); ++i) {
            delta_i64_.push_back(*counters_i64_[i] - before_i64[i]);
            *counters_i64_[i] = before_i64[i];
        }
        if (!why.empty()) {
            graph_failed_ = true;
            std::fprintf(stderr, "dcgan: capturing the iteration as a CUDA graph failed (%s); running eagerly\n", why.c_str());
            return run_eagerly(real, iteration, sigma);
        }
        graph_stale_ = false;
        ++captures_;
    }
    graph_->replay();
    ++replays_;
    for (size_t i = 0; i < counters_u64_.size(); ++i) *counters_u64_[i] += delta_u64_[i];
    for (size_t i = 0; i < counters_i64_.size(); ++i) *counters_i64_[i] += delta_i64_[i];
    return true;
}

bool DcganStep::run_eagerly(const Tensor& real_batch, int64_t iteration, double sigma) {
    ++eager_runs_;
    auto boundary = [&](const Tensor& x) { return options_.channels_last ? x.to_memory_format(MemoryFormat::ChannelsLast) : x; };
    const Tensor real = boundary(real_batch);
    auto d_input = [&](const Tensor& x) {
        if (sigma <= 0) return x;
        return add(x, my_rows(Tensor::normal(x.shape().with(0, options_.batch_size), 0, sigma, tricks_, DType::F32, options_.device)));
    };
    const double real_label = options_.real_label, fake_label = options_.fake_label;

    // Each pass sits in its own scope, and its backward frees each node's saved tensors as
    // soon as that node's backward has run (SavedTensors::Free): the activations go back to
    // the caching allocator during the pass, the gradients of the earlier layers reuse their
    // blocks, and the next pass reuses the rest. Gradients are dropped right after their
    // optimizer step (nothing reads them later), so G's do not stand through D's step nor
    // D's through G's. benchmarks/memory_model.h counts what is left at the peak.

    // (1) D: maximise log D(x) + log(1 - D(G(z)))
    optD_.zero_grad();
    {
        Tensor out_real = netD_(d_input(real));
        kernels::monitor_add_mean(monitor, kDx, out_real);
        if (nonfinite_seen()) return false;  // the BCE would reject it
        const Tensor errD_real = binary_cross_entropy(out_real, d_labels(real_label, fake_label));
        out_real = Tensor();  // the graph holds what backward needs; here only the loss stands through it
        backward(errD_real, Tensor(), SavedTensors::Free);
        kernels::monitor_add_mean(monitor, kLossD, errD_real);
    }
    // G's graph stays until the generator step's backward has run through it.
    Tensor fake_in =
        d_input(netG_(boundary(my_rows(Tensor::normal({options_.batch_size, options_.nz, 1, 1}, 0, 1, noise_, DType::F32, options_.device)))));
    {
        Tensor out_fake = netD_(fake_in.detach());
        kernels::monitor_add_mean(monitor, kDGz1, out_fake);
        if (nonfinite_seen()) return false;
        const Tensor errD_fake = binary_cross_entropy(out_fake, d_labels(fake_label, real_label));
        out_fake = Tensor();
        if (options_.distributed.on()) options_.distributed.overlap_d_gradients();
        backward(errD_fake, Tensor(), SavedTensors::Free);
        kernels::monitor_add_mean(monitor, kLossD, errD_fake);
    }
    if (options_.distributed.on()) options_.distributed.reduce_d_gradients();
    optD_.step();
    optD_.zero_grad();

    // (2) G: maximise log D(G(z)) on the same fake batch, every d_steps-th iteration. Only
    // G's parameters receive gradients: D's weight gradients are never computed here.
    if (g_step(iteration)) {
        optG_.zero_grad();
        {
            Tensor fake_features = netD_.features(fake_in);
            fake_in = Tensor();  // held by the graph from here on, and freed with it
            Tensor out_g = netD_.head(fake_features);
            kernels::monitor_add_mean(monitor, kDGz2, out_g);
            if (nonfinite_seen()) return false;
            Tensor errG;
            if (options_.feature_matching) {
                // Salimans et al. 2016: match the batch mean of D's features on real data.
                Tensor real_mean;
                {
                    NoGradGuard no_grad;
                    real_mean = mean_rows(netD_.features(real));
                    if (options_.distributed.on()) real_mean = options_.distributed.mean_over_ranks(real_mean);
                }
                // With --distributed: the global batch's means (equal shards: the mean of the ranks').
                const Tensor fake_mean = mean_rows(fake_features);
                const Tensor diff = sub(options_.distributed.on() ? options_.distributed.mean_over_ranks(fake_mean) : fake_mean, real_mean);
                errG = mean(mul(diff, diff));
            } else {
                errG = binary_cross_entropy(out_g, ones_);
            }
            fake_features = out_g = Tensor();
            if (options_.distributed.on()) options_.distributed.overlap_g_gradients();
            backward(errG, Tensor(), g_params_, SavedTensors::Free);
            kernels::monitor_add_mean(monitor, kLossG, errG);
        }
        if (options_.distributed.on()) options_.distributed.reduce_g_gradients();
        optG_.step();
        optG_.zero_grad();
    }
    kernels::monitor_next_iteration(monitor);
    return true;
}

}  // namespace dcgan
