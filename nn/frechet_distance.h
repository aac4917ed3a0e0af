// The Frechet distance between two sets of feature vectors, each summarised by its mean
// and covariance as a Gaussian:  |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)).
// With Inception pool features this is FID; our samples use a Fashion-MNIST classifier's
// features instead (Inception cannot be downloaded here), but any [N, D] matrix works.
#pragma once
#include <cstdint>
#include <vector>

#include "../core/tensor.h"

namespace ganops::nn {

struct FeatureStatistics {
    int64_t dim = 0;
    int64_t count = 0;
    std::vector<double> mean;        // [dim]
    std::vector<double> covariance;  // [dim * dim], row-major, unbiased (count - 1), as numpy.cov
};

// features [N, D], N >= 2, on any device.
FeatureStatistics feature_statistics(const Tensor& features);
double frechet_distance(const FeatureStatistics& a, const FeatureStatistics& b);
double frechet_distance(const Tensor& features_a, const Tensor& features_b);

}  // namespace ganops::nn
