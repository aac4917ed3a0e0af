// The sample classifier and the sample-quality measures on cases with known answers, and a
// short real training run that must beat chance by far.
#include "catch_compat.h"
#include "common/fashion_mnist.h"
#include "common/sample_classifier.h"
#include "common/sample_quality.h"

using namespace ganops;

TEST_CASE("Fashion-MNIST loads with labels, resized to 32x32 in [-1, 1]") {
    const examples::LabelledImages d = examples::load_fashion_mnist(examples::kFashionMnistRoot, "t10k", 32, 100);
    CHECK(d.images.shape() == Shape{100, 1, 32, 32});
    CHECK(d.labels.shape() == Shape{100});
    const std::vector<float> v = d.images.to_vector();
    CHECK(*std::min_element(v.begin(), v.end()) == -1.0f);  // background is black
    CHECK(*std::max_element(v.begin(), v.end()) > 0.9f);
    // The first test labels of Fashion-MNIST, as published: ankle boot, pullover, trouser, trouser.
    const std::vector<float> l = d.labels.to_vector();
    CHECK(std::vector<float>(l.begin(), l.begin() + 4) == std::vector<float>{9, 2, 1, 1});
    CHECK_THROWS_CONTAINING(examples::load_fashion_mnist("/nonexistent", "train", 32), "no train-images-idx3-ubyte[.gz] in /nonexistent");
}

TEST_CASE("to_classifier_input averages colour and area-downsamples") {
    // A 64x64 colour image whose 2x2 blocks average to known values.
    std::vector<float> v(3 * 64 * 64);
    for (int64_t c = 0; c < 3; ++c)
        for (int64_t y = 0; y < 64; ++y)
            for (int64_t x = 0; x < 64; ++x) v[size_t((c * 64 + y) * 64 + x)] = float(c) * 0.1f + ((x + y) % 2 ? 0.5f : -0.5f);
    const std::vector<float> out = examples::to_classifier_input(Tensor::from_vector({1, 3, 64, 64}, v)).to_vector();
    REQUIRE(out.size() == 32 * 32);
    for (float o : out) CHECK(std::abs(o - 0.1f) < 1e-6);  // colour mean 0.1, checkerboard averages out
}

TEST_CASE("sample quality: identical sets score perfectly, a collapsed generator does not") {
    manual_seed(4);
    const examples::LabelledImages train = examples::load_fashion_mnist(examples::kFashionMnistRoot, "train", 32, 2000);
    const examples::LabelledImages test = examples::load_fashion_mnist(examples::kFashionMnistRoot, "t10k", 32, 1000);
    examples::SampleClassifier classifier(8);
    examples::train_classifier(classifier, train.images, train.labels, {.epochs = 2, .batch_size = 50, .verbose = false});
    // Chance is 10%; two short epochs on 2000 images reach well above 60%.
    CHECK(examples::classifier_accuracy(classifier, test.images, test.labels) > 0.6);

    const examples::SampleQuality same = examples::sample_quality(classifier, test.images, test.images);
    CHECK(same.frechet_distance < 1e-6);
    CHECK(std::abs(same.class_coverage - 1.0) < 1e-12);

    // "Generated" = one image repeated: one predicted class, so coverage is that class's
    // real share, and the features' distance is large.
    std::vector<float> one = test.images.slice_rows(0, 1).to_vector(), repeated;
    for (int i = 0; i < 1000; ++i) repeated.insert(repeated.end(), one.begin(), one.end());
    const examples::SampleQuality collapsed = examples::sample_quality(classifier, test.images, Tensor::from_vector({1000, 1, 32, 32}, repeated));
    const auto top = std::max_element(collapsed.generated_class_share.begin(), collapsed.generated_class_share.end());
    CHECK(std::abs(*top - 1.0) < 1e-9);
    CHECK(std::abs(collapsed.class_coverage - collapsed.real_class_share[size_t(top - collapsed.generated_class_share.begin())]) < 1e-9);
    CHECK(collapsed.class_coverage < 0.3);
    CHECK(collapsed.frechet_distance > 10 * std::max(same.frechet_distance, 1e-3));

    // Another real sample of the same distribution is much closer than the collapsed set.
    const examples::LabelledImages other = examples::load_fashion_mnist(examples::kFashionMnistRoot, "train", 32, 1000);
    const examples::SampleQuality fresh = examples::sample_quality(classifier, test.images, other.images);
    CHECK(fresh.frechet_distance < collapsed.frechet_distance / 5);
    CHECK(fresh.class_coverage > 0.85);
}
