#include "idx_reader.h"

#include <zlib.h>

#include <memory>
#include <stdexcept>

namespace dcgan {

namespace {
// gzread reads plain files too, so one path serves .gz and uncompressed IDX.
struct GzFile {
    explicit GzFile(const std::string& path) : handle(gzopen(path.c_str(), "rb")), path(path) {
        if (!handle) throw std::runtime_error("cannot open " + path);
    }
    ~GzFile() { gzclose(handle); }
    void read(void* out, size_t bytes, const char* what) {
        const int got = gzread(handle, out, static_cast<unsigned>(bytes));
        if (got < 0 || static_cast<size_t>(got) != bytes)
            throw std::runtime_error(path + ": truncated or corrupt IDX file (reading " + what + ")");
    }
    gzFile handle;
    std::string path;
};

uint32_t big_endian(const uint8_t* b) {
    return uint32_t(b[0]) << 24 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 8 | uint32_t(b[3]);
}
}  // namespace

IdxImages read_idx_images(const std::string& path) {
    GzFile file(path);
    uint8_t header[16];
    file.read(header, sizeof header, "the header");
    // Magic: two zero bytes, type 0x08 (unsigned byte), 3 dimensions.
    if (header[0] != 0 || header[1] != 0 || header[2] != 0x08 || header[3] != 3)
        throw std::runtime_error(path + ": not an IDX file of 8-bit images (bad magic number)");
    IdxImages images;
    images.count = big_endian(header + 4);
    images.rows = big_endian(header + 8);
    images.cols = big_endian(header + 12);
    if (images.count == 0 || images.rows == 0 || images.cols == 0 || images.rows > 4096 || images.cols > 4096)
        throw std::runtime_error(path + ": implausible IDX dimensions " + std::to_string(images.count) + " x " +
                                 std::to_string(images.rows) + " x " + std::to_string(images.cols));
    images.pixels.resize(static_cast<size_t>(images.count * images.rows * images.cols));
    file.read(images.pixels.data(), images.pixels.size(), "the pixels");
    return images;
}

}  // namespace dcgan
