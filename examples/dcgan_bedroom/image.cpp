#include "image.h"

#include <png.h>
#include <turbojpeg.h>
#include <webp/decode.h>
#include <webp/encode.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>

#include <ganops/nn/checkpoint.h>

namespace dcgan {

ImageFormat detect_format(const uint8_t* d, size_t n) {
    if (n >= 8 && std::memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0) return ImageFormat::Png;
    if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return ImageFormat::Jpeg;
    if (n >= 12 && std::memcmp(d, "RIFF", 4) == 0 && std::memcmp(d + 8, "WEBP", 4) == 0) return ImageFormat::Webp;
    return ImageFormat::Unknown;
}

void check_decoded_size(const std::string& name, const char* format, int64_t width, int64_t height, int64_t channels) {
    if (width <= 0 || height <= 0)
        throw DecodeError(name + ": " + format + " of zero size (" + std::to_string(width) + " x " + std::to_string(height) + ")");
    // width and height come from 32-bit header fields, so the product cannot overflow.
    if (width > kMaxDecodedBytes || height > kMaxDecodedBytes || width * height > kMaxDecodedBytes / channels)
        throw DecodeError(name + ": " + format + " of " + std::to_string(width) + " x " + std::to_string(height) + " x " +
                          std::to_string(channels) + " would decode to more than " +
                          std::to_string(kMaxDecodedBytes >> 20) + " MiB");
}

namespace {

Image decode_png(const uint8_t* data, size_t size, const std::string& name) {
    png_image png;
    std::memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&png, data, size))
        throw DecodeError(name + ": corrupt PNG (" + png.message + ")");
    const bool colour = (png.format & PNG_FORMAT_FLAG_COLOR) != 0;
    try {
        check_decoded_size(name, "PNG", png.width, png.height, colour ? 3 : 1);
    } catch (...) {
        png_image_free(&png);
        throw;
    }
    png.format = colour ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    Image image{png.width, png.height, colour ? 3 : 1, {}};
    image.pixels.resize(PNG_IMAGE_SIZE(png));
    // Alpha is composited onto black, as PIL's convert("RGB") of a premultiplied image would show it.
    const png_color black{0, 0, 0};
    if (!png_image_finish_read(&png, &black, image.pixels.data(), 0, nullptr)) {
        const std::string message = png.message;
        png_image_free(&png);
        throw DecodeError(name + ": corrupt or truncated PNG (" + message + ")");
    }
    return image;
}

struct TjHandle {
    explicit TjHandle(bool compress) : h(compress ? tjInitCompress() : tjInitDecompress()) {
        if (!h) throw std::runtime_error("turbojpeg: cannot create a handle");
    }
    ~TjHandle() { tjDestroy(h); }
    tjhandle h;
};

Image decode_jpeg(const uint8_t* data, size_t size, const std::string& name) {
    thread_local TjHandle tj(false);  // one per loader thread: handles are not thread-safe
    int w = 0, h = 0, subsampling = 0, colourspace = 0;
    if (tjDecompressHeader3(tj.h, data, static_cast<unsigned long>(size), &w, &h, &subsampling, &colourspace) != 0)
        throw DecodeError(name + ": corrupt JPEG (" + tjGetErrorStr2(tj.h) + ")");
    const bool grey = colourspace == TJCS_GRAY;
    check_decoded_size(name, "JPEG", w, h, grey ? 1 : 3);
    Image image{w, h, grey ? 1 : 3, std::vector<uint8_t>(size_t(w) * size_t(h) * (grey ? 1 : 3))};
    // A truncated JPEG decodes with a warning and grey filler: count it as unreadable too.
    if (tjDecompress2(tj.h, data, static_cast<unsigned long>(size), image.pixels.data(), w, 0, h,
                      grey ? TJPF_GRAY : TJPF_RGB, TJFLAG_STOPONWARNING) != 0)
        throw DecodeError(name + ": corrupt or truncated JPEG (" + tjGetErrorStr2(tj.h) + ")");
    return image;
}

Image decode_webp(const uint8_t* data, size_t size, const std::string& name) {
    int w = 0, h = 0;
    if (!WebPGetInfo(data, size, &w, &h)) throw DecodeError(name + ": corrupt WebP header");
    check_decoded_size(name, "WebP", w, h, 3);
    Image image{w, h, 3, std::vector<uint8_t>(size_t(w) * size_t(h) * 3)};
    if (!WebPDecodeRGBInto(data, size, image.pixels.data(), image.pixels.size(), w * 3))
        throw DecodeError(name + ": corrupt or truncated WebP");
    return image;
}

