// The index arithmetic of a 2-D convolution, shared by conv2d and conv_transpose2d and by
// every backend. Everything is stated from conv2d's side: x [batch, in_channels, in_h, in_w]
// convolved with w [out_channels, in_channels, kernel_h, kernel_w] gives
// y [batch, out_channels, out_h, out_w]. A transposed convolution is conv2d run backwards,
// so its input plays conv2d's y and its output conv2d's x.
#pragma once
#include <cstdint>

#include "../core/shape.h"

namespace ganops {

struct Conv2dOptions {
    int stride_h = 1, stride_w = 1;
    int pad_h = 0, pad_w = 0;
    int dilation_h = 1, dilation_w = 1;

    static Conv2dOptions square(int stride, int padding, int dilation = 1) {
        return {stride, stride, padding, padding, dilation, dilation};
    }
};

struct ConvTranspose2dOptions {
    Conv2dOptions conv;
    int output_pad_h = 0, output_pad_w = 0;  // extra rows/columns at the bottom/right

    static ConvTranspose2dOptions square(int stride, int padding, int output_padding = 0, int dilation = 1) {
        return {Conv2dOptions::square(stride, padding, dilation), output_padding, output_padding};
    }
};

struct ConvGeometry {
    int64_t batch = 0, in_channels = 0, in_h = 0, in_w = 0;
    int64_t out_channels = 0, out_h = 0, out_w = 0;
    int64_t kernel_h = 0, kernel_w = 0;
    Conv2dOptions opt;

    Shape x_shape() const { return {batch, in_channels, in_h, in_w}; }
    Shape y_shape() const { return {batch, out_channels, out_h, out_w}; }
    Shape w_shape() const { return {out_channels, in_channels, kernel_h, kernel_w}; }
};

// Validate and derive. `op` names the caller in error messages.
ConvGeometry conv2d_geometry(const char* op, const Shape& x, const Shape& w, const Conv2dOptions& opt);
// x [batch, in, h, w] and w [in, out, kernel_h, kernel_w] (PyTorch's layout for transposed
// convolution) give a geometry whose x_shape() is the transposed convolution's output.
ConvGeometry conv_transpose2d_geometry(const char* op, const Shape& x, const Shape& w,
                                       const ConvTranspose2dOptions& opt);

}  // namespace ganops
