// infogan: InfoGAN (Chen et al. 2016) on DCGAN networks. G's input is noise z, a 10-way
// categorical code and two continuous codes in [-1, 1]. D's convolutional body feeds two
// heads: the real/fake output, and Q, which predicts the codes from the features (softmax
// logits for the category, means for the continuous codes). G and Q minimise the GAN loss
// plus the variational mutual-information terms: the category's cross entropy and, for a
// unit-variance Gaussian, half the squared error of the continuous codes.
// The grid varies one code at a time: the category along rows, the first continuous code
// along columns, the rest fixed.
#include <cmath>

#include "gan_loop.h"

using namespace ganops;

namespace {
constexpr int64_t kCategories = 10, kContinuous = 2;

// D's body (everything up to its last LeakyReLU) with the real/fake head and the Q heads.
class InfoDiscriminator : public nn::Module {
public:
    explicit InfoDiscriminator(const nn::DcganConfig& c) {
        d = register_module("d", std::make_shared<nn::DcganDiscriminator>(c));
        const int64_t width = c.ndf << (int(std::log2(double(c.image_size))) - 3);  // channels at 4x4
        q_category = register_module("q_category", std::make_shared<nn::Conv2d>(width, kCategories, 4));
        q_continuous = register_module("q_continuous", std::make_shared<nn::Conv2d>(width, kContinuous, 4));
    }
    Tensor features(const Tensor& x) {
        Tensor h = x;
        for (size_t i = 0; i + 2 < d->main->size(); ++i) h = (*d->main)[i].forward(h);
        return h;
    }
    Tensor real_fake(const Tensor& h) {
        const Tensor out = (*d->main)[d->main->size() - 1].forward((*d->main)[d->main->size() - 2].forward(h));
        return out.reshape({out.size(0)});
    }
    Tensor forward(const Tensor& x) override { return real_fake(features(x)); }
    std::shared_ptr<nn::DcganDiscriminator> d;
    std::shared_ptr<nn::Conv2d> q_category, q_continuous;
};

struct Codes {
    Tensor category;    // [n] class indices
    Tensor continuous;  // [n, 2] in [-1, 1]
    Tensor input;       // G's input [n, nz + 12, 1, 1]
};
}  // namespace

