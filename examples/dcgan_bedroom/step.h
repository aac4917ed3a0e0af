// One DCGAN training iteration (D on real and fake, then G), queued on the GPU without a
// single host synchronisation: D's outputs and the losses go into a device-side monitor
// (kernels/training_monitor.h) that the training loop reads every so many iterations,
// non-finite values included; the generator step asks autograd for G's gradients only, so
// D's weight-gradient kernels do not run there.
//
// On a GPU the iteration is captured once as a CUDA graph (core/cuda_graph.h) after two
// eager warm-up iterations (which fill the caching allocator), then replayed: one graph
// launch and one copy of the batch per iteration. Replays draw fresh noise and dropout
// masks and use each step's Adam bias corrections, so they give the eager run's bits.
// Iterations the graph cannot express run eagerly, with a one-line message: per-iteration
// host values (instance noise that anneals, label flipping drawn on the host, alternating
// D/G iterations with --d-steps > 1), a changed batch shape or precision mode (the graph is
// captured again), a --distributed run, or a capture that fails. Used by train.cpp, tested emulated by tests/test_cuda_dcgan_step.cpp.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <ganops/ganops.h>
#include <ganops/kernels/training_monitor.h>

namespace dcgan {

// D with optional dropout after each LeakyReLU, split into its features (everything up to
// the last LeakyReLU: what feature matching compares) and its head (the 4x4 convolution and
// the sigmoid). The layers stay those of the reference model (dropout has no parameters),
// so names and checkpoints are unchanged.
class Discriminator : public ganops::nn::DcganDiscriminator {
public:
    Discriminator(const ganops::nn::DcganConfig& c, double p, ganops::Generator& gen) : DcganDiscriminator(c), p_(p), gen_(gen) {}
    ganops::Tensor features(const ganops::Tensor& x);
    ganops::Tensor head(const ganops::Tensor& h);
    ganops::Tensor forward(const ganops::Tensor& x) override { return head(features(x)); }
    ganops::Generator& dropout_generator() { return gen_; }

private:
    ganops::Tensor run(ganops::Tensor h, size_t begin, size_t end);

    double p_;
    ganops::Generator& gen_;
};

// What a data-parallel run (nn/distributed/) plugs into the step: train.cpp fills it in
// from its Communicator and GradientReducers. Functions, not those types, so that step.cpp
// does not link MPI (the step's emulated tests build it alone).
struct StepRanks {
    int rank = 0, ranks = 1;
    std::function<bool(bool)> all_true;         // a decision every rank takes together
    // Called just before the last backward that adds to D's (G's) gradients, so that their
    // average over the ranks starts during it (GradientReducer::overlap_next_backward) ...
    std::function<void()> overlap_d_gradients;
    std::function<void()> overlap_g_gradients;
    std::function<void()> reduce_d_gradients;   // ... and finished here: D's gradients averaged over the ranks
    std::function<void()> reduce_g_gradients;   // G's
    std::function<ganops::Tensor(const ganops::Tensor&)> mean_over_ranks;  // differentiable (dist::all_reduce_mean)
    bool on() const { return bool(all_true); }  // off: one process
};

struct StepOptions {
    int64_t batch_size = 64, nz = 100;
    double real_label = 1.0, fake_label = 0.0;  // D's targets (the real one lowered by label smoothing)
    double label_flip = 0;                      // probability of swapping a target in D's step (one upload per iteration)
    int64_t d_steps = 1;                        // G steps on iterations i with (i + 1) % d_steps == 0
    bool feature_matching = false;
    ganops::Device device = ganops::Device::CPU;
    bool cuda_graph = true;  // on a GPU: capture the iteration once and replay it
    // The real batch and the noise enter the nets in channels-last (NHWC) order, converted
    // once here; every layer keeps the format, and D's outputs come out [N] as before. The
    // step's constructor stores both nets' conv weights in the same format (channels-last:
    // KRSC), in place (nn::Module::to(MemoryFormat)), with their Adam moments, so that no pass
    // converts a weight or its gradient. Checkpoints still hold PyTorch's layout (nn/checkpoint.h).
    bool channels_last = false;
    // false: the weights keep the format they come in (KCRS weights in a channels-last step
    // are then converted by every pass, the path before; kept to compare against).
    bool weights_follow_activations = true;
    // Data parallelism; off in a one-process run. When on, batch_size is the global batch:
    // every random draw (noise, flipped labels, instance noise) is made for the global batch
    // and this rank takes its rows, so the random streams advance as in one process
    // whatever the number of ranks; the gradients are averaged over the ranks between each
    // backward and its optimizer step.
    StepRanks distributed{};
};

// What the monitor records per iteration (fields of its slots).
enum StepField : int64_t { kLossD = 0, kLossG, kDx, kDGz1, kDGz2, kStepFields };

class DcganStep {
public:
    // `first_iteration`: the index of the next iteration (a resumed run's count so far);
    // the monitor keeps `monitor_capacity` iterations, so read it at least that often.
    DcganStep(ganops::nn::DcganGenerator& netG, Discriminator& netD, ganops::nn::Adam& optG, ganops::nn::Adam& optD,
              const StepOptions& options, ganops::Generator& noise, ganops::Generator& tricks, int64_t first_iteration,
              int64_t monitor_capacity);

