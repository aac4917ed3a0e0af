// The sample-quality and representation measures on cases with known answers.
#include "nn/frechet_distance.h"
#include "nn/linear_classifier.h"
#include "test_util.h"

using namespace ganops;

namespace {
nn::FeatureStatistics stats(std::vector<double> mean, std::vector<double> cov) {
    nn::FeatureStatistics s;
    s.dim = int64_t(mean.size());
    s.count = 100;
    s.mean = std::move(mean);
    s.covariance = std::move(cov);
    return s;
}
}  // namespace

TEST_CASE("Frechet distance: zero for identical sets, closed forms, and scipy's values") {
    const Tensor f = test::randn({500, 6});
    CHECK(nn::frechet_distance(f, f) < 1e-9);
    // Diagonal covariances: |mu1 - mu2|^2 + sum (sqrt a - sqrt b)^2 = (1 + 4) + (1 + 4).
    CHECK(std::abs(nn::frechet_distance(stats({1, 2}, {4, 0, 0, 9}), stats({0, 0}, {1, 0, 0, 1})) - 10) < 1e-12);
    // Covariances that do not commute, against scipy.linalg.sqrtm on the same matrices.
    CHECK(std::abs(nn::frechet_distance(stats({0, 0}, {2, 1, 1, 2}), stats({0, 0}, {1, 0, 0, 3})) - 0.516685226452115) < 1e-12);
    CHECK(std::abs(nn::frechet_distance(stats({1, 0, -1}, {4, 1, 0.5, 1, 3, 0.2, 0.5, 0.2, 1}),
                                        stats({0.5, 0.5, 0.5}, {1, -0.3, 0, -0.3, 2, 0.7, 0, 0.7, 1.5})) -
                   4.299276324270599) < 1e-12);
    // Sample statistics: shifting every feature by 3 adds 3^2 per feature, nothing else.
    std::vector<double> v = f.to_double_vector();
    for (double& e : v) e += 3;
    CHECK(std::abs(nn::frechet_distance(f, Tensor::from_vector(f.shape(), v)) - 6 * 9) < 1e-9);
    const nn::FeatureStatistics s = nn::feature_statistics(Tensor::from_vector({3, 1}, std::vector<double>{1, 2, 6}));
    CHECK(s.mean[0] == 3);
    CHECK(s.covariance[0] == 7);  // ((−2)^2 + (−1)^2 + 3^2) / (3 − 1), numpy.cov's convention
    CHECK_THROWS_CONTAINING(nn::frechet_distance(test::randn({5, 3}), test::randn({5, 4})),
                            "frechet_distance: statistics of 3 and 4 features do not match");
    CHECK_THROWS_CONTAINING(nn::feature_statistics(test::randn({1, 3})), "features must be [N, D] with N >= 2");
}

TEST_CASE("Frechet distance refuses NaN and inf features and statistics, saying where") {
    std::vector<double> v = test::randn({20, 4}).to_double_vector();
    v[size_t(6 * 4 + 3)] = NAN;
    const Tensor with_nan = Tensor::from_vector({20, 4}, v);
    CHECK_THROWS_CONTAINING(nn::frechet_distance(with_nan, test::randn({20, 4})),
                            "feature_statistics: features [20, 4] hold nan at row 6, column 3");
    v[size_t(6 * 4 + 3)] = -INFINITY;
    CHECK_THROWS_CONTAINING(nn::feature_statistics(Tensor::from_vector({20, 4}, v)), "hold -inf at row 6, column 3");
    CHECK_THROWS_CONTAINING(nn::frechet_distance(stats({0, NAN}, {1, 0, 0, 1}), stats({0, 0}, {1, 0, 0, 1})),
                            "frechet_distance: statistics of 100 samples hold nan in their mean");
    CHECK_THROWS_CONTAINING(nn::frechet_distance(stats({0, 0}, {1, 0, 0, 1}), stats({0, 0}, {1, INFINITY, 0, 1})),
                            "hold inf in their covariance");
}

TEST_CASE("the linear classifier separates separable data perfectly") {
    // Three classes in 5-d around well separated centres, plus a constant feature.
    auto make = [](int64_t n, Generator& gen) {
        const std::vector<double> noise = Tensor::normal({n, 6}, 0, 0.3, gen, DType::F64).to_double_vector();
        std::vector<float> x(static_cast<size_t>(n * 6)), y(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) {
            const int64_t c = i % 3;
            y[size_t(i)] = float(c);
            for (int64_t j = 0; j < 5; ++j) x[size_t(i * 6 + j)] = float((j == c ? 4.0 : 0.0) + noise[size_t(i * 6 + j)]);
            x[size_t(i * 6 + 5)] = 7.0f;
        }
        return std::pair{Tensor::from_vector({n, 6}, x), Tensor::from_vector({n}, y)};
    };
    Generator gen{31, 0};
    const auto [train_x, train_y] = make(600, gen);
    const auto [test_x, test_y] = make(300, gen);
    manual_seed(2);
    nn::LinearClassifier probe(6, 3);
    probe.fit(train_x, train_y, {.epochs = 20, .batch_size = 64, .lr = 0.05});
    CHECK(probe.accuracy(train_x, train_y) == 1.0);
    CHECK(probe.accuracy(test_x, test_y) == 1.0);
    const auto p = probe.probabilities(test_x.slice_rows(0, 1)).to_double_vector();
    CHECK(p[0] > 0.9);  // row 0 is class 0
    // Labels permuted at random cannot be learned to 100% held-out accuracy.
    std::vector<float> shuffled = train_y.to_vector();
    std::rotate(shuffled.begin(), shuffled.begin() + 1, shuffled.begin() + 300);
    nn::LinearClassifier confused(6, 3);
    confused.fit(train_x, Tensor::from_vector({600}, shuffled), {.epochs = 5});
    CHECK(confused.accuracy(test_x, test_y) < 1.0);
    CHECK_THROWS_CONTAINING(nn::LinearClassifier(6, 3).accuracy(test_x, test_y), "LinearClassifier: used before fit()");
}
