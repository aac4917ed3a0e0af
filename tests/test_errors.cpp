// Bad input gets an exception whose message names the op and the shapes.
#include "test_util.h"

using namespace ganops;
using test::randn;

TEST_CASE("conv2d: mismatched shapes and bad options") {
    const Tensor x = randn({2, 3, 8, 8}), w = randn({4, 3, 3, 3});
    CHECK_THROWS_CONTAINING(conv2d(x, randn({4, 5, 3, 3})),
                            "conv2d: input [2, 3, 8, 8] has 3 channels but weight [4, 5, 3, 3] expects 5");
    CHECK_THROWS_CONTAINING(conv2d(randn({3, 8, 8}), w), "conv2d: input must be 4-d [batch, channels, height, width], got [3, 8, 8]");
    CHECK_THROWS_CONTAINING(conv2d(x, w, randn({5})), "conv2d: bias [5] float64 cpu does not match weight [4, 3, 3, 3]");
    CHECK_THROWS_CONTAINING(conv2d(x, w, Tensor(), Conv2dOptions::square(0, 1)),
                            "conv2d: stride must be >= 1, got (0, 0) for input [2, 3, 8, 8] and weight [4, 3, 3, 3]");
    CHECK_THROWS_CONTAINING(conv2d(x, w, Tensor(), Conv2dOptions::square(1, -1)),
                            "conv2d: padding must be >= 0, got (-1, -1)");
    CHECK_THROWS_CONTAINING(conv2d(x, w, Tensor(), Conv2dOptions::square(1, 0, 0)), "conv2d: dilation must be >= 1");
    CHECK_THROWS_CONTAINING(conv2d(randn({1, 3, 2, 2}), w), "is larger than the padded input [1, 3, 2, 2]");
}

TEST_CASE("conv_transpose2d: mismatched shapes and bad options") {
    const Tensor x = randn({2, 4, 5, 5});
    CHECK_THROWS_CONTAINING(conv_transpose2d(x, randn({3, 2, 4, 4})),
                            "conv_transpose2d: input [2, 4, 5, 5] has 4 channels but weight [3, 2, 4, 4] expects 3");
    CHECK_THROWS_CONTAINING(conv_transpose2d(x, randn({4, 2, 4, 4}), Tensor(), ConvTranspose2dOptions::square(2, 1, 2)),
                            "output_padding (2, 2) must be >= 0 and smaller than stride or dilation");
    CHECK_THROWS_CONTAINING(conv_transpose2d(x, randn({4, 2, 4, 4}), Tensor(), ConvTranspose2dOptions::square(-1, 1)),
                            "conv_transpose2d: stride must be >= 1");
    CHECK_THROWS_CONTAINING(conv_transpose2d(randn({1, 4, 1, 1}), randn({4, 2, 2, 2}), Tensor(),
                                             ConvTranspose2dOptions::square(1, 2)),
                            "gives an empty output");
    CHECK_THROWS_CONTAINING(nn::ConvTranspose2d(4, 2, 4, ConvTranspose2dOptions::square(0, 1)),
                            "ConvTranspose2d: stride must be >= 1");
}

TEST_CASE("dtype mixes are refused, naming both tensors") {
    const Tensor x = randn({2, 3, 8, 8}, DType::F32), w = randn({4, 3, 3, 3}, DType::F64);
    CHECK_THROWS_CONTAINING(conv2d(x, w), "conv2d: input [2, 3, 8, 8] float32 cpu and weight [4, 3, 3, 3] float64 cpu have different dtypes");
    CHECK_THROWS_CONTAINING(add(randn({2}, DType::F32), randn({2})), "add: a [2] float32 cpu and b [2] float64 cpu");
}

TEST_CASE("batchnorm2d, activations, losses, linear: shape errors") {
    const Tensor x = randn({4, 3, 2, 2});
    CHECK_THROWS_CONTAINING(batchnorm2d(x, randn({2}), randn({2}), Tensor(), Tensor(), true),
                            "batchnorm2d: weight [2] float64 cpu does not match the 3 channels of input [4, 3, 2, 2]");
    CHECK_THROWS_CONTAINING(batchnorm2d(randn({1, 3, 1, 1}), Tensor(), Tensor(), Tensor(), Tensor(), true),
                            "batchnorm2d: training needs more than one value per channel, input [1, 3, 1, 1]");
    CHECK_THROWS_CONTAINING(batchnorm2d(x, Tensor(), Tensor(), Tensor(), Tensor(), false),
                            "batchnorm2d (eval): evaluation needs running_mean and running_var");
    CHECK_THROWS_CONTAINING(batchnorm2d(randn({4, 3, 2}), Tensor(), Tensor(), Tensor(), Tensor(), true),
                            "batchnorm2d: input must be [N, C, H, W] or [N, C], got [4, 3, 2]");
    CHECK_THROWS_CONTAINING(nn::BatchNorm2d(3, 1e-5, 1.5), "BatchNorm2d: momentum must be in [0, 1], got 1.5");
    CHECK_THROWS_CONTAINING(binary_cross_entropy(test::rand({4}, 0.1, 0.9), randn({5})),
                            "binary_cross_entropy: input [4] float64 cpu and target [5] float64 cpu must have the same shape");
    CHECK_THROWS_CONTAINING(binary_cross_entropy(Tensor::from_vector({2}, std::vector<double>{0.5, 1.5}),
                                                 Tensor::zeros({2}, DType::F64)),
                            "binary_cross_entropy: input [2] float64 cpu holds 1.5 at element 1; probabilities must lie in [0, 1]");
    CHECK_THROWS_CONTAINING(binary_cross_entropy_with_logits(randn({3}), randn({3}).set_requires_grad(true)),
                            "target [3] float64 cpu requires grad");
    CHECK_THROWS_CONTAINING(linear(randn({2, 5}), randn({3, 4})),
                            "linear: input [2, 5] float64 cpu has 5 features but weight [3, 4] float64 cpu expects 4");
    CHECK_THROWS_CONTAINING(mul(randn({2, 3}), randn({3, 2})), "mul: a [2, 3] float64 cpu and b [3, 2] float64 cpu must have the same shape");
    Generator g{1, 0};
    CHECK_THROWS_CONTAINING(dropout(x, 1.5, true, g), "dropout: probability must be in [0, 1], got 1.5");
}

