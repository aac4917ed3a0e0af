// An L2-regularised multinomial logistic regression, trained with this library: the probe
// the DCGAN paper uses to measure what a discriminator's features know, and the classifier
// behind our sample-quality scores. Features are standardised with the training set's
// per-feature mean and deviation before the linear layer.
#pragma once
#include <cstdint>

#include "linear.h"

namespace ganops::nn {

struct LinearClassifierOptions {
    int64_t epochs = 30;
    int64_t batch_size = 256;
    double lr = 1e-2;
    double l2 = 1e-4;  // weight decay on the linear layer
    uint64_t seed = 0;
};

class LinearClassifier {
public:
    LinearClassifier(int64_t features, int64_t classes);
    // x [N, features] and labels [N] (class indices as numbers), on one device.
    void fit(const Tensor& x, const Tensor& labels, const LinearClassifierOptions& options = {});
    Tensor logits(const Tensor& x) const;
    Tensor probabilities(const Tensor& x) const;  // softmax of the logits
    double accuracy(const Tensor& x, const Tensor& labels) const;

    int64_t features, classes;
    std::shared_ptr<Linear> layer;
    Tensor mean, inv_std;  // standardisation, [features]

private:
    Tensor standardise(const Tensor& x) const;
};

}  // namespace ganops::nn
