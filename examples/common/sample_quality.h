// Numbers for how good generated samples are, from the Fashion-MNIST sample classifier:
// - frechet_distance: between the classifier features of real and generated images (an FID
//   with our classifier in Inception's place; 0 for identical sets, lower is better);
// - class_coverage: sum over classes of min(share among generated, share among real) of the
//   classifier's predicted labels: 1 when generated samples spread over the classes as the
//   real ones do, about 0.1 when a collapsed generator draws one class of ten.
#pragma once
#include <string>
#include <vector>

#include "sample_classifier.h"

namespace examples {

struct SampleQuality {
    double frechet_distance = 0;
    double class_coverage = 0;
    std::vector<double> generated_class_share, real_class_share;  // [10]
};

// real and generated: images [N, C, S, S] in [-1, 1], any size (to_classifier_input).
SampleQuality sample_quality(SampleClassifier& classifier, const ganops::Tensor& real, const ganops::Tensor& generated);

// Prints "<prefix>sample quality over N images: Frechet distance ..., class coverage ..." and
// writes the two numbers to `metrics_path` as JSON.
void report(const SampleQuality& quality, int64_t samples, const std::string& prefix, const std::string& metrics_path);

}  // namespace examples
