// IDX files (MNIST, Fashion-MNIST), plain or gzip-compressed: the header against the
// data that follows it. Expected outcome for bad bytes: std::runtime_error.
#include <stdexcept>

#include "fuzz_target.h"
#include "idx_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = fuzz::write_temp_file("images-idx3-ubyte", data, size);
    try {
        const dcgan::IdxImages images = dcgan::read_idx_images(path);
        if (images.pixels.size() != size_t(images.count * images.rows * images.cols)) __builtin_trap();
    } catch (const std::runtime_error&) {
    }
    return 0;
}
