// A small convolutional Fashion-MNIST classifier trained with libganops. Its penultimate
// layer gives the features for our Frechet distance (Inception's cannot be downloaded
// here) and its softmax the class probabilities for the class-coverage score.
// Input: [N, 1, 32, 32] in [-1, 1] (to_classifier_input converts other sizes and colour).
#pragma once
#include <memory>
#include <string>

#include <ganops/ganops.h>

namespace examples {

class SampleClassifier : public ganops::nn::Module {
public:
    static constexpr int64_t kInputSize = 32, kFeatures = 128, kClasses = 10;
    explicit SampleClassifier(int64_t width = 16);
    ganops::Tensor features(const ganops::Tensor& x);  // [N, 128]
    ganops::Tensor forward(const ganops::Tensor& x) override;  // logits [N, 10]

    std::shared_ptr<ganops::nn::Sequential> body;
    std::shared_ptr<ganops::nn::Linear> fc1, fc2;
    std::shared_ptr<ganops::nn::Dropout> dropout;
};

struct ClassifierTraining {
    int64_t epochs = 3, batch_size = 128;
    double lr = 1e-3;
    uint64_t seed = 1;
    bool verbose = true;
};

// Trains on images [N, 1, 32, 32] with labels [N]; the model may live on any device.
void train_classifier(SampleClassifier& model, const ganops::Tensor& images, const ganops::Tensor& labels,
                      const ClassifierTraining& options);
// A classifier saved by fashion_classifier (its width travels in the file's metadata), on `device`.
std::unique_ptr<SampleClassifier> load_classifier(const std::string& path, ganops::Device device);

// Fraction of correct argmax predictions, in batches, in evaluation mode.
double classifier_accuracy(SampleClassifier& model, const ganops::Tensor& images, const ganops::Tensor& labels);

// Images [N, C, S, S] in [-1, 1] from any generator -> [N, 1, 32, 32] on the CPU: channels
// averaged to grey, then area-averaged (S > 32, a multiple) or bilinearly resized.
ganops::Tensor to_classifier_input(const ganops::Tensor& images);

}  // namespace examples
