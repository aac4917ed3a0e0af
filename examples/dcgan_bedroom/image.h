// 8-bit images: decoding what datasets store (PNG, JPEG, WebP, told apart by their first
// bytes, never by file name), encoding (PNG for our outputs; JPEG and WebP so that tests can
// build datasets), the resize/crop that turns a picture into a training sample, and sample
// grids.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <ganops/ganops.h>

namespace dcgan {

// Pixels are interleaved row-major: (y * width + x) * channels + c; channels is 1 or 3.
struct Image {
    int64_t width = 0, height = 0, channels = 0;
    std::vector<uint8_t> pixels;
};

// An image that cannot be decoded: the loader skips it and counts it.
struct DecodeError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

enum class ImageFormat { Unknown, Png, Jpeg, Webp };
ImageFormat detect_format(const uint8_t* data, size_t size);

// The most bytes (width x height x channels) one decoded image may take: 256 MiB. Headers
// are untrusted (a 100-byte file may claim 60000 x 60000): each decoder reads the header,
// checks the size with check_decoded_size (zero-sized images are refused too), and only
// then allocates and decodes.
inline constexpr int64_t kMaxDecodedBytes = int64_t(1) << 28;
void check_decoded_size(const std::string& name, const char* format, int64_t width, int64_t height, int64_t channels);

// Grey sources decode to 1 channel, everything else to RGB (alpha dropped). Throws
// DecodeError naming `name` for unknown formats, corrupt or truncated data, and sizes above
// kMaxDecodedBytes.
Image decode_image(const uint8_t* data, size_t size, const std::string& name);

std::vector<uint8_t> encode_png(const Image& image);
std::vector<uint8_t> encode_jpeg(const Image& image, int quality = 90);
std::vector<uint8_t> encode_webp(const Image& image, float quality = 90);  // lossy, RGB only

std::vector<uint8_t> read_file(const std::string& path);  // throws std::runtime_error naming the file
void write_png(const std::string& path, const Image& image);  // atomic (temp file + rename)

// The torchvision pipeline Resize(size) + CenterCrop(size) + Normalize(0.5, 0.5), for
// `nc` output channels: the shorter side becomes `size` (the longer floor(size * long /
// short)), the middle size x size is kept (offset floor((new - size) / 2)), values map to
// [-1, 1]. Resampling is PIL's antialiased bilinear: a triangle filter over the source
// stretched by the downscale factor (plain bilinear when enlarging), weights renormalised
// at the borders. Colour to grey uses PIL's ITU-R 601 weights; grey to colour copies the
// plane. Writes nc * size * size floats, CHW.
void resize_crop_normalise(const Image& image, int64_t size, int64_t nc, float* out);

// Images [N, 1 or 3, H, W] in [-1, 1] as one RGB picture, `per_row` a row with 2-pixel
// black borders, as torchvision's save_image(normalize=True) lays them out.
Image make_grid(const ganops::Tensor& images, int64_t per_row);
void save_image_grid(const ganops::Tensor& images, int64_t per_row, const std::string& path);

}  // namespace dcgan
