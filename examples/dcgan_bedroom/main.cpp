// dcgan_bedroom: DCGAN (Radford et al. 2015) as pytorch/examples/dcgan trains it, on
// libganops. The default data is Fashion-MNIST from Debian's dataset-fashion-mnist, so
// the program runs offline; "fake" data times the training step alone.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>

#include <ganops/ganops.h>

#include "idx_reader.h"
#include "image_ops.h"

using namespace ganops;

namespace {

struct Options {
    std::string dataset = "fashion-mnist";
    std::string dataroot = "/usr/share/datasets/fashion-mnist";
    int64_t batch_size = 64, image_size = 32, nc = 1, nz = 100, ngf = 64, ndf = 64;
    int niter = 1;
    int64_t max_iters = 0;  // 0: whole epochs
    int64_t sample_every = 100;
    double lr = 2e-4, beta1 = 0.5;
    uint64_t seed = 999;
    std::string outf = "out";
};

// Every training image, already resized, cropped and scaled to [-1, 1]: [N, nc, S, S].
Tensor load_dataset(const Options& o) {
    if (o.dataset == "fake") {
        Generator gen{o.seed + 1, 0};
        return Tensor::uniform({o.batch_size * 20, o.nc, o.image_size, o.image_size}, -1, 1, gen);
    }
    const std::string path = o.dataroot + "/train-images-idx3-ubyte.gz";
    const dcgan::IdxImages idx = dcgan::read_idx_images(
        std::filesystem::exists(path) ? path : o.dataroot + "/train-images-idx3-ubyte");
    Tensor data = Tensor::empty({idx.count, o.nc, o.image_size, o.image_size});
    const int64_t plane = o.image_size * o.image_size;
    float* out = data.data<float>();
    for (int64_t i = 0; i < idx.count; ++i) {
        float* image = out + i * o.nc * plane;
        dcgan::resize_crop_normalise(idx.pixels.data() + i * idx.rows * idx.cols, idx.rows, idx.cols, o.image_size, image);
        for (int64_t c = 1; c < o.nc; ++c) std::copy(image, image + plane, image + c * plane);  // grey to colour
    }
    return data;
}

// A Fisher-Yates shuffle driven by the Philox stream, so a seed fixes the epoch order.
std::vector<int64_t> shuffled(int64_t n, Generator& gen) {
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    const std::vector<double> u = Tensor::uniform({n}, 0, 1, gen, DType::F64).to_double_vector();
    for (int64_t i = n - 1; i > 0; --i)
        std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(std::min<int64_t>(i, int64_t(u[static_cast<size_t>(i)] * double(i + 1))))]);
    return order;
}

Tensor gather_batch(const Tensor& data, const std::vector<int64_t>& order, int64_t begin, int64_t count) {
    const int64_t per = data.numel() / data.size(0);
    Tensor batch = Tensor::empty(data.shape().with(0, count));
    for (int64_t i = 0; i < count; ++i) {
        const float* src = data.data<float>() + order[static_cast<size_t>(begin + i)] * per;
        std::copy(src, src + per, batch.data<float>() + i * per);
    }
    return batch;
}

