// DCGAN training as pytorch/examples/dcgan does it, plus checkpoints, resume, logs, plots
// and the optional GAN tricks.
#pragma once
#include <cstdint>
#include <string>

#include "common/fashion_mnist.h"

namespace dcgan {

struct TrainOptions {
    std::string dataset = "fashion-mnist";  // lsun | folder | imagenet | fashion-mnist | mnist | idx | fake
    std::string dataroot = examples::kFashionMnistRoot;  // $GANOPS_FASHION_MNIST_DIR or the Debian package
    std::string classes = "bedroom";
    int workers = 2;
    int64_t batch_size = 64, image_size = 32, nc = 0, nz = 100, ngf = 64, ndf = 64;  // nc 0: 1 for IDX data, else 3
    int64_t niter = 1;
    double lr = 2e-4, beta1 = 0.5;
    std::string netG, netD;  // safetensors state dicts to start from
    std::string resume;      // a checkpoint.safetensors to continue
    std::string outf = "out";
    uint64_t seed = 999;
    std::string device;  // "cuda" | "cpu"; empty: cuda when a GPU is there
    // How CUDA convolutions round (core/precision.h): fp32 | tf32 | bf16 | fp32-accurate.
    // Empty: the resumed run's mode, else tf32. The CPU computes in fp32 whatever it says.
    std::string precision;
    bool dry_run = false;
    int64_t max_iters = 0;     // stop after this many iterations in all (0: run every epoch)
    int64_t sample_every = 100;
    std::string log_format = "csv";  // csv | jsonl
    int64_t fake_images = 0;         // size of the fake dataset (0: 20 batches)
    // Tricks, all off by default.
    double label_smoothing = 0;  // D's real target is 1 - this (one-sided)
    double label_flip = 0;       // probability of swapping a real/fake target in D's step
    double instance_noise = 0;   // std of Gaussian noise on D's inputs, annealed linearly to 0
    double d_dropout = 0;        // dropout after each LeakyReLU of D
    int64_t d_steps = 1;         // discriminator steps per generator step
    std::string classifier;      // fashion_classifier weights: report sample quality at the end
    int64_t eval_samples = 2000;
    bool feature_matching = false;  // G matches the mean of D's last hidden features (Salimans et al.)
    bool cuda_graph = true;         // on a GPU, replay the iteration as a captured CUDA graph (step.h)
    int channels_last = 0;          // --channels-last 1, --no-channels-last -1, 0: by device and precision
    // Data-parallel over the ranks mpirun started: batch_size is the global batch.
    bool distributed = false;
    bool sync_bn = false;               // batchnorm statistics over the global batch (else per rank)
    std::string dist_backend = "auto";  // auto | mpi | nccl
};

// Exit codes: 0 done, 1 error (message on stderr), 3 non-finite loss, 130 interrupted
// (after writing a checkpoint).
int train(const TrainOptions& options);

}  // namespace dcgan
