#include "frechet_distance.h"

#include <Eigen/Dense>
#include <cmath>

namespace ganops::nn {

namespace {
using Matrix = Eigen::MatrixXd;

// Symmetric positive semi-definite square root by eigendecomposition. Sample covariances
// can have tiny negative eigenvalues from rounding; they are clamped to zero.
Matrix psd_sqrt(const Matrix& s) {
    Eigen::SelfAdjointEigenSolver<Matrix> eig(s);
    const Eigen::VectorXd roots = eig.eigenvalues().cwiseMax(0.0).cwiseSqrt();
    return eig.eigenvectors() * roots.asDiagonal() * eig.eigenvectors().transpose();
}
}  // namespace

FeatureStatistics feature_statistics(const Tensor& features) {
    GANOPS_CHECK(features.defined() && features.ndim() == 2 && features.size(0) >= 2 && features.size(1) >= 1,
                 "feature_statistics: features must be [N, D] with N >= 2, got ", features.str());
    const int64_t n = features.size(0), d = features.size(1);
    const std::vector<double> v = features.to_double_vector();
    // One NaN makes every mean, covariance and the distance NaN: refuse it, saying where.
    for (size_t i = 0; i < v.size(); ++i)
        GANOPS_CHECK(std::isfinite(v[i]), "feature_statistics: features ", features.shape(), " hold ", v[i], " at row ",
                     int64_t(i) / d, ", column ", int64_t(i) % d, " (non-finite outputs of the generator or the feature network)");
    const Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> x(v.data(), n, d);
    const Eigen::RowVectorXd mean = x.colwise().mean();
    const Matrix centred = x.rowwise() - mean;
    const Matrix cov = (centred.transpose() * centred) / double(n - 1);
    FeatureStatistics s;
    s.dim = d;
    s.count = n;
    s.mean.assign(mean.data(), mean.data() + d);
    s.covariance.resize(size_t(d * d));
    Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(s.covariance.data(), d, d) = cov;
    return s;
}

double frechet_distance(const FeatureStatistics& a, const FeatureStatistics& b) {
    GANOPS_CHECK(a.dim == b.dim && a.dim > 0 && a.mean.size() == size_t(a.dim) && b.mean.size() == size_t(b.dim) &&
                     a.covariance.size() == size_t(a.dim * a.dim) && b.covariance.size() == size_t(b.dim * b.dim),
                 "frechet_distance: statistics of ", a.dim, " and ", b.dim, " features do not match");
    for (const FeatureStatistics* s : {&a, &b})
        for (const std::vector<double>* values : {&s->mean, &s->covariance})
            for (const double x : *values)
                GANOPS_CHECK(std::isfinite(x), "frechet_distance: statistics of ", s->count, " samples hold ", x,
                             " in their ", values == &s->mean ? "mean" : "covariance");
    const int64_t d = a.dim;
    const Eigen::Map<const Eigen::VectorXd> mu1(a.mean.data(), d), mu2(b.mean.data(), d);
    const Matrix s1 = Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(a.covariance.data(), d, d);
    const Matrix s2 = Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(b.covariance.data(), d, d);
    // tr (S1 S2)^(1/2) = tr (S1^(1/2) S2 S1^(1/2))^(1/2), and the latter is symmetric PSD.
    const Matrix r1 = psd_sqrt(s1);
    const Matrix inner = r1 * s2 * r1;
    Eigen::SelfAdjointEigenSolver<Matrix> eig((inner + inner.transpose()) / 2, Eigen::EigenvaluesOnly);
    const double trace_sqrt = eig.eigenvalues().cwiseMax(0.0).cwiseSqrt().sum();
    const double distance = (mu1 - mu2).squaredNorm() + s1.trace() + s2.trace() - 2 * trace_sqrt;
    return std::max(distance, 0.0);  // rounding can leave -1e-12 for identical sets
}

double frechet_distance(const Tensor& features_a, const Tensor& features_b) {
    return frechet_distance(feature_statistics(features_a), feature_statistics(features_b));
}

}  // namespace ganops::nn
