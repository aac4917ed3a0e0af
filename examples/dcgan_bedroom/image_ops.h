// Turning stored images into training tensors and training tensors back into pictures.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <ganops/ganops.h>

namespace dcgan {

// Resizes a grey 8-bit image so that its shorter side is `size` (bilinear, pixel centres
// aligned as in PIL/torchvision without antialiasing), centre-crops it to size x size and
// scales it to [-1, 1]. Writes size*size floats.
void resize_crop_normalise(const uint8_t* pixels, int64_t rows, int64_t cols, int64_t size, float* out);

// Writes images [N, C, H, W] in [-1, 1] as one PNG grid, `per_row` images a row with a
// 2-pixel border, like torchvision's save_image(normalize=True). Throws on I/O errors.
void save_image_grid(const ganops::Tensor& images, int64_t per_row, const std::string& path);

}  // namespace dcgan
