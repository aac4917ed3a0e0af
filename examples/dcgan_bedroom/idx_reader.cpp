#include "idx_reader.h"

#include <stdexcept>

#include "common/fashion_mnist.h"

namespace dcgan {

IdxImages read_idx_images(const std::string& path) {
    std::vector<int64_t> shape;
    IdxImages images;
    images.pixels = examples::read_idx(path, 3, shape);
    images.count = shape[0];
    images.rows = shape[1];
    images.cols = shape[2];
    if (images.rows > 4096 || images.cols > 4096)
        throw std::runtime_error(path + ": implausible IDX image size " + std::to_string(images.rows) + " x " +
                                 std::to_string(images.cols));
    return images;
}

}  // namespace dcgan
