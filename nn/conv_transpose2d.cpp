#include "conv_transpose2d.h"

#include <cmath>

#include "../core/random.h"
#include "functional.h"

namespace ganops::nn {

ConvTranspose2d::ConvTranspose2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size,
                                 const ConvTranspose2dOptions& opt, bool with_bias)
    : options(opt) {
    GANOPS_CHECK(in_channels > 0 && out_channels > 0 && kernel_size > 0, "ConvTranspose2d: channels (", in_channels,
                 ", ", out_channels, ") and kernel_size ", kernel_size, " must be positive");
    conv_transpose2d_geometry("ConvTranspose2d", {1, in_channels, 1, 1},
                              {in_channels, out_channels, kernel_size, kernel_size}, opt);  // validates the options
    const double bound = 1.0 / std::sqrt(static_cast<double>(out_channels * kernel_size * kernel_size));
    weight = Tensor::uniform({in_channels, out_channels, kernel_size, kernel_size}, -bound, bound, default_generator());
    if (with_bias) bias = Tensor::uniform({out_channels}, -bound, bound, default_generator());
    register_parameter("weight", &weight);
    register_parameter("bias", &bias);
}

Tensor ConvTranspose2d::forward(const Tensor& x) { return conv_transpose2d(x, weight, bias, options); }

}  // namespace ganops::nn
