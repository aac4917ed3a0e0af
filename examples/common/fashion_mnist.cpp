#include "fashion_mnist.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace examples {

const char* fashion_mnist_root_from_environment() {
    const char* dir = std::getenv("GANOPS_FASHION_MNIST_DIR");
    return dir && *dir ? dir : kDebianFashionMnistRoot;
}

namespace {
// gzread reads plain files too, so one path serves .gz and uncompressed IDX.
struct GzFile {
    explicit GzFile(const std::string& path) : handle(gzopen(path.c_str(), "rb")), path(path) {
        if (!handle) throw std::runtime_error("cannot open " + path);
    }
    ~GzFile() { gzclose(handle); }
    GzFile(const GzFile&) = delete;
    GzFile& operator=(const GzFile&) = delete;
    void read(void* out, size_t bytes, const char* what) {
        const int got = gzread(handle, out, static_cast<unsigned>(bytes));
        if (got < 0 || static_cast<size_t>(got) != bytes)
            throw std::runtime_error(path + ": truncated or corrupt IDX file (reading " + what + ")");
    }
    gzFile handle;
    std::string path;
};
}  // namespace

std::vector<uint8_t> read_idx(const std::string& path, int dimensions, std::vector<int64_t>& shape) {
    GzFile file(path);
    uint8_t magic[4];
    file.read(magic, 4, "the magic number");
    // Two zero bytes, type 0x08 (unsigned byte), the number of dimensions.
    if (magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 || magic[3] != dimensions)
        throw std::runtime_error(path + ": not an IDX file of 8-bit values with " + std::to_string(dimensions) +
                                 " dimensions (bad magic number)");
    shape.assign(size_t(dimensions), 0);
    int64_t total = 1;
    std::string extents;
    for (int d = 0; d < dimensions; ++d) {
        uint8_t b[4];
        file.read(b, 4, "the dimensions");
        shape[size_t(d)] = int64_t(b[0]) << 24 | int64_t(b[1]) << 16 | int64_t(b[2]) << 8 | int64_t(b[3]);
        extents += (d ? " x " : "") + std::to_string(shape[size_t(d)]);
        // Each extent is below 2^32 and the running product is at most kMaxIdxValues (2^31),
        // so this product stays below 2^63: checked before it is formed, never wrapped.
        if (shape[size_t(d)] == 0 || shape[size_t(d)] > kMaxIdxValues / total)
            throw std::runtime_error(path + ": implausible IDX dimensions " + extents + " (empty, or more than " +
                                     std::to_string(kMaxIdxValues) + " values)");
        total *= shape[size_t(d)];
    }
    // The header is not trusted with the allocation: a plain file must be long enough now,
    // and a compressed stream is read in chunks, so memory grows only with data that exists.
    const int64_t header_bytes = 4 + 4 * int64_t(dimensions);
    if (gzdirect(file.handle)) {
        std::error_code ec;
        const uintmax_t file_size = std::filesystem::file_size(path, ec);
        if (!ec && file_size < uintmax_t(header_bytes + total))
            throw std::runtime_error(path + ": truncated IDX file (" + std::to_string(file_size) + " bytes, the header " +
                                     extents + " needs " + std::to_string(header_bytes + total) + ")");
    }
    std::vector<uint8_t> data;
    constexpr int64_t kChunk = int64_t(1) << 22;
    while (int64_t(data.size()) < total) {
        const size_t before = data.size();
        const size_t want = size_t(std::min<int64_t>(kChunk, total - int64_t(before)));
        data.resize(before + want);
        const int got = gzread(file.handle, data.data() + before, static_cast<unsigned>(want));
        if (got < 0 || size_t(got) != want)
            throw std::runtime_error(path + ": truncated or corrupt IDX file (the header " + extents + " needs " +
                                     std::to_string(total) + " values, the data ends after " +
                                     std::to_string(before + size_t(std::max(got, 0))) + ")");
    }
    return data;
}

namespace {
std::string find_file(const std::string& root, const std::string& name) {
    for (const std::string& candidate : {root + "/" + name + ".gz", root + "/" + name})
        if (std::filesystem::exists(candidate)) return candidate;
    throw std::runtime_error("no " + name + "[.gz] in " + root + " (Debian's dataset-fashion-mnist package installs it in " +
                             kDebianFashionMnistRoot + "; GANOPS_FASHION_MNIST_DIR or --dataroot names another folder)");
}

// Bilinear with aligned pixel centres; the identity when the sizes match.
void resize_plane(const uint8_t* in, int64_t rows, int64_t cols, int64_t size, float* out) {
    for (int64_t y = 0; y < size; ++y) {
        const double sy = std::clamp((y + 0.5) * double(rows) / double(size) - 0.5, 0.0, double(rows - 1));
        const int64_t y0 = int64_t(sy), y1 = std::min(y0 + 1, rows - 1);
        const double fy = sy - double(y0);
        for (int64_t x = 0; x < size; ++x) {
            const double sx = std::clamp((x + 0.5) * double(cols) / double(size) - 0.5, 0.0, double(cols - 1));
            const int64_t x0 = int64_t(sx), x1 = std::min(x0 + 1, cols - 1);
            const double fx = sx - double(x0);
            const double v = (1 - fy) * ((1 - fx) * in[y0 * cols + x0] + fx * in[y0 * cols + x1]) +
                             fy * ((1 - fx) * in[y1 * cols + x0] + fx * in[y1 * cols + x1]);
            out[y * size + x] = float(v / 127.5 - 1.0);
        }
    }
}
}  // namespace

LabelledImages load_fashion_mnist(const std::string& root, const std::string& split, int64_t size, int64_t limit) {
    if (split != "train" && split != "t10k") throw std::runtime_error("load_fashion_mnist: split must be train or t10k, got " + split);
    std::vector<int64_t> image_shape, label_shape;
    const std::vector<uint8_t> pixels = read_idx(find_file(root, split + "-images-idx3-ubyte"), 3, image_shape);
    const std::vector<uint8_t> labels = read_idx(find_file(root, split + "-labels-idx1-ubyte"), 1, label_shape);
    if (label_shape[0] != image_shape[0])
        throw std::runtime_error(root + ": " + std::to_string(image_shape[0]) + " images but " +
                                 std::to_string(label_shape[0]) + " labels in the " + split + " split");
    const int64_t n = limit > 0 ? std::min(limit, image_shape[0]) : image_shape[0];
    const int64_t rows = image_shape[1], cols = image_shape[2];
    LabelledImages out;
    out.images = ganops::Tensor::empty({n, 1, size, size});
    std::vector<float> l(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        resize_plane(pixels.data() + i * rows * cols, rows, cols, size, out.images.data<float>() + i * size * size);
        if (labels[size_t(i)] >= 10) throw std::runtime_error(root + ": label " + std::to_string(labels[size_t(i)]) + " out of range");
        l[size_t(i)] = float(labels[size_t(i)]);
    }
    out.labels = ganops::Tensor::from_vector({n}, l);
    return out;
}

}  // namespace examples
