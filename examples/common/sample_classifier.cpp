#include "sample_classifier.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace examples {

using namespace ganops;

SampleClassifier::SampleClassifier(int64_t w) {
    body = register_module("body", std::make_shared<nn::Sequential>());
    // 32 -> 32 -> 16 -> 8 -> 4, widening as the maps shrink.
    body->emplace<nn::Conv2d>(1, w, 3, Conv2dOptions::square(1, 1), false);
    body->emplace<nn::BatchNorm2d>(w);
    body->emplace<nn::LeakyReLU>(0.1);
    for (int64_t in : {w, 2 * w, 4 * w}) {
        const int64_t out = std::min(2 * in, 4 * w);
        body->emplace<nn::Conv2d>(in, out, 4, Conv2dOptions::square(2, 1), false);
        body->emplace<nn::BatchNorm2d>(out);
        body->emplace<nn::LeakyReLU>(0.1);
    }
    fc1 = register_module("fc1", std::make_shared<nn::Linear>(4 * w * 16, kFeatures));
    dropout = register_module("dropout", std::make_shared<nn::Dropout>(0.3));
    fc2 = register_module("fc2", std::make_shared<nn::Linear>(kFeatures, kClasses));
}

Tensor SampleClassifier::features(const Tensor& x) {
    GANOPS_CHECK(x.ndim() == 4 && x.size(1) == 1 && x.size(2) == kInputSize && x.size(3) == kInputSize,
                 "SampleClassifier: expects [N, 1, 32, 32] images, got ", x.str());
    const Tensor h = body->forward(x);
    return leaky_relu(fc1->forward(h.reshape({h.size(0), h.numel() / h.size(0)})), 0.1);
}

Tensor SampleClassifier::forward(const Tensor& x) { return fc2->forward(dropout->forward(features(x))); }

void train_classifier(SampleClassifier& model, const Tensor& images, const Tensor& labels, const ClassifierTraining& o) {
    const Device device = model.parameters()[0].device();
    const int64_t n = images.size(0);
    GANOPS_CHECK(labels.ndim() == 1 && labels.size(0) == n, "train_classifier: ", n, " images but labels ", labels.str());
    nn::Adam adam(model.parameters(), {.lr = o.lr});
    Generator shuffle{o.seed, 0};
    model.train();
    const int64_t per = images.numel() / n;
    for (int64_t epoch = 0; epoch < o.epochs; ++epoch) {
        // One Philox permutation per epoch; batches are gathered on the host.
        const std::vector<int64_t> order = random_permutation(n, shuffle);
        double loss_sum = 0;
        int64_t batches = 0;
        const float* src = images.data<float>();
        const float* lab = labels.data<float>();
        for (int64_t begin = 0; begin + o.batch_size <= n; begin += o.batch_size, ++batches) {
            Tensor x = Tensor::empty({o.batch_size, images.size(1), images.size(2), images.size(3)});
            std::vector<float> y(static_cast<size_t>(o.batch_size));
            for (int64_t i = 0; i < o.batch_size; ++i) {
                const int64_t k = order[size_t(begin + i)];
                std::copy(src + k * per, src + (k + 1) * per, x.data<float>() + i * per);
                y[size_t(i)] = lab[k];
            }
            adam.zero_grad();
            const Tensor loss = softmax_cross_entropy(model(x.to(device)), Tensor::from_vector({o.batch_size}, y, device));
            loss.backward();
            adam.step();
            loss_sum += loss.item();
        }
        if (o.verbose)
            std::printf("classifier epoch %lld/%lld: mean loss %.4f\n", static_cast<long long>(epoch + 1),
                        static_cast<long long>(o.epochs), loss_sum / double(std::max<int64_t>(batches, 1)));
    }
    model.eval();
}

double classifier_accuracy(SampleClassifier& model, const Tensor& images, const Tensor& labels) {
    NoGradGuard no_grad;
    const bool was_training = model.is_training();
    model.eval();
    const Device device = model.parameters()[0].device();
    const std::vector<float> l = labels.to_vector();
    int64_t correct = 0;
    for (int64_t begin = 0; begin < images.size(0); begin += 500) {
        const int64_t end = std::min(images.size(0), begin + 500);
        const std::vector<float> z = model(images.slice_rows(begin, end).to(device)).to_vector();
        for (int64_t i = 0; i < end - begin; ++i) {
            const auto row = z.begin() + i * SampleClassifier::kClasses;
            correct += int64_t(std::max_element(row, row + SampleClassifier::kClasses) - row) == int64_t(l[size_t(begin + i)]);
        }
    }
    model.train(was_training);
    return double(correct) / double(images.size(0));
}

std::unique_ptr<SampleClassifier> load_classifier(const std::string& path, Device device) {
    const nn::SafetensorsFile file = nn::read_safetensors(path);
    const auto width = file.metadata.find("width");
    auto classifier = std::make_unique<SampleClassifier>(width == file.metadata.end() ? 16 : std::stoll(width->second));
    nn::load_state_dict(*classifier, file, path);
    classifier->to(device);
    return classifier;
}

Tensor to_classifier_input(const Tensor& images) {
    GANOPS_CHECK(images.ndim() == 4 && images.size(2) == images.size(3) && images.size(2) > 0,
                 "to_classifier_input: expects square images [N, C, S, S], got ", images.str());
    const int64_t n = images.size(0), c = images.size(1), s = images.size(2), t = SampleClassifier::kInputSize;
    const std::vector<float> v = images.to_vector();
    Tensor out = Tensor::empty({n, 1, t, t});
    float* o = out.data<float>();
    std::vector<double> grey(static_cast<size_t>(s * s));
    for (int64_t i = 0; i < n; ++i) {
        for (int64_t p = 0; p < s * s; ++p) {
            double sum = 0;
            for (int64_t ch = 0; ch < c; ++ch) sum += v[size_t((i * c + ch) * s * s + p)];
            grey[size_t(p)] = sum / double(c);
        }
        for (int64_t y = 0; y < t; ++y)
            for (int64_t x = 0; x < t; ++x) {
                double value;
                if (s >= t && s % t == 0) {  // area average: every source pixel counts once
                    const int64_t f = s / t;
                    value = 0;
                    for (int64_t dy = 0; dy < f; ++dy)
                        for (int64_t dx = 0; dx < f; ++dx) value += grey[size_t((y * f + dy) * s + x * f + dx)];
                    value /= double(f * f);
                } else {  // bilinear, aligned pixel centres
                    const double sy = std::clamp((y + 0.5) * double(s) / double(t) - 0.5, 0.0, double(s - 1));
                    const double sx = std::clamp((x + 0.5) * double(s) / double(t) - 0.5, 0.0, double(s - 1));
                    const int64_t y0 = int64_t(sy), x0 = int64_t(sx), y1 = std::min(y0 + 1, s - 1), x1 = std::min(x0 + 1, s - 1);
                    const double fy = sy - double(y0), fx = sx - double(x0);
                    value = (1 - fy) * ((1 - fx) * grey[size_t(y0 * s + x0)] + fx * grey[size_t(y0 * s + x1)]) +
                            fy * ((1 - fx) * grey[size_t(y1 * s + x0)] + fx * grey[size_t(y1 * s + x1)]);
                }
                o[(i * t + y) * t + x] = float(value);
            }
    }
    return out;
}

}  // namespace examples
