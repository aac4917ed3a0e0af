// gan_mlp: the original, fully connected GAN (Goodfellow et al. 2014) on 28x28 Fashion-MNIST.
// G: z -> Linear + LeakyReLU (256, 512, 1024) -> Linear 784 -> tanh.
// D: 784 -> Linear + LeakyReLU + Dropout (512, 256) -> Linear 1 -> sigmoid.
#include "gan_loop.h"

using namespace ganops;

namespace {
std::shared_ptr<nn::Sequential> generator(int64_t nz) {
    auto g = std::make_shared<nn::Sequential>();
    int64_t in = nz;
    for (int64_t out : {256, 512, 1024}) {
        g->emplace<nn::Linear>(in, out);
        g->emplace<nn::LeakyReLU>(0.2);
        in = out;
    }
    g->emplace<nn::Linear>(in, 784);
    g->emplace<nn::Tanh>();
    return g;
}

std::shared_ptr<nn::Sequential> discriminator(double dropout) {
    auto d = std::make_shared<nn::Sequential>();
    int64_t in = 784;
    for (int64_t out : {512, 256}) {
        d->emplace<nn::Linear>(in, out);
        d->emplace<nn::LeakyReLU>(0.2);
        d->emplace<nn::Dropout>(dropout);
        in = out;
    }
    d->emplace<nn::Linear>(in, 1);
    d->emplace<nn::Sigmoid>();
    return d;
}
}  // namespace

int main(int argc, char** argv) {
    gan_family::Options o;
    o.image_size = 28;
    double dropout = 0.3;
    CLI::App app{"The fully connected GAN of Goodfellow et al. (2014) on Fashion-MNIST, on libganops"};
    gan_family::add_options(app, o, /*image_size_fixed=*/true, /*has_batchnorm=*/false);
    app.add_option("--dropout", dropout, "dropout in D")->check(CLI::Range(0.0, 0.9))->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    return gan_family::launch("gan_mlp", o, [&](gan_family::Ranks& ranks) {
        const Device device = gan_family::device_of(o);
        manual_seed(o.seed);
        auto netG = generator(o.nz), netD = discriminator(dropout);
        netG->to(device);
        netD->to(device);
        ranks.replicate(*netG);
        ranks.replicate(*netD);
        nn::Adam optG(netG->parameters(), {.lr = o.lr, .beta1 = o.beta1});
        nn::Adam optD(netD->parameters(), {.lr = o.lr, .beta1 = o.beta1});
        const auto average_g = ranks.reducer(netG->parameters()), average_d = ranks.reducer(netD->parameters());
        Generator noise{o.seed + 1, 0};
        const Tensor fixed = Tensor::normal({64, o.nz}, 0, 1, noise, DType::F32, device);
        auto D = [&](const Tensor& x) { return (*netD)(x).reshape({x.size(0)}); };
        auto G = [&](const Tensor& z) { return (*netG)(z); };

        gan_family::Model model;
        model.saved = {{"netG", netG.get()}, {"netD", netD.get()}};
        // The noise is drawn for the global batch, of which this rank takes its rows.
        model.step = [&](const Tensor& images, const Tensor&) {
            return gan_family::adversarial_step(
                optD, optG, [&] { return D(images.reshape({ranks.local_batch(), 784})); },
                [&] { return G(ranks.my_rows(Tensor::normal({o.batch_size, o.nz}, 0, 1, noise, DType::F32, device))); }, D,
                average_d.get(), average_g.get());
        };
        model.sample = [&](int64_t n, Generator& gen) {
            return G(Tensor::normal({n, o.nz}, 0, 1, gen, DType::F32, device)).reshape({n, 1, 28, 28});
        };
        model.grid = [&] { return G(fixed).reshape({64, 1, 28, 28}); };
        return gan_family::run("gan_mlp", o, model, ranks);
    });
}
