// What the GAN-family examples (gan_mlp, cdcgan, infogan) share: dcgan_bedroom's command-line
// conventions, labelled Fashion-MNIST batches, the per-iteration log line, sample grids,
// PyTorch-named safetensors weights at every epoch end, a stop on non-finite losses, the
// sample-quality report (Frechet distance and class coverage from the Fashion-MNIST
// classifier, when --classifier names one), and data-parallel training under
// `mpirun -np N prog --distributed` as dcgan_bedroom does it (nn/distributed). Each program
// supplies only its models and step.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ganops/ganops.h>
#include <ganops/nn/distributed/communicator.h>
#include <ganops/nn/distributed/data_parallel.h>

#include "common/fashion_mnist.h"

namespace gan_family {

struct Options {
    std::string dataroot = examples::kFashionMnistRoot;  // $GANOPS_FASHION_MNIST_DIR or the Debian package
    int64_t batch_size = 64, image_size = 32, nz = 100;
    int64_t niter = 1, max_iters = 0, sample_every = 200;
    double lr = 2e-4, beta1 = 0.5;
    uint64_t seed = 999;
    std::string outf = "out", device, classifier;
    std::string precision;  // CUDA convolutions: fp32 | tf32 | bf16 | fp32-accurate; empty: tf32
    int64_t eval_samples = 2000;
    bool distributed = false;  // one rank of mpirun's run: batch_size is the global batch
    bool sync_bn = false;      // with distributed: batchnorm statistics over the global batch
    std::string dist_backend = "auto";
};

// The options every program takes; `image_size_fixed` hides --imageSize (the MLP GAN is
// 28x28), and --sync-bn is offered to models with batchnorm.
void add_options(CLI::App& app, Options& o, bool image_size_fixed = false, bool has_batchnorm = true);
ganops::Device device_of(const Options& o);

struct StepResult {
    double loss_d, loss_g, d_x, d_g_z1, d_g_z2;
};

struct Model {
    std::vector<std::pair<std::string, ganops::nn::Module*>> saved;  // file stem -> module
    // One training iteration on real images [N, 1, S, S] in [-1, 1] and labels [N], on the device.
    std::function<StepResult(const ganops::Tensor& images, const ganops::Tensor& labels)> step;
    // n images [n, 1, S, S] for evaluation, labels/codes drawn from `gen` as in training.
    std::function<ganops::Tensor(int64_t n, ganops::Generator& gen)> sample;
    // The program's sample grid and how many images a row holds.
    std::function<ganops::Tensor()> grid;
    int64_t grid_per_row = 8;
};

// This process's part of the run: the whole run, or one rank of `mpirun -np N prog
// --distributed`. Every rank holds the whole model, starts from rank 0's (replicate), draws
// every random batch for the global batch and keeps its rows (my_rows), so the random
// streams advance as in one process whatever the number of ranks, and averages the
// gradients over the ranks before each optimizer step (a reducer per optimizer). With
// --sync-bn, N ranks then train as one process with the global batch, up to summation
// order; with per-replica batchnorm (the default) or dropout, each rank normalises or
// drops on its own.
class Ranks {
public:
    Ranks(const Options& o, ganops::dist::Communicator* comm);  // comm null: one process
    int rank() const { return comm_ ? comm_->rank() : 0; }
    int size() const { return comm_ ? comm_->size() : 1; }
    bool root() const { return rank() == 0; }
    int64_t local_batch() const { return global_batch_ / size(); }
    ganops::Tensor my_rows(const ganops::Tensor& global) const;
    void replicate(ganops::nn::Module& module) const;
    // Null in one process.
    std::unique_ptr<ganops::dist::GradientReducer> reducer(const std::vector<ganops::Tensor>& parameters) const;
    ganops::dist::Communicator* communicator() const { return comm_; }

private:
    ganops::dist::Communicator* comm_;
    int64_t global_batch_;
    bool sync_bn_;
};

// The program's body, run as this process or (--distributed) as one rank of mpirun's run;
// returns the exit code. An error prints "<program>: <message>" and returns 1; on one of
// several ranks it prints "<program>: rank r of N: <message>" and ends every rank.
int launch(const std::string& program, const Options& o, const std::function<int(Ranks& ranks)>& body);

// Trains; returns the exit code: 0 done, 1 error, 3 non-finite loss. With several ranks each
// trains on its shard of every epoch (dist::shard_epoch_order), the logged numbers are the
// global batch's, and rank 0 alone prints and writes files.
int run(const std::string& program, const Options& o, Model& model, const Ranks& ranks);

// `loss.backward()`, for the last backward before an optimizer step: with a reducer (a
// distributed run), the average of its parameters' gradients over the ranks starts during
// that backward and is in their .grad on return.
void backward_and_average(const ganops::Tensor& loss, ganops::dist::GradientReducer* reducer);

// The step of Radford et al. with BCE: D on a real batch (label 1) then on a fake batch
// (label 0, detached from G), then G on the same fake batch labelled real. `d_real()`
// returns D's output on the real batch, `generate()` a fake batch, `d_fake(x)` D's output
// on x (the fake batch, detached or not).
// With reducers (a distributed run), each network's gradients are averaged over the ranks
// before its optimizer step.
StepResult adversarial_step(ganops::nn::Adam& optD, ganops::nn::Adam& optG, const std::function<ganops::Tensor()>& d_real,
                            const std::function<ganops::Tensor()>& generate,
                            const std::function<ganops::Tensor(const ganops::Tensor&)>& d_fake,
                            ganops::dist::GradientReducer* average_d = nullptr, ganops::dist::GradientReducer* average_g = nullptr);

// One-hot rows [n, classes] (as [n, classes, 1, 1] when `spatial` is 1, or repeated over an
// s x s map when `spatial` is s), for conditioning on labels [n].
ganops::Tensor one_hot(const ganops::Tensor& labels, int64_t classes, int64_t spatial = 0);

}  // namespace gan_family
