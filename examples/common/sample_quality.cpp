#include "sample_quality.h"

#include <algorithm>
#include <cstdio>
#include <fstream>

namespace examples {

using namespace ganops;

namespace {
struct Outputs {
    Tensor features;            // [N, 128] on the CPU
    std::vector<double> share;  // predicted class shares
};

Outputs run(SampleClassifier& classifier, const Tensor& images) {
    NoGradGuard no_grad;
    classifier.eval();
    const Device device = classifier.parameters()[0].device();
    const Tensor input = to_classifier_input(images);
    const int64_t n = input.size(0);
    Tensor features = Tensor::empty({n, SampleClassifier::kFeatures});
    std::vector<double> share(SampleClassifier::kClasses, 0.0);
    for (int64_t begin = 0; begin < n; begin += 500) {
        const int64_t end = std::min(n, begin + 500);
        const Tensor f = classifier.features(input.slice_rows(begin, end).to(device));
        features.slice_rows(begin, end).copy_from(f.to(Device::CPU));
        const std::vector<float> z = classifier.fc2->forward(f).to_vector();
        for (int64_t i = 0; i < end - begin; ++i) {
            const auto row = z.begin() + i * SampleClassifier::kClasses;
            share[size_t(std::max_element(row, row + SampleClassifier::kClasses) - row)] += 1.0 / double(n);
        }
    }
    return {features, share};
}
}  // namespace

SampleQuality sample_quality(SampleClassifier& classifier, const Tensor& real, const Tensor& generated) {
    const Outputs r = run(classifier, real), g = run(classifier, generated);
    SampleQuality q;
    q.frechet_distance = nn::frechet_distance(r.features, g.features);
    q.real_class_share = r.share;
    q.generated_class_share = g.share;
    for (size_t c = 0; c < r.share.size(); ++c) q.class_coverage += std::min(r.share[c], g.share[c]);
    return q;
}

void report(const SampleQuality& q, int64_t samples, const std::string& prefix, const std::string& metrics_path) {
    std::printf("%ssample quality over %lld images: Frechet distance %.4f (classifier features), class coverage %.4f\n",
                prefix.c_str(), static_cast<long long>(samples), q.frechet_distance, q.class_coverage);
    std::ofstream(metrics_path) << "{\"frechet_distance\": " << q.frechet_distance << ", \"class_coverage\": "
                                << q.class_coverage << ", \"samples\": " << samples << "}\n";
}

}  // namespace examples
