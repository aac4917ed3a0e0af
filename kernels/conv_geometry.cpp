#include "conv_geometry.h"

#include "../core/error.h"

namespace ganops {

namespace {
void check_options(const char* op, const Conv2dOptions& o, const Shape& x, const Shape& w) {
    GANOPS_CHECK(o.stride_h >= 1 && o.stride_w >= 1, op, ": stride must be >= 1, got (", o.stride_h,
                 ", ", o.stride_w, ") for input ", x, " and weight ", w);
    GANOPS_CHECK(o.pad_h >= 0 && o.pad_w >= 0, op, ": padding must be >= 0, got (", o.pad_h, ", ",
                 o.pad_w, ") for input ", x, " and weight ", w);
    GANOPS_CHECK(o.dilation_h >= 1 && o.dilation_w >= 1, op, ": dilation must be >= 1, got (",
                 o.dilation_h, ", ", o.dilation_w, ") for input ", x, " and weight ", w);
}

void check_4d(const char* op, const Shape& x, const Shape& w) {
    GANOPS_CHECK(x.ndim() == 4, op, ": input must be 4-d [batch, channels, height, width], got ", x);
    GANOPS_CHECK(w.ndim() == 4, op, ": weight must be 4-d, got ", w, " (input ", x, ")");
    GANOPS_CHECK(w[2] >= 1 && w[3] >= 1, op, ": empty kernel in weight ", w);
}
}  // namespace

ConvGeometry conv2d_geometry(const char* op, const Shape& x, const Shape& w, const Conv2dOptions& opt) {
    check_4d(op, x, w);
    check_options(op, opt, x, w);
    GANOPS_CHECK(x[1] == w[1], op, ": input ", x, " has ", x[1], " channels but weight ", w,
                 " expects ", w[1]);
    ConvGeometry g;
    g.batch = x[0];
    g.in_channels = x[1];
    g.in_h = x[2];
    g.in_w = x[3];
    g.out_channels = w[0];
    g.kernel_h = w[2];
    g.kernel_w = w[3];
    g.opt = opt;
    const int64_t span_h = int64_t{opt.dilation_h} * (g.kernel_h - 1) + 1;
    const int64_t span_w = int64_t{opt.dilation_w} * (g.kernel_w - 1) + 1;
    const int64_t padded_h = g.in_h + 2 * int64_t{opt.pad_h};
    const int64_t padded_w = g.in_w + 2 * int64_t{opt.pad_w};
    GANOPS_CHECK(padded_h >= span_h && padded_w >= span_w, op, ": kernel ", w,
                 " (dilated extent ", span_h, "x", span_w, ") is larger than the padded input ",
                 x, " (", padded_h, "x", padded_w, ")");
    g.out_h = (padded_h - span_h) / opt.stride_h + 1;
    g.out_w = (padded_w - span_w) / opt.stride_w + 1;
    return g;
}

ConvGeometry conv_transpose2d_geometry(const char* op, const Shape& x, const Shape& w,
                                       const ConvTranspose2dOptions& opt) {
    check_4d(op, x, w);
    const Conv2dOptions& o = opt.conv;
    check_options(op, o, x, w);
    GANOPS_CHECK(x[1] == w[0], op, ": input ", x, " has ", x[1], " channels but weight ", w,
                 " expects ", w[0]);
    // As in PyTorch: output padding only resolves which of several output sizes is meant.
    GANOPS_CHECK(opt.output_pad_h >= 0 && opt.output_pad_w >= 0 &&
                     (opt.output_pad_h < o.stride_h || opt.output_pad_h < o.dilation_h) &&
                     (opt.output_pad_w < o.stride_w || opt.output_pad_w < o.dilation_w),
                 op, ": output_padding (", opt.output_pad_h, ", ", opt.output_pad_w,
                 ") must be >= 0 and smaller than stride or dilation, for input ", x, " and weight ", w);
    ConvGeometry g;
    g.batch = x[0];
    g.out_channels = x[1];
    g.out_h = x[2];
    g.out_w = x[3];
    g.in_channels = w[1];
    g.kernel_h = w[2];
    g.kernel_w = w[3];
    g.opt = o;
    g.in_h = (g.out_h - 1) * o.stride_h - 2 * int64_t{o.pad_h} + int64_t{o.dilation_h} * (g.kernel_h - 1) +
             opt.output_pad_h + 1;
    g.in_w = (g.out_w - 1) * o.stride_w - 2 * int64_t{o.pad_w} + int64_t{o.dilation_w} * (g.kernel_w - 1) +
             opt.output_pad_w + 1;
    GANOPS_CHECK(g.out_h >= 1 && g.out_w >= 1 && g.in_h >= 1 && g.in_w >= 1, op, ": input ", x,
                 " with weight ", w, " gives an empty output (", g.in_h, "x", g.in_w, ")");
    return g;
}

}  // namespace ganops
