// What to do with a trained generator: sample it, walk its latent space, and do the latent
// vector arithmetic of Radford et al. (section 6). Latent vector i is the i-th draw of a
// Philox stream seeded by --seed, the same in every tool and for every count, so images
// picked from `generate --individual` can be named by index in `arithmetic`.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include <ganops/ganops.h>

namespace dcgan {

struct ToolOptions {
    std::string netG;          // a netG state dict, or a training checkpoint
    std::string outf = ".";
    std::string device;        // empty: cuda when a GPU is there
    uint64_t seed = 1;
    int64_t n = 64;            // generate: how many
    bool individual = false;   // generate: one PNG per image instead of a grid
    int64_t rows = 8, steps = 10;  // interpolate: paths, images per path
    bool slerp = false;        // interpolate: spherical instead of linear
    std::string a, b, c;       // arithmetic: comma-separated latent indices for A - B + C
    std::string classifier;    // evaluate: a fashion_classifier .safetensors
    std::string eval_dataroot = "/usr/share/datasets/fashion-mnist";  // evaluate: real test images
};

// The generator a file holds; nz, ngf, nc and the image size are read off the weights'
// shapes, so no flags are needed. Accepts netG_*.safetensors and checkpoint.safetensors.
std::unique_ptr<ganops::nn::DcganGenerator> load_generator(const std::string& path, ganops::Device device);

int generate(const ToolOptions& options);
int interpolate(const ToolOptions& options);
int arithmetic(const ToolOptions& options);
int evaluate(const ToolOptions& options);  // sample quality of --n images: Frechet distance, class coverage

// Prints and returns the sample quality of `count` images from netG (evaluation mode, latents
// of the tool stream `seed`) against as many Fashion-MNIST test images, scored by the
// classifier in `classifier_path`; writes metrics.json into `outf`.
void report_sample_quality(ganops::nn::DcganGenerator& netG, const std::string& classifier_path,
                           const std::string& eval_dataroot, int64_t count, uint64_t seed, ganops::Device device,
                           const std::string& outf);

}  // namespace dcgan
