// dcgan_probe: how much a DCGAN discriminator's features know, measured as the DCGAN paper
// does: every convolutional layer's activations max-pooled to a 4x4 grid and concatenated
// feed an L2-regularised linear classifier (trained with this library) on Fashion-MNIST;
// the test accuracy is reported for the trained D and, as the baseline, for the same
// architecture left at its random initialisation.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>

#include <ganops/ganops.h>

#include "common/fashion_mnist.h"

using namespace ganops;

namespace {

// [N, features] on the CPU, in batches, D in evaluation mode.
Tensor d_features(nn::DcganDiscriminator& d, const Tensor& images, Device device) {
    NoGradGuard no_grad;
    d.eval();
    std::vector<float> all;
    int64_t width = 0;
    for (int64_t begin = 0; begin < images.size(0); begin += 256) {
        const int64_t end = std::min(images.size(0), begin + 256), n = end - begin;
        Tensor h = images.slice_rows(begin, end).to(device), features;
        for (size_t i = 0; i + 2 < d.main->size(); ++i) {
            h = (*d.main)[i].forward(h);
            if (!dynamic_cast<nn::LeakyReLU*>(&(*d.main)[i])) continue;
            const Tensor pooled = adaptive_max_pool2d(h, 4, 4).reshape({n, h.size(1) * 16});
            features = features.defined() ? concat_channels(features, pooled) : pooled;
        }
        width = features.size(1);
        const std::vector<float> v = features.to_vector();
        all.insert(all.end(), v.begin(), v.end());
    }
    return Tensor::from_vector({images.size(0), width}, all);
}

double probe(nn::DcganDiscriminator& d, const examples::LabelledImages& train, const examples::LabelledImages& test,
             Device device, const nn::LinearClassifierOptions& options) {
    const Tensor train_features = d_features(d, train.images, device);
    nn::LinearClassifier classifier(train_features.size(1), 10);
    classifier.fit(train_features.to(device), train.labels.to(device), options);
    return classifier.accuracy(d_features(d, test.images, device).to(device), test.labels.to(device));
}

}  // namespace

int main(int argc, char** argv) {
    std::string net_d, dataroot = examples::kFashionMnistRoot, device_name, out;
    int64_t image_size = 32, ndf = 32, train_samples = 10000, test_samples = 10000;
    nn::LinearClassifierOptions options{.epochs = 20, .batch_size = 256, .lr = 1e-3, .l2 = 1e-3};
    CLI::App app{"Linear-probe accuracy of a DCGAN discriminator's features on Fashion-MNIST"};
    app.add_option("--netD", net_d, "a trained discriminator (netD_*.safetensors); without it only the random baseline");
    app.add_option("--imageSize", image_size, "the discriminator's image size")->check(CLI::IsMember({16, 32, 64, 128}))
        ->capture_default_str();
    app.add_option("--ndf", ndf, "discriminator width (read from --netD when given)")->capture_default_str();
    app.add_option("--dataroot", dataroot, "folder with the Fashion-MNIST IDX files")->capture_default_str();
    app.add_option("--train-samples", train_samples, "training images for the probe")->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--test-samples", test_samples, "test images")->check(CLI::Range(1, 10000))->capture_default_str();
    app.add_option("--epochs", options.epochs, "probe training epochs")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--l2", options.l2, "L2 regularisation (weight decay)")->capture_default_str();
    app.add_option("--device", device_name, "cuda or cpu (default: cuda when a GPU is there)")
        ->check(CLI::IsMember({"cuda", "cpu"}));
    app.add_option("--out", out, "also write the accuracies as JSON here");
    CLI11_PARSE(app, argc, argv);
    try {
        const Device device = device_name.empty() ? (cuda::available() ? Device::CUDA : Device::CPU)
                                                  : (device_name == "cuda" ? Device::CUDA : Device::CPU);
        nn::SafetensorsFile weights;
        if (!net_d.empty()) {
            weights = nn::read_safetensors(net_d);
            const nn::StoredTensor* first = weights.find("main.0.weight");
            GANOPS_CHECK(first && first->shape.size() == 4, "dcgan_probe: ", net_d, " has no DCGAN main.0.weight");
            ndf = first->shape[0];
            GANOPS_CHECK(first->shape[1] == 1, "dcgan_probe: ", net_d, " takes ", first->shape[1],
                         " channels; the probe uses grey Fashion-MNIST");
        }
        const nn::DcganConfig config{.ndf = ndf, .nc = 1, .image_size = image_size};
        const examples::LabelledImages train = examples::load_fashion_mnist(dataroot, "train", image_size, train_samples);
        const examples::LabelledImages test = examples::load_fashion_mnist(dataroot, "t10k", image_size, test_samples);

        manual_seed(1);
        nn::DcganDiscriminator random_d(config);
        nn::dcgan_init(random_d);
        random_d.to(device);
        const double random_accuracy = probe(random_d, train, test, device, options);
        std::printf("random D:  linear-probe test accuracy %.4f\n", random_accuracy);
        double trained_accuracy = -1;
        if (!net_d.empty()) {
            nn::DcganDiscriminator trained_d(config);
            nn::load_state_dict(trained_d, weights, net_d);
            trained_d.to(device);
            trained_accuracy = probe(trained_d, train, test, device, options);
            std::printf("trained D: linear-probe test accuracy %.4f  (%s)\n", trained_accuracy, net_d.c_str());
        }
        if (!out.empty())
            std::ofstream(out) << "{\"random_d_accuracy\": " << random_accuracy << ", \"trained_d_accuracy\": "
                               << (trained_accuracy < 0 ? std::string("null") : std::to_string(trained_accuracy)) << "}\n";
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "dcgan_probe: %s\n", e.what());
        return 1;
    }
}