void check_image(const Image& image, const char* op) {
    GANOPS_CHECK((image.channels == 1 || image.channels == 3) && image.width > 0 && image.height > 0 &&
                     image.pixels.size() == size_t(image.width * image.height * image.channels),
                 op, ": bad image ", image.width, "x", image.height, "x", image.channels);
}

// Source taps and weights of a triangle filter for each output sample `o` of an axis
// resized from `in` to `out` samples, for outputs first .. first + count - 1.
struct Taps {
    std::vector<int64_t> begin;   // first source index per output
    std::vector<int64_t> count;   // number of taps per output
    std::vector<double> weights;  // count[o] weights per output, starting at o * stride
    int64_t stride = 0;
};

Taps triangle_taps(int64_t in, int64_t out, int64_t first, int64_t count) {
    const double scale = double(in) / double(out);
    const double support = std::max(1.0, scale);  // stretched when shrinking: that is the antialiasing
    Taps t;
    t.stride = int64_t(std::ceil(support)) * 2 + 2;
    t.begin.resize(size_t(count));
    t.count.resize(size_t(count));
    t.weights.assign(size_t(count * t.stride), 0.0);
    for (int64_t o = 0; o < count; ++o) {
        const double centre = (double(first + o) + 0.5) * scale;
        const int64_t lo = std::max<int64_t>(0, int64_t(std::floor(centre - support)));
        const int64_t hi = std::min<int64_t>(in, int64_t(std::ceil(centre + support)));
        double total = 0;
        int64_t n = 0;
        for (int64_t i = lo; i < hi && n < t.stride; ++i, ++n) {
            const double w = std::max(0.0, 1.0 - std::abs(double(i) + 0.5 - centre) / support);
            t.weights[size_t(o * t.stride + n)] = w;
            total += w;
        }
        for (int64_t k = 0; k < n; ++k) t.weights[size_t(o * t.stride + k)] /= total;
        t.begin[size_t(o)] = lo;
        t.count[size_t(o)] = n;
    }
    return t;
}

}  // namespace

Image decode_image(const uint8_t* data, size_t size, const std::string& name) {
    switch (detect_format(data, size)) {
        case ImageFormat::Png: return decode_png(data, size, name);
        case ImageFormat::Jpeg: return decode_jpeg(data, size, name);
        case ImageFormat::Webp: return decode_webp(data, size, name);
        case ImageFormat::Unknown: break;
    }
    throw DecodeError(name + ": not a PNG, JPEG or WebP image (" + std::to_string(size) + " bytes)");
}

std::vector<uint8_t> encode_png(const Image& image) {
    check_image(image, "encode_png");
    png_image png;
    std::memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    png.width = png_uint_32(image.width);
    png.height = png_uint_32(image.height);
    png.format = image.channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    png_alloc_size_t bytes = 0;
    if (!png_image_write_to_memory(&png, nullptr, &bytes, 0, image.pixels.data(), 0, nullptr))
        throw std::runtime_error(std::string("libpng: ") + png.message);
    std::vector<uint8_t> out(bytes);
    if (!png_image_write_to_memory(&png, out.data(), &bytes, 0, image.pixels.data(), 0, nullptr))
        throw std::runtime_error(std::string("libpng: ") + png.message);
    out.resize(bytes);
    return out;
}

std::vector<uint8_t> encode_jpeg(const Image& image, int quality) {
    check_image(image, "encode_jpeg");
    TjHandle tj(true);
    unsigned char* buffer = nullptr;
    unsigned long size = 0;
    const bool grey = image.channels == 1;
    if (tjCompress2(tj.h, image.pixels.data(), int(image.width), 0, int(image.height), grey ? TJPF_GRAY : TJPF_RGB,
                    &buffer, &size, grey ? TJSAMP_GRAY : TJSAMP_420, quality, 0) != 0)
        throw std::runtime_error(std::string("turbojpeg: ") + tjGetErrorStr2(tj.h));
    std::vector<uint8_t> out(buffer, buffer + size);
    tjFree(buffer);
    return out;
}

std::vector<uint8_t> encode_webp(const Image& image, float quality) {
    check_image(image, "encode_webp");
    GANOPS_CHECK(image.channels == 3, "encode_webp: WebP stores colour images, got ", image.channels, " channel(s)");
    uint8_t* buffer = nullptr;
    const size_t size = WebPEncodeRGB(image.pixels.data(), int(image.width), int(image.height), int(image.width * 3),
                                      quality, &buffer);
    if (size == 0) throw std::runtime_error("libwebp: encoding failed");
    std::vector<uint8_t> out(buffer, buffer + size);
    WebPFree(buffer);
    return out;
}

