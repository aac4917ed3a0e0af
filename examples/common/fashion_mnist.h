// Fashion-MNIST (or MNIST) as tensors: images and their class labels from the IDX files
// that Debian's dataset-fashion-mnist installs under /usr/share/datasets/fashion-mnist
// (or wherever GANOPS_FASHION_MNIST_DIR says). Used by the evaluation classifier and the
// class-conditional examples.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <ganops/ganops.h>

namespace examples {

inline const char* const kDebianFashionMnistRoot = "/usr/share/datasets/fashion-mnist";
// $GANOPS_FASHION_MNIST_DIR when set and not empty (e.g. the files carried to a machine
// without the package: tools/gpu_bundle/prepare.sh), else Debian's folder.
const char* fashion_mnist_root_from_environment();
// The folder the programs read Fashion-MNIST from unless told otherwise (--dataroot).
inline const char* const kFashionMnistRoot = fashion_mnist_root_from_environment();
inline const char* kFashionMnistClasses[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                               "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

struct LabelledImages {
    ganops::Tensor images;  // [N, 1, size, size] in [-1, 1], on the CPU
    ganops::Tensor labels;  // [N], class indices as numbers
    int64_t classes = 10;
};

// split: "train" (60000) or "t10k" (10000). Each file may be gzip-compressed or plain.
// Images are resized (bilinear, pixel centres aligned) from 28x28 to size x size.
// Throws std::runtime_error naming the file for missing or malformed files.
LabelledImages load_fashion_mnist(const std::string& root, const std::string& split, int64_t size,
                                  int64_t limit = 0);

// The raw contents of IDX files: 8-bit images [count, rows, cols] and 8-bit labels [count].
// The header is checked before anything is allocated: no zero extent, at most kMaxIdxValues
// values, and a plain file at least as long as the header says (a gzip stream is read in
// chunks, so a small file claiming gigabytes fails at its end, not at an allocation).
// Throws std::runtime_error naming the file.
inline constexpr int64_t kMaxIdxValues = int64_t(1) << 31;
std::vector<uint8_t> read_idx(const std::string& path, int dimensions, std::vector<int64_t>& shape);

}  // namespace examples
