// The DCGAN generator and discriminator of Radford et al. (2015), built as pytorch/examples
// builds them, so that parameter names and shapes match theirs ("main.0.weight", ...) and
// checkpoints can be exchanged. One layer is added per doubling of the image size:
//   G: z [N, nz, 1, 1] -> ConvT 4x4 (to 4x4) -> (ConvT 4x4 stride 2, BN, ReLU)* -> ConvT -> tanh
//   D: x [N, nc, s, s] -> Conv 4x4 s2, LeakyReLU(0.2) -> (Conv s2, BN, LeakyReLU)* -> Conv 4x4 valid -> sigmoid
// No conv has a bias (BN follows, or it is the output layer in the reference model).
#pragma once
#include <memory>

#include "module.h"
#include "sequential.h"

namespace ganops::nn {

struct DcganConfig {
    int64_t nz = 100;          // latent size
    int64_t ngf = 64;          // generator width
    int64_t ndf = 64;          // discriminator width
    int64_t nc = 3;            // image channels
    int64_t image_size = 64;   // a power of two, at least 16
};

// The model is a single Sequential registered as "main", as in pytorch/examples.
class DcganGenerator : public Module {
public:
    explicit DcganGenerator(const DcganConfig& config);
    Tensor forward(const Tensor& z) override;  // z [N, nz, 1, 1] -> [N, nc, s, s] in (-1, 1)
    DcganConfig config;
    std::shared_ptr<Sequential> main;
};

class DcganDiscriminator : public Module {
public:
    explicit DcganDiscriminator(const DcganConfig& config);
    Tensor forward(const Tensor& x) override;  // x [N, nc, s, s] -> [N] probabilities of "real"
    DcganConfig config;
    std::shared_ptr<Sequential> main;
};

}  // namespace ganops::nn
