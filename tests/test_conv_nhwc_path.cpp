// Which channels-last path each convolution geometry takes (kernels/cuda/conv_nhwc_thin.h's
// nhwc_path): host logic, no GPU. The paths' results are checked against the float64
// reference in tests/test_conv_nhwc.cu (every DCGAN layer and odd shapes reaching each path).
#include "dcgan_conv_layers.h"
#include "kernels/cuda/conv_nhwc_thin.h"
#include "test_util.h"

using namespace ganops;
using cuda::conv::Dims;
using cuda::conv::nhwc::nhwc_path;
using cuda::conv::nhwc::NhwcPass;
using cuda::conv::nhwc::NhwcPath;
using test::dcgan_conv::conv;
using test::dcgan_conv::transposed;

namespace {

const char* path_name(NhwcPath p) {
    return p == NhwcPath::Gemv             ? "gemv"
           : p == NhwcPath::PixelProduct   ? "pixel product"
           : p == NhwcPath::PaddedChannels ? "padded"
           : p == NhwcPath::Narrow         ? "narrow"
                                           : "general";
}

// The paths of forward, grad-input and grad-weight, on the tensor cores or not.
std::string paths(const ConvGeometry& g, bool tensor_cores) {
    const Dims d(g);
    return std::string(path_name(nhwc_path(NhwcPass::Forward, d, tensor_cores))) + ", " +
           path_name(nhwc_path(NhwcPass::BackwardInput, d, tensor_cores)) + ", " +
           path_name(nhwc_path(NhwcPass::BackwardWeight, d, tensor_cores));
}

}  // namespace

TEST_CASE("NHWC path: each DCGAN layer's passes") {
    for (int64_t batch : {1, 128}) {
        INFO("batch " << batch);
        for (const auto& layer : test::dcgan_conv::dcgan_layers(batch)) {
            INFO(layer.name);
            const std::string name = layer.name;
            const bool image = name.rfind("D1", 0) == 0 || name.rfind("G5", 0) == 0;  // the 3-channel image
            if (name.rfind("D5", 0) == 0) {  // 512 -> 1 channel, 4x4 -> 1x1: a GEMV in every pass and mode
                CHECK(paths(layer.g, true) == "gemv, gemv, gemv");
                CHECK(paths(layer.g, false) == "gemv, gemv, gemv");
            } else if (name.rfind("G1", 0) == 0) {  // 1x1 -> 4x4: its forward is conv2d's grad-input
                CHECK(paths(layer.g, true) == "general, pixel product, general");
                CHECK(paths(layer.g, false) == "general, pixel product, general");
            } else if (image) {  // forward and grad-weight read the image: padded to 4 channels on the tensor cores;
                // grad-input (D1's, and G5's forward) writes it: the narrow SIMT kernel in every mode
                CHECK(paths(layer.g, true) == "padded, narrow, padded");
                CHECK(paths(layer.g, false) == "general, narrow, general");
            } else {
                CHECK(paths(layer.g, true) == "general, general, general");
            }
        }
    }
}

TEST_CASE("NHWC path: the boundaries of each thin path") {
    // Whole window: up to 4 output channels a GEMV, more a pixel product (grad-input) or the
    // general problems; any padding, dilation or a window smaller than the input: not whole.
    CHECK(paths(conv({3, 5, 3, 3}, {4, 5, 3, 3}, 1, 0), true) == "gemv, gemv, gemv");
    CHECK(paths(conv({3, 8, 3, 3}, {5, 8, 3, 3}, 1, 0), true) == "general, pixel product, general");
    CHECK(paths(conv({3, 5, 3, 3}, {5, 5, 3, 3}, 1, 0), true) == "padded, pixel product, padded");
    CHECK(paths(conv({3, 8, 1, 1}, {1, 8, 3, 3}, 1, 1), true) == "general, general, general");        // padding
    CHECK(paths(conv({3, 8, 4, 4}, {1, 8, 3, 3}, 2, 0), true) == "general, general, general");        // 3x3 window of 4x4
    CHECK(paths(conv2d_geometry("test", {3, 8, 5, 5}, {1, 8, 3, 3}, Conv2dOptions::square(1, 0, 2)), true) ==
          "general, general, general");  // dilated
    CHECK(paths(transposed({2, 7, 1, 1}, {7, 8, 3, 3}, 1, 0), true) == "general, pixel product, general");
    CHECK(paths(transposed({2, 7, 1, 1}, {7, 6, 3, 3}, 1, 0), true) == "padded, pixel product, padded");  // conv2d C = 6
    // Channels: only a count that is not a multiple of 4 is padded.
    CHECK(paths(conv({2, 4, 8, 8}, {16, 4, 4, 4}, 2, 1), true) == "general, narrow, general");
    CHECK(paths(conv({2, 6, 8, 8}, {16, 6, 4, 4}, 2, 1), true) == "padded, general, padded");
    CHECK(paths(conv({2, 1, 8, 8}, {16, 1, 3, 3}, 1, 2), true) == "padded, narrow, padded");
    // Narrow grad-input: up to 4 input channels (any K_out: dy is staged in chunks of channels),
    // while the dy window of a tile fits the kernel's shared memory (conv_nhwc_narrow.h).
    CHECK(paths(conv({2, 5, 8, 8}, {16, 5, 3, 3}, 1, 1), false) == "general, general, general");
    CHECK(paths(conv({2, 3, 8, 8}, {512, 3, 3, 3}, 1, 1), false) == "general, narrow, general");
    CHECK(paths(conv2d_geometry("test", {1, 3, 40, 40}, {8, 3, 7, 7}, Conv2dOptions::square(1, 0, 6)), false) ==
          "general, general, general");  // 7x7 dilated by 6: a 42 x 76 pixel window
}