int train(const Options& o) {
    std::filesystem::create_directories(o.outf);
    manual_seed(o.seed);
    Generator noise_gen{o.seed + 2, 0}, shuffle_gen{o.seed + 3, 0};

    const auto t_load = std::chrono::steady_clock::now();
    const Tensor data = load_dataset(o);
    GANOPS_CHECK(data.size(0) >= o.batch_size, "dcgan: the dataset has ", data.size(0),
                 " images, fewer than one batch of ", o.batch_size);
    std::printf("dataset: %s, %lld images of %lldx%lldx%lld (%.1f s to load)\n", o.dataset.c_str(),
                static_cast<long long>(data.size(0)), static_cast<long long>(o.nc), static_cast<long long>(o.image_size),
                static_cast<long long>(o.image_size),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count());

    const nn::DcganConfig config{.nz = o.nz, .ngf = o.ngf, .ndf = o.ndf, .nc = o.nc, .image_size = o.image_size};
    nn::DcganGenerator netG(config);
    nn::DcganDiscriminator netD(config);
    nn::dcgan_init(netG);
    nn::dcgan_init(netD);
    nn::Adam optG(netG.parameters(), {.lr = o.lr, .beta1 = o.beta1, .beta2 = 0.999});
    nn::Adam optD(netD.parameters(), {.lr = o.lr, .beta1 = o.beta1, .beta2 = 0.999});

    const int64_t grid = std::min<int64_t>(64, o.batch_size);
    const Tensor fixed_noise = Tensor::normal({grid, o.nz, 1, 1}, 0, 1, noise_gen);
    const Tensor ones = Tensor::full({o.batch_size}, 1.0), zeros = Tensor::zeros({o.batch_size});
    const int64_t per_epoch = data.size(0) / o.batch_size;
    auto save_samples = [&](const std::string& name) {
        NoGradGuard no_grad;
        netG.eval();  // as in the reference: BN uses running statistics for the fixed-noise grid
        const Tensor samples = netG(fixed_noise);
        netG.train();
        const std::string path = o.outf + "/" + name;
        dcgan::save_image_grid(samples, 8, path);
        return path;
    };

    int64_t iteration = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (int epoch = 0; epoch < o.niter; ++epoch) {
        const std::vector<int64_t> order = shuffled(data.size(0), shuffle_gen);
        if (epoch == 0) dcgan::save_image_grid(gather_batch(data, order, 0, grid), 8, o.outf + "/real_samples.png");
        for (int64_t i = 0; i < per_epoch; ++i, ++iteration) {
            if (o.max_iters > 0 && iteration >= o.max_iters) break;
            const Tensor real = gather_batch(data, order, i * o.batch_size, o.batch_size);
            // (1) D: maximise log D(x) + log(1 - D(G(z)))
            optD.zero_grad();
            const Tensor out_real = netD(real);
            const Tensor errD_real = binary_cross_entropy(out_real, ones);
            errD_real.backward();
            const Tensor noise = Tensor::normal({o.batch_size, o.nz, 1, 1}, 0, 1, noise_gen);
            const Tensor fake = netG(noise);
            const Tensor out_fake = netD(fake.detach());
            const Tensor errD_fake = binary_cross_entropy(out_fake, zeros);
            errD_fake.backward();
            optD.step();
            // (2) G: maximise log D(G(z)), on the same fake batch
            optG.zero_grad();
            const Tensor out_g = netD(fake);
            const Tensor errG = binary_cross_entropy(out_g, ones);
            errG.backward();
            optG.step();

            const double loss_d = errD_real.item() + errD_fake.item(), loss_g = errG.item();
            if (!std::isfinite(loss_d) || !std::isfinite(loss_g)) {
                std::fprintf(stderr, "dcgan: stopping at iteration %lld: the losses are not finite (Loss_D %g, Loss_G %g)\n",
                             static_cast<long long>(iteration), loss_d, loss_g);
                return 2;
            }
            const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            std::printf("[%d/%d][%lld/%lld] Loss_D: %.4f Loss_G: %.4f D(x): %.4f D(G(z)): %.4f / %.4f  %.0f img/s\n",
                        epoch, o.niter, static_cast<long long>(i), static_cast<long long>(per_epoch), loss_d, loss_g,
                        mean(out_real).item(), mean(out_fake).item(), mean(out_g).item(),
                        double((iteration + 1) * o.batch_size) / seconds);
            std::fflush(stdout);
            if (o.sample_every > 0 && (iteration + 1) % o.sample_every == 0)
                std::printf("samples: %s\n", save_samples("fake_samples_latest.png").c_str());
        }
        char name[64];
        std::snprintf(name, sizeof name, "fake_samples_epoch_%03d.png", epoch);
        std::printf("samples: %s\n", save_samples(name).c_str());
        if (o.max_iters > 0 && iteration >= o.max_iters) break;
    }
    std::printf("done: %lld iterations in %.1f s; real and generated samples are in %s/\n",
                static_cast<long long>(iteration),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), o.outf.c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    CLI::App app{"DCGAN training on libganops (pytorch/examples/dcgan conventions)"};
    app.add_option("--dataset", o.dataset, "fashion-mnist | fake")->check(CLI::IsMember({"fashion-mnist", "fake"}))->capture_default_str();
    app.add_option("--dataroot", o.dataroot, "folder of the dataset's files")->capture_default_str();
    app.add_option("--batchSize", o.batch_size, "input batch size")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--imageSize", o.image_size, "height and width of the images (a power of two >= 16)")->capture_default_str();
    app.add_option("--nc", o.nc, "image channels (1 or 3)")->check(CLI::Range(1, 3))->capture_default_str();
    app.add_option("--nz", o.nz, "size of the latent z vector")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--ngf", o.ngf, "generator width")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--ndf", o.ndf, "discriminator width")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--niter", o.niter, "number of epochs")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--max-iters", o.max_iters, "stop after this many iterations (0: whole epochs)")->capture_default_str();
    app.add_option("--sample-every", o.sample_every, "write a sample grid every N iterations (0: only at epoch ends)")->capture_default_str();
    app.add_option("--lr", o.lr, "learning rate")->capture_default_str();
    app.add_option("--beta1", o.beta1, "Adam beta1")->capture_default_str();
    app.add_option("--manualSeed", o.seed, "seed")->capture_default_str();
    app.add_option("--outf", o.outf, "folder for images and logs")->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    try {
        return train(o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "dcgan: %s\n", e.what());
        return 1;
    }
}
