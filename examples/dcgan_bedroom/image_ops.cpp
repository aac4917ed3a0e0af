#include "image_ops.h"

#include <png.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

namespace dcgan {

void resize_crop_normalise(const uint8_t* pixels, int64_t rows, int64_t cols, int64_t size, float* out) {
    const double scale = static_cast<double>(size) / static_cast<double>(std::min(rows, cols));
    const int64_t new_rows = std::max<int64_t>(size, std::llround(rows * scale));
    const int64_t new_cols = std::max<int64_t>(size, std::llround(cols * scale));
    const int64_t top = (new_rows - size) / 2, left = (new_cols - size) / 2;
    auto at = [&](int64_t r, int64_t c) {
        return static_cast<double>(pixels[std::clamp<int64_t>(r, 0, rows - 1) * cols + std::clamp<int64_t>(c, 0, cols - 1)]);
    };
    for (int64_t y = 0; y < size; ++y) {
        // Source coordinate of the output pixel's centre.
        const double sy = (static_cast<double>(y + top) + 0.5) * static_cast<double>(rows) / static_cast<double>(new_rows) - 0.5;
        const int64_t y0 = static_cast<int64_t>(std::floor(sy));
        const double fy = sy - static_cast<double>(y0);
        for (int64_t x = 0; x < size; ++x) {
            const double sx = (static_cast<double>(x + left) + 0.5) * static_cast<double>(cols) / static_cast<double>(new_cols) - 0.5;
            const int64_t x0 = static_cast<int64_t>(std::floor(sx));
            const double fx = sx - static_cast<double>(x0);
            const double v = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) +
                             fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1));
            out[y * size + x] = static_cast<float>(v / 127.5 - 1.0);
        }
    }
}

void save_image_grid(const ganops::Tensor& images, int64_t per_row, const std::string& path) {
    GANOPS_CHECK(images.ndim() == 4 && (images.size(1) == 1 || images.size(1) == 3),
                 "save_image_grid: expects [N, 1 or 3, H, W], got ", images.str());
    const std::vector<float> v = images.to_vector();
    const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
    const int64_t pad = 2, grid_cols = std::min(per_row, n), grid_rows = (n + per_row - 1) / per_row;
    const int64_t width = grid_cols * (w + pad) + pad, height = grid_rows * (h + pad) + pad;
    std::vector<uint8_t> rgb(static_cast<size_t>(width * height * 3), 0);
    for (int64_t i = 0; i < n; ++i) {
        const int64_t oy = (i / per_row) * (h + pad) + pad, ox = (i % per_row) * (w + pad) + pad;
        for (int64_t y = 0; y < h; ++y)
            for (int64_t x = 0; x < w; ++x)
                for (int64_t ch = 0; ch < 3; ++ch) {
                    const float s = v[static_cast<size_t>(((i * c + (c == 3 ? ch : 0)) * h + y) * w + x)];
                    const float unit = std::clamp((s + 1.0f) * 0.5f, 0.0f, 1.0f);
                    rgb[static_cast<size_t>(((oy + y) * width + ox + x) * 3 + ch)] = static_cast<uint8_t>(std::lround(unit * 255.0f));
                }
    }
    // Written beside the target and renamed, so a reader never sees half a picture.
    const std::string tmp = path + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) throw std::runtime_error("cannot write " + tmp);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png ? png_create_info_struct(png) : nullptr;
    if (!png || !info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        std::fclose(f);
        std::remove(tmp.c_str());
        throw std::runtime_error("libpng failed writing " + path);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int64_t y = 0; y < height; ++y) png_write_row(png, rgb.data() + y * width * 3);
    png_write_end(png, nullptr);
    png_destroy_write_struct(&png, &info);
    if (std::fclose(f) != 0) throw std::runtime_error("cannot write " + tmp);
    std::filesystem::rename(tmp, path);
}

}  // namespace dcgan
