// cdcgan: the conditional DCGAN (Mirza & Osindero 2014 on Radford et al.'s networks). The
// class goes into both networks as a one-hot code: appended to z for G, and as ten constant
// maps appended to the image for D. The sample grid has one row per class.
#include <cmath>

#include "gan_loop.h"

using namespace ganops;

int main(int argc, char** argv) {
    gan_family::Options o;
    int64_t ngf = 32, ndf = 32;
    constexpr int64_t kClasses = 10;
    CLI::App app{"Conditional DCGAN on Fashion-MNIST, on libganops"};
    gan_family::add_options(app, o);
    app.add_option("--ngf", ngf, "generator width")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--ndf", ndf, "discriminator width")->check(CLI::PositiveNumber)->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    return gan_family::launch("cdcgan", o, [&](gan_family::Ranks& ranks) {
        const Device device = gan_family::device_of(o);
        const int64_t s = o.image_size;
        manual_seed(o.seed);
        nn::DcganGenerator netG({.nz = o.nz + kClasses, .ngf = ngf, .ndf = ndf, .nc = 1, .image_size = s});
        nn::DcganDiscriminator netD({.nz = o.nz, .ngf = ngf, .ndf = ndf, .nc = 1 + kClasses, .image_size = s});
        nn::dcgan_init(netG);
        nn::dcgan_init(netD);
        netG.to(device);
        netD.to(device);
        ranks.replicate(netG);
        ranks.replicate(netD);
        nn::Adam optG(netG.parameters(), {.lr = o.lr, .beta1 = o.beta1});
        nn::Adam optD(netD.parameters(), {.lr = o.lr, .beta1 = o.beta1});
        const auto average_g = ranks.reducer(netG.parameters()), average_d = ranks.reducer(netD.parameters());
        Generator noise{o.seed + 1, 0}, label_gen{o.seed + 2, 0};

        auto G = [&](const Tensor& z, const Tensor& labels) {
            return netG(concat_channels(z, gan_family::one_hot(labels, kClasses, 1)));
        };
        auto D = [&](const Tensor& x, const Tensor& labels) {
            return netD(concat_channels(x, gan_family::one_hot(labels, kClasses, s)));
        };
        auto random_labels = [&](int64_t n, Generator& gen) {
            std::vector<float> l = Tensor::uniform({n}, 0, 1, gen).to_vector();
            for (float& v : l) v = std::min(float(kClasses - 1), std::floor(v * kClasses));
            return Tensor::from_vector({n}, l, device);
        };
        // Grid: row c shows class c for the same eight noise vectors.
        const Tensor fixed_z = Tensor::normal({8, o.nz, 1, 1}, 0, 1, noise, DType::F32, Device::CPU);
        std::vector<float> grid_z, grid_labels;
        for (int64_t c = 0; c < kClasses; ++c) {
            const std::vector<float> z = fixed_z.to_vector();
            grid_z.insert(grid_z.end(), z.begin(), z.end());
            grid_labels.insert(grid_labels.end(), 8, float(c));
        }
        const Tensor grid_noise = Tensor::from_vector({8 * kClasses, o.nz, 1, 1}, grid_z, device);
        const Tensor grid_label = Tensor::from_vector({8 * kClasses}, grid_labels, device);

        gan_family::Model model;
        model.saved = {{"netG", &netG}, {"netD", &netD}};
        // Random draws for the global batch, of which this rank takes its rows.
        model.step = [&](const Tensor& real, const Tensor& labels) {
            const Tensor fake_labels = ranks.my_rows(random_labels(o.batch_size, label_gen));
            return gan_family::adversarial_step(
                optD, optG, [&] { return D(real, labels); },
                [&] { return G(ranks.my_rows(Tensor::normal({o.batch_size, o.nz, 1, 1}, 0, 1, noise, DType::F32, device)), fake_labels); },
                [&](const Tensor& x) { return D(x, fake_labels); }, average_d.get(), average_g.get());
        };
        model.sample = [&](int64_t n, Generator& gen) {
            netG.eval();
            const Tensor images = G(Tensor::normal({n, o.nz, 1, 1}, 0, 1, gen, DType::F32, device), random_labels(n, gen));
            netG.train();
            return images;
        };
        model.grid = [&] {
            netG.eval();
            const Tensor images = G(grid_noise, grid_label);
            netG.train();
            return images;
        };
        return gan_family::run("cdcgan", o, model, ranks);
    });
}