int main(int argc, char** argv) {
    gan_family::Options o;
    o.nz = 62;
    int64_t ngf = 32, ndf = 32;
    double lambda_continuous = 0.1;
    CLI::App app{"InfoGAN on Fashion-MNIST, on libganops"};
    gan_family::add_options(app, o);
    app.add_option("--ngf", ngf, "generator width")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--ndf", ndf, "discriminator width")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--lambda-continuous", lambda_continuous, "weight of the continuous codes' information term")
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    return gan_family::launch("infogan", o, [&](gan_family::Ranks& ranks) {
        const Device device = gan_family::device_of(o);
        manual_seed(o.seed);
        const nn::DcganConfig gc{.nz = o.nz + kCategories + kContinuous, .ngf = ngf, .ndf = ndf, .nc = 1, .image_size = o.image_size};
        nn::DcganGenerator netG(gc);
        InfoDiscriminator netD({.nz = o.nz, .ngf = ngf, .ndf = ndf, .nc = 1, .image_size = o.image_size});
        nn::dcgan_init(netG);
        nn::dcgan_init(netD);
        netG.to(device);
        netD.to(device);
        ranks.replicate(netG);
        ranks.replicate(netD);
        std::vector<Tensor> gq = netG.parameters();
        for (const Tensor& p : netD.q_category->parameters()) gq.push_back(p);
        for (const Tensor& p : netD.q_continuous->parameters()) gq.push_back(p);
        nn::Adam optG(gq, {.lr = o.lr, .beta1 = o.beta1});
        nn::Adam optD(netD.d->parameters(), {.lr = o.lr, .beta1 = o.beta1});
        const auto average_gq = ranks.reducer(gq), average_d = ranks.reducer(netD.d->parameters());
        Generator noise{o.seed + 1, 0};

        auto make_codes = [&](const Tensor& z, std::vector<float> category, std::vector<float> continuous) {
            const int64_t n = z.size(0);
            Codes c;
            c.category = Tensor::from_vector({n}, category, device);
            c.continuous = Tensor::from_vector({n, kContinuous}, continuous, device);
            c.input = concat_channels(concat_channels(z, gan_family::one_hot(c.category, kCategories, 1)),
                                      c.continuous.reshape({n, kContinuous, 1, 1}));
            return c;
        };
        auto random_codes = [&](int64_t n, Generator& gen) {
            std::vector<float> category = Tensor::uniform({n}, 0, 1, gen).to_vector();
            for (float& v : category) v = std::min(float(kCategories - 1), std::floor(v * kCategories));
            return make_codes(Tensor::normal({n, o.nz, 1, 1}, 0, 1, gen, DType::F32, device), category,
                              Tensor::uniform({n * kContinuous}, -1, 1, gen).to_vector());
        };
        // Grid: one z; row = category, column = first continuous code from -1 to 1.
        const std::vector<float> z1 = Tensor::normal({o.nz}, 0, 1, noise).to_vector();
        std::vector<float> grid_z, grid_category, grid_continuous;
        for (int64_t row = 0; row < kCategories; ++row)
            for (int64_t col = 0; col < 8; ++col) {
                grid_z.insert(grid_z.end(), z1.begin(), z1.end());
                grid_category.push_back(float(row));
                grid_continuous.push_back(-1.0f + 2.0f * float(col) / 7.0f);
                grid_continuous.push_back(0.0f);
            }
        const Codes grid = make_codes(Tensor::from_vector({8 * kCategories, o.nz, 1, 1}, grid_z, device), grid_category,
                                      grid_continuous);
        const int64_t n = ranks.local_batch();
        const Tensor ones = Tensor::full({n}, 1.0, DType::F32, device);
        const Tensor zeros = Tensor::zeros({n}, DType::F32, device);

        gan_family::Model model;
        model.saved = {{"netG", &netG}, {"netD", &netD}};
        model.step = [&](const Tensor& real, const Tensor&) {
            optD.zero_grad();
            const Tensor out_real = netD(real);
            const Tensor err_real = binary_cross_entropy(out_real, ones);
            err_real.backward();
            // Codes drawn for the global batch, of which this rank takes its rows.
            Codes c = random_codes(o.batch_size, noise);
            for (Tensor* t : {&c.category, &c.continuous, &c.input}) *t = ranks.my_rows(*t);
            const Tensor fake = netG(c.input);
            const Tensor out_fake = netD(fake.detach());
            const Tensor err_fake = binary_cross_entropy(out_fake, zeros);
            gan_family::backward_and_average(err_fake, average_d.get());
            optD.step();

            optG.zero_grad();
            const Tensor h = netD.features(fake);
            const Tensor out_g = netD.real_fake(h);
            const Tensor category_logits = netD.q_category->forward(h).reshape({n, kCategories});
            const Tensor continuous_mean = netD.q_continuous->forward(h).reshape({n, kContinuous});
            const Tensor diff = sub(continuous_mean, c.continuous);
            const Tensor info = add(softmax_cross_entropy(category_logits, c.category),
                                    mul(mean(mul(diff, diff)), 0.5 * lambda_continuous * kContinuous));
            const Tensor err_g = add(binary_cross_entropy(out_g, ones), info);
            gan_family::backward_and_average(err_g, average_gq.get());
            optG.step();
            return gan_family::StepResult{err_real.item() + err_fake.item(), err_g.item(), mean(out_real).item(),
                                          mean(out_fake).item(), mean(out_g).item()};
        };
        model.sample = [&](int64_t n, Generator& gen) {
            netG.eval();
            const Tensor images = netG(random_codes(n, gen).input);
            netG.train();
            return images;
        };
        model.grid = [&] {
            netG.eval();
            const Tensor images = netG(grid.input);
            netG.train();
            return images;
        };
        return gan_family::run("infogan", o, model, ranks);
    });
}