    // Queues iteration `iteration` on `real` (a batch on the options' device, ready for
    // work queued on stream(): made there, or ordered by an event), with instance noise of
    // std `sigma` (0: none). Returns false when a non-finite output of D
    // was seen and the step stopped early, which is checked at once only where it costs
    // nothing (on the CPU); on a GPU it returns true and read_monitor(monitor) tells.
    bool run(const ganops::Tensor& real, int64_t iteration, double sigma);

    bool g_step(int64_t iteration) const { return (iteration + 1) % options_.d_steps == 0; }

    // The stream the step's work goes to (a GPU's: its own, which a graph needs; else the
    // default). Work that reads what the step writes goes there too (train.cpp runs its
    // loop with it current).
    ganops::cuda::Stream stream() const { return stream_; }
    int64_t graph_replays() const { return replays_; }    // iterations run as a graph replay so far
    int64_t graph_captures() const { return captures_; }  // captures that succeeded so far

    // The monitor as it stands after the work queued so far (read on stream(); a host
    // synchronisation on a GPU).
    ganops::kernels::MonitorReadout read_monitor() const;

    ganops::kernels::TrainingMonitor monitor;

    DcganStep(const DcganStep&) = delete;
    DcganStep& operator=(const DcganStep&) = delete;
    ~DcganStep();

private:
    bool run_eagerly(const ganops::Tensor& real, int64_t iteration, double sigma);
    // Why an iteration with these settings cannot be a replay; empty when it can.
    std::string graph_blocker(const ganops::Tensor& real, double sigma) const;
    ganops::Tensor d_labels(double mine, double other);
    bool nonfinite_seen() const;
    int64_t local_batch() const;                          // this rank's rows of each batch
    ganops::Tensor my_rows(const ganops::Tensor& global) const;  // this rank's rows of a global-batch draw

    // Host-side counters that an eager iteration advances and a replay does not: the random
    // streams' offsets, Adam's steps, BatchNorm's batch counts.
    std::vector<uint64_t*> counters_u64_;
    std::vector<int64_t*> counters_i64_;
    std::vector<uint64_t> delta_u64_;
    std::vector<int64_t> delta_i64_;

    ganops::nn::DcganGenerator& netG_;
    Discriminator& netD_;
    ganops::nn::Adam& optG_;
    ganops::nn::Adam& optD_;
    StepOptions options_;
    ganops::Generator& noise_;
    ganops::Generator& tricks_;
    std::vector<ganops::Tensor> g_params_;
    ganops::Tensor real_labels_, fake_labels_, ones_;  // made once: no fill per iteration

    ganops::cuda::Stream stream_ = nullptr;
    std::unique_ptr<ganops::cuda::Graph> graph_;
    ganops::Tensor static_real_;  // the graph's input: each batch is copied here
    int64_t eager_runs_ = 0, replays_ = 0, captures_ = 0;
    bool graph_stale_ = true;       // an eager iteration ran since the capture: capture again
    ganops::Precision captured_precision_ = ganops::Precision::TF32;  // the mode the graph's matrix products use
    bool graph_failed_ = false;     // a capture failed: eager from then on
    std::string reported_blocker_;  // the last fallback reason printed
};

}  // namespace dcgan