std::vector<uint8_t> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_png(const std::string& path, const Image& image) {
    const std::vector<uint8_t> bytes = encode_png(image);
    ganops::nn::write_file_atomic(path, bytes.data(), bytes.size());
}

void resize_crop_normalise(const Image& image, int64_t size, int64_t nc, float* out) {
    check_image(image, "resize_crop_normalise");
    GANOPS_CHECK(size > 0 && (nc == 1 || nc == 3), "resize_crop_normalise: bad size ", size, " or channels ", nc);
    const int64_t rows = image.height, cols = image.width;
    const int64_t shorter = std::min(rows, cols);
    const int64_t new_rows = rows == shorter ? size : std::max(size, size * rows / shorter);
    const int64_t new_cols = cols == shorter ? size : std::max(size, size * cols / shorter);
    const int64_t top = (new_rows - size) / 2, left = (new_cols - size) / 2;
    const Taps ty = triangle_taps(rows, new_rows, top, size), tx = triangle_taps(cols, new_cols, left, size);

    // Work on the channels wanted: colour to grey first (cheaper than resizing three planes).
    const int64_t planes = std::min<int64_t>(nc, image.channels);
    std::vector<double> source(size_t(planes * rows * cols));
    for (int64_t i = 0; i < rows * cols; ++i) {
        const uint8_t* p = image.pixels.data() + i * image.channels;
        if (planes == 3) {
            for (int64_t c = 0; c < 3; ++c) source[size_t(c * rows * cols + i)] = p[c];
        } else if (image.channels == 3) {  // PIL's L = R * 299/1000 + G * 587/1000 + B * 114/1000
            source[size_t(i)] = double((p[0] * 19595 + p[1] * 38470 + p[2] * 7471 + 0x8000) >> 16);
        } else {
            source[size_t(i)] = p[0];
        }
    }
    std::vector<double> across(size_t(rows * size));  // horizontal pass, one plane at a time
    for (int64_t c = 0; c < planes; ++c) {
        const double* src = source.data() + c * rows * cols;
        for (int64_t y = 0; y < rows; ++y)
            for (int64_t x = 0; x < size; ++x) {
                const double* w = tx.weights.data() + x * tx.stride;
                const double* s = src + y * cols + tx.begin[size_t(x)];
                double v = 0;
                for (int64_t k = 0; k < tx.count[size_t(x)]; ++k) v += w[k] * s[k];
                across[size_t(y * size + x)] = v;
            }
        float* dst = out + c * size * size;
        for (int64_t y = 0; y < size; ++y) {
            const double* w = ty.weights.data() + y * ty.stride;
            const int64_t y0 = ty.begin[size_t(y)];
            for (int64_t x = 0; x < size; ++x) {
                double v = 0;
                for (int64_t k = 0; k < ty.count[size_t(y)]; ++k) v += w[k] * across[size_t((y0 + k) * size + x)];
                dst[y * size + x] = float(v / 127.5 - 1.0);
            }
        }
    }
    for (int64_t c = planes; c < nc; ++c) std::copy(out, out + size * size, out + c * size * size);
}

Image make_grid(const ganops::Tensor& images, int64_t per_row) {
    GANOPS_CHECK(images.ndim() == 4 && (images.size(1) == 1 || images.size(1) == 3) && per_row > 0,
                 "make_grid: expects [N, 1 or 3, H, W], got ", images.str());
    const std::vector<float> v = images.to_vector();
    const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
    const int64_t pad = 2, grid_cols = std::min(per_row, n), grid_rows = (n + per_row - 1) / per_row;
    Image grid{grid_cols * (w + pad) + pad, grid_rows * (h + pad) + pad, 3, {}};
    grid.pixels.assign(size_t(grid.width * grid.height * 3), 0);
    for (int64_t i = 0; i < n; ++i) {
        const int64_t oy = (i / per_row) * (h + pad) + pad, ox = (i % per_row) * (w + pad) + pad;
        for (int64_t y = 0; y < h; ++y)
            for (int64_t x = 0; x < w; ++x)
                for (int64_t ch = 0; ch < 3; ++ch) {
                    const float s = v[size_t(((i * c + (c == 3 ? ch : 0)) * h + y) * w + x)];
                    const float unit = std::isfinite(s) ? std::clamp((s + 1.0f) * 0.5f, 0.0f, 1.0f) : 0.0f;
                    grid.pixels[size_t(((oy + y) * grid.width + ox + x) * 3 + ch)] = uint8_t(std::lround(unit * 255.0f));
                }
    }
    return grid;
}

void save_image_grid(const ganops::Tensor& images, int64_t per_row, const std::string& path) {
    write_png(path, make_grid(images, per_row));
}

}  // namespace dcgan
