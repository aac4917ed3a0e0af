// fashion_classifier: trains the sample classifier (examples/common/sample_classifier.h) on
// Fashion-MNIST, reports its test accuracy and saves it as safetensors. The GAN examples
// load it to score their samples (Frechet distance of its features, class coverage).
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>

#include "common/fashion_mnist.h"
#include "common/sample_classifier.h"

using namespace ganops;

int main(int argc, char** argv) {
    std::string dataroot = examples::kFashionMnistRoot, out = "fashion_classifier.safetensors", device_name;
    examples::ClassifierTraining training;
    int64_t limit = 0, width = 16;
    uint64_t seed = 1;
    CLI::App app{"Train the Fashion-MNIST classifier that scores GAN samples"};
    app.add_option("--dataroot", dataroot, "folder with the Fashion-MNIST IDX files")->capture_default_str();
    app.add_option("--epochs", training.epochs, "training epochs")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--batchSize", training.batch_size, "batch size")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--lr", training.lr, "Adam learning rate")->capture_default_str();
    app.add_option("--width", width, "channels of the first convolution")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--limit", limit, "use only the first N training images (0: all)")->capture_default_str();
    app.add_option("--manualSeed", seed, "seed")->capture_default_str();
    app.add_option("--device", device_name, "cuda or cpu (default: cuda when a GPU is present)")
        ->check(CLI::IsMember({"cuda", "cpu"}));
    app.add_option("--out", out, "where to save the classifier")->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    try {
        const Device device = device_name.empty() ? (cuda::available() ? Device::CUDA : Device::CPU)
                                                  : (device_name == "cuda" ? Device::CUDA : Device::CPU);
        manual_seed(seed);
        training.seed = seed;
        const auto t0 = std::chrono::steady_clock::now();
        const examples::LabelledImages train = examples::load_fashion_mnist(dataroot, "train", 32, limit);
        const examples::LabelledImages test = examples::load_fashion_mnist(dataroot, "t10k", 32);
        examples::SampleClassifier model(width);
        model.to(device);
        examples::train_classifier(model, train.images, train.labels, training);
        const double accuracy = examples::classifier_accuracy(model, test.images, test.labels);
        nn::save_state_dict(model, out, {{"width", std::to_string(width)}, {"test_accuracy", std::to_string(accuracy)}});
        std::printf("test accuracy %.4f on %lld Fashion-MNIST test images (%.0f s on %s); saved %s\n", accuracy,
                    static_cast<long long>(test.images.size(0)),
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), ganops::device_name(device), out.c_str());
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fashion_classifier: %s\n", e.what());
        return 1;
    }
}
