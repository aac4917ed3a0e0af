// What the GAN-family examples (gan_mlp, cdcgan, infogan) share: dcgan_bedroom's command-line
// conventions, labelled Fashion-MNIST batches, the per-iteration log line, sample grids,
// PyTorch-named safetensors weights at every epoch end, a stop on non-finite losses, and the
// sample-quality report (Frechet distance and class coverage from the Fashion-MNIST
// classifier, when --classifier names one). Each program supplies only its models and step.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <ganops/ganops.h>

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
};

// The options every program takes; `image_size_fixed` hides --imageSize (the MLP GAN is 28x28).
void add_options(CLI::App& app, Options& o, bool image_size_fixed = false);
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

// Trains; returns the exit code: 0 done, 1 error, 3 non-finite loss.
int run(const std::string& program, const Options& o, Model& model);

// The step of Radford et al. with BCE: D on a real batch (label 1) then on a fake batch
// (label 0, detached from G), then G on the same fake batch labelled real. `d_real()`
// returns D's output on the real batch, `generate()` a fake batch, `d_fake(x)` D's output
// on x (the fake batch, detached or not).
StepResult adversarial_step(ganops::nn::Adam& optD, ganops::nn::Adam& optG, const std::function<ganops::Tensor()>& d_real,
                            const std::function<ganops::Tensor()>& generate,
                            const std::function<ganops::Tensor(const ganops::Tensor&)>& d_fake);

// One-hot rows [n, classes] (as [n, classes, 1, 1] when `spatial` is 1, or repeated over an
// s x s map when `spatial` is s), for conditioning on labels [n].
ganops::Tensor one_hot(const ganops::Tensor& labels, int64_t classes, int64_t spatial = 0);

}  // namespace gan_family
