// A few DCGAN training iterations from fixed seeds, for the determinism tests on the CPU
// (test_determinism.cpp) and the GPU (test_cuda_ops.cpp): convolutions both ways (split-K
// included), batch norm, dropout, BCE, Adam. Returns every parameter and buffer of both nets.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "test_util.h"

namespace test {

using TrainingState = std::vector<std::pair<std::string, std::vector<float>>>;

// 32x32 images, nz 16; `width` is ngf = ndf.
inline TrainingState dcgan_training_state(ganops::Device device, int steps, int64_t width, int64_t batch) {
    using namespace ganops;
    const nn::DcganConfig config{.nz = 16, .ngf = width, .ndf = width, .nc = 3, .image_size = 32};
    manual_seed(2026);
    nn::DcganGenerator g(config);
    nn::DcganDiscriminator d(config);
    Generator init{11, 0};
    nn::dcgan_init(g, init);
    nn::dcgan_init(d, init);
    g.to(device);
    d.to(device);
    nn::Adam opt_g(g.parameters(), {.lr = 2e-3, .beta1 = 0.5});
    nn::Adam opt_d(d.parameters(), {.lr = 2e-3, .beta1 = 0.5});
    Generator data{12, 0}, noise{13, 0}, drop{14, 0};
    const Tensor ones = Tensor::full({batch}, 1.0, DType::F32, device);
    const Tensor zeros = Tensor::zeros({batch}, DType::F32, device);
    for (int it = 0; it < steps; ++it) {
        const Tensor real = Tensor::uniform({batch, 3, 32, 32}, -1, 1, data, DType::F32, device);
        opt_d.zero_grad();
        binary_cross_entropy(d(dropout(real, 0.1, true, drop)), ones).backward();
        const Tensor fake = g(Tensor::normal({batch, 16, 1, 1}, 0, 1, noise, DType::F32, device));
        binary_cross_entropy(d(fake.detach()), zeros).backward();
        opt_d.step();
        opt_g.zero_grad();
        binary_cross_entropy(d(fake), ones).backward();
        opt_g.step();
    }
    TrainingState state;
    for (const auto* net : {static_cast<const nn::Module*>(&g), static_cast<const nn::Module*>(&d)}) {
        for (const auto& [name, p] : net->named_parameters()) state.emplace_back(name, p.to_vector());
        for (const auto& [name, b] : net->named_buffers())
            if (b.dtype() == DType::F32) state.emplace_back(name, b.to_vector());
    }
    return state;
}

}  // namespace test
