#include "linear_classifier.h"

#include <cmath>
#include <algorithm>
#include <numeric>

#include "../core/autograd.h"
#include "../core/philox.h"
#include "../core/random.h"
#include "adam.h"
#include "functional.h"

namespace ganops::nn {

namespace {
void check_data(const char* op, const Tensor& x, const Tensor& labels, int64_t features) {
    GANOPS_CHECK(x.defined() && x.ndim() == 2 && x.size(1) == features && x.size(0) > 0, op, ": features must be [N, ",
                 features, "], got ", x.str());
    GANOPS_CHECK(labels.defined() && labels.ndim() == 1 && labels.size(0) == x.size(0), op, ": labels ", labels.str(),
                 " must be [", x.size(0), "]");
}

// Rows of a host matrix in the given order, as a tensor on `device`.
Tensor rows_in_order(const std::vector<double>& v, int64_t cols, const std::vector<int64_t>& order, Device device) {
    std::vector<float> out(order.size() * size_t(cols));
    for (size_t i = 0; i < order.size(); ++i)
        for (int64_t j = 0; j < cols; ++j) out[i * size_t(cols) + size_t(j)] = float(v[size_t(order[i] * cols + j)]);
    return Tensor::from_vector(cols == 1 ? Shape{int64_t(order.size())} : Shape{int64_t(order.size()), cols}, out, device);
}
}  // namespace

LinearClassifier::LinearClassifier(int64_t features_, int64_t classes_)
    : features(features_), classes(classes_), layer(std::make_shared<Linear>(features_, classes_)) {
    GANOPS_CHECK(classes >= 2, "LinearClassifier: needs at least 2 classes, got ", classes);
}

void LinearClassifier::fit(const Tensor& x, const Tensor& labels, const LinearClassifierOptions& o) {
    check_data("LinearClassifier::fit", x, labels, features);
    GANOPS_CHECK(o.epochs > 0 && o.batch_size > 0 && o.lr > 0 && o.l2 >= 0, "LinearClassifier::fit: bad options (epochs ",
                 o.epochs, ", batch_size ", o.batch_size, ", lr ", o.lr, ", l2 ", o.l2, ")");
    const int64_t n = x.size(0);
    const std::vector<double> xv = x.to_double_vector(), lv = labels.to_double_vector();

    // Per-feature standardisation from the training set; constant features stay at zero.
    std::vector<double> m(size_t(features), 0.0), inv(size_t(features), 0.0);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < features; ++j) m[size_t(j)] += xv[size_t(i * features + j)] / double(n);
    for (int64_t j = 0; j < features; ++j) {
        double ss = 0;
        for (int64_t i = 0; i < n; ++i) ss += std::pow(xv[size_t(i * features + j)] - m[size_t(j)], 2);
        const double sd = std::sqrt(ss / double(n));
        inv[size_t(j)] = sd > 1e-12 ? 1.0 / sd : 0.0;
    }
    mean = Tensor::from_vector({features}, m, Device::CPU).to(DType::F32).to(x.device());
    inv_std = Tensor::from_vector({features}, inv, Device::CPU).to(DType::F32).to(x.device());
    std::vector<double> standardised(xv.size());
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < features; ++j)
            standardised[size_t(i * features + j)] = (xv[size_t(i * features + j)] - m[size_t(j)]) * inv[size_t(j)];

    layer->to(x.device());
    Adam adam(layer->parameters(), {.lr = o.lr, .weight_decay = o.l2});
    Generator shuffle{o.seed, 0};
    for (int64_t epoch = 0; epoch < o.epochs; ++epoch) {
        // A fresh permutation each epoch; the shuffled data goes up once.
        const std::vector<int64_t> order = random_permutation(n, shuffle);
        const Tensor xs = rows_in_order(standardised, features, order, x.device());
        const Tensor ls = rows_in_order(lv, 1, order, x.device());
        for (int64_t begin = 0; begin < n; begin += o.batch_size) {
            const int64_t end = std::min(n, begin + o.batch_size);
            adam.zero_grad();
            softmax_cross_entropy(layer->forward(xs.slice_rows(begin, end)), ls.slice_rows(begin, end)).backward();
            adam.step();
        }
    }
}

Tensor LinearClassifier::standardise(const Tensor& x) const {
    GANOPS_CHECK(mean.defined(), "LinearClassifier: used before fit()");
    GANOPS_CHECK(x.defined() && x.ndim() == 2 && x.size(1) == features, "LinearClassifier: features must be [N, ", features,
                 "], got ", x.str());
    const int64_t n = x.size(0);
    const std::vector<double> xv = x.to_double_vector(), m = mean.to_double_vector(), inv = inv_std.to_double_vector();
    std::vector<float> out(xv.size());
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < features; ++j)
            out[size_t(i * features + j)] = float((xv[size_t(i * features + j)] - m[size_t(j)]) * inv[size_t(j)]);
    return Tensor::from_vector(x.shape(), out, layer->weight.device());
}

Tensor LinearClassifier::logits(const Tensor& x) const {
    NoGradGuard no_grad;
    return layer->forward(standardise(x));
}

Tensor LinearClassifier::probabilities(const Tensor& x) const {
    NoGradGuard no_grad;
    return softmax(logits(x));
}

double LinearClassifier::accuracy(const Tensor& x, const Tensor& labels) const {
    check_data("LinearClassifier::accuracy", x, labels, features);
    const std::vector<double> z = logits(x).to_double_vector(), lv = labels.to_double_vector();
    int64_t correct = 0;
    for (int64_t i = 0; i < x.size(0); ++i) {
        const auto row = z.begin() + i * classes;
        correct += int64_t(std::max_element(row, row + classes) - row) == int64_t(lv[size_t(i)]);
    }
    return double(correct) / double(x.size(0));
}

}  // namespace ganops::nn