TEST_CASE("module constructors refuse nonsense") {
    CHECK_THROWS_CONTAINING(nn::Conv2d(0, 4, 3), "Conv2d: channels (0, 4) and kernel_size 3 must be positive");
    CHECK_THROWS_CONTAINING(nn::Conv2d(3, 4, 3, Conv2dOptions::square(1, -2)), "Conv2d: padding must be >= 0");
    CHECK_THROWS_CONTAINING(nn::Linear(3, 0), "Linear: features (3, 0) must be positive");
    CHECK_THROWS_CONTAINING(nn::Dropout(-0.1), "Dropout: probability must be in [0, 1]");
    nn::DcganDiscriminator d(nn::DcganConfig{.ndf = 4, .nc = 1, .image_size = 16});
    CHECK_THROWS_CONTAINING(d(randn({2, 3, 16, 16}, DType::F32)), "DcganDiscriminator: images must be [N, 1, 16, 16], got [2, 3, 16, 16]");
}

TEST_CASE("DCGAN widths and image sizes that overflow are named, not wrapped") {
    // ngf = 2^61 once became a negative channel count at 4x4 (ngf << 2) in an unrelated message.
    CHECK_THROWS_CONTAINING(nn::DcganGenerator(nn::DcganConfig{.ngf = int64_t(1) << 61, .image_size = 32}),
                            "DcganGenerator: the widest layer for image_size 32 (ngf or ndf times 4): 2305843009213693952 x 4");
    CHECK_THROWS_CONTAINING(nn::DcganDiscriminator(nn::DcganConfig{.ndf = int64_t(1) << 61, .image_size = 64}),
                            "DcganDiscriminator: the widest layer for image_size 64");
    // An image size near 2^62 once reached the initialiser as "low nan > high -nan".
    CHECK_THROWS_CONTAINING(nn::DcganGenerator(nn::DcganConfig{.ngf = 8, .image_size = int64_t(1) << 62}),
                            "the widest layer for image_size 4611686018427387904");
    // Within 2^60 channels, the weight's shape is what overflows, and it is named.
    CHECK_THROWS_CONTAINING(nn::DcganGenerator(nn::DcganConfig{.ngf = int64_t(1) << 57, .image_size = 32}),
                            "has more than 2^60 elements");
}

namespace {
// A tensor whose storage claims to be on the GPU (its bytes are host memory), so that the
// device checks can be exercised on machines without one. The claim is withdrawn before
// the storage is freed.
struct PretendCudaTensor {
    explicit PretendCudaTensor(const Shape& shape) {
        auto impl = std::make_shared<TensorImpl>();
        impl->storage = std::make_shared<Storage>(static_cast<size_t>(shape.numel()) * 4, Device::CPU);
        impl->shape = shape;
        storage = impl->storage;
        storage->device = Device::CUDA;
        tensor = Tensor(impl);
    }
    ~PretendCudaTensor() { storage->device = Device::CPU; }
    std::shared_ptr<Storage> storage;
    Tensor tensor;
};
}  // namespace

TEST_CASE("device mixes are refused before any work, naming both tensors") {
    const PretendCudaTensor w({4, 3, 3, 3});
    const Tensor x = randn({2, 3, 8, 8}, DType::F32);
    CHECK(w.tensor.str() == "[4, 3, 3, 3] float32 cuda");
    CHECK_THROWS_CONTAINING(conv2d(x, w.tensor),
                            "conv2d: input [2, 3, 8, 8] float32 cpu and weight [4, 3, 3, 3] float32 cuda are on different devices");
    CHECK_THROWS_CONTAINING(conv_transpose2d(randn({2, 4, 3, 3}, DType::F32), PretendCudaTensor({4, 3, 4, 4}).tensor),
                            "conv_transpose2d: input [2, 4, 3, 3] float32 cpu and weight [4, 3, 4, 4] float32 cuda are on different devices");
    const PretendCudaTensor gamma({3});
    CHECK_THROWS_CONTAINING(batchnorm2d(randn({2, 3, 4, 4}, DType::F32), gamma.tensor, randn({3}, DType::F32), Tensor(), Tensor(), true),
                            "batchnorm2d: input [2, 3, 4, 4] float32 cpu and weight [3] float32 cuda are on different devices");
    const PretendCudaTensor target({5});
    CHECK_THROWS_CONTAINING(binary_cross_entropy(test::rand({5}, 0.1, 0.9, DType::F32), target.tensor),
                            "binary_cross_entropy: input [5] float32 cpu and target [5] float32 cuda are on different devices");
    CHECK_THROWS_CONTAINING(linear(randn({2, 5}, DType::F32), PretendCudaTensor({3, 5}).tensor),
                            "linear: input [2, 5] float32 cpu and weight [3, 5] float32 cuda are on different devices");
}
