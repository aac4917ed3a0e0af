// The 64x64 DCGAN's convolution layers (nz 100, ngf = ndf = 64, nc 3) as conv2d geometries,
// for the convolution tests of every layout and main loop (test_conv_tensor_core.cu,
// test_conv_nhwc.cu). A transposed layer is conv2d's geometry with its input as conv2d's y and
// its output as conv2d's x.
#pragma once
#include <cstdint>
#include <vector>

#include "ganops.h"

namespace test::dcgan_conv {

inline ganops::ConvGeometry conv(const ganops::Shape& x, const ganops::Shape& w, int stride, int pad) {
    return ganops::conv2d_geometry("test", x, w, ganops::Conv2dOptions::square(stride, pad));
}
inline ganops::ConvGeometry transposed(const ganops::Shape& x, const ganops::Shape& w, int stride, int pad) {
    return ganops::conv_transpose2d_geometry("test", x, w, ganops::ConvTranspose2dOptions::square(stride, pad));
}

struct Named {
    const char* name;
    ganops::ConvGeometry g;
};

inline std::vector<Named> dcgan_layers(int64_t n) {
    return {
        {"G1 100->512 1x1->4x4", transposed({n, 100, 1, 1}, {100, 512, 4, 4}, 1, 0)},
        {"G2 512->256 4x4->8x8", transposed({n, 512, 4, 4}, {512, 256, 4, 4}, 2, 1)},
        {"G3 256->128 8x8->16x16", transposed({n, 256, 8, 8}, {256, 128, 4, 4}, 2, 1)},
        {"G4 128->64 16x16->32x32", transposed({n, 128, 16, 16}, {128, 64, 4, 4}, 2, 1)},
        {"G5 64->3 32x32->64x64", transposed({n, 64, 32, 32}, {64, 3, 4, 4}, 2, 1)},
        {"D1 3->64 64x64->32x32", conv({n, 3, 64, 64}, {64, 3, 4, 4}, 2, 1)},
        {"D2 64->128 32x32->16x16", conv({n, 64, 32, 32}, {128, 64, 4, 4}, 2, 1)},
        {"D3 128->256 16x16->8x8", conv({n, 128, 16, 16}, {256, 128, 4, 4}, 2, 1)},
        {"D4 256->512 8x8->4x4", conv({n, 256, 8, 8}, {512, 256, 4, 4}, 2, 1)},
        {"D5 512->1 4x4->1x1", conv({n, 512, 4, 4}, {1, 512, 4, 4}, 1, 0)},
    };
}

}  // namespace test::dcgan_conv
