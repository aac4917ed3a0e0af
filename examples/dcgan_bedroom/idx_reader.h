// Reader for the IDX files of MNIST and Fashion-MNIST (optionally gzip-compressed), the
// offline default dataset: Debian's dataset-fashion-mnist installs them under
// /usr/share/datasets/fashion-mnist.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace dcgan {

struct IdxImages {
    int64_t count = 0, rows = 0, cols = 0;
    std::vector<uint8_t> pixels;  // count * rows * cols, row-major, 0 = background
};

// Throws std::runtime_error naming the file for a missing, truncated or malformed file.
IdxImages read_idx_images(const std::string& path);

}  // namespace dcgan
