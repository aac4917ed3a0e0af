#include "conv_activation.h"

#include "../kernels/conv2d_leaky_relu.h"
#include "activation.h"
#include "conv2d.h"
#include "functional.h"

namespace ganops::nn {

size_t run_conv_activation(const Children& children, size_t i, Tensor& h) {
    if (i + 1 >= children.size()) return 0;
    auto* conv = dynamic_cast<Conv2d*>(children[i].second.get());
    if (!conv) return 0;
    Module* act = children[i + 1].second.get();
    double slope = 0.0;
    if (auto* leaky = dynamic_cast<LeakyReLU*>(act))
        slope = leaky->negative_slope;
    else if (!dynamic_cast<ReLU*>(act))
        return 0;
    if (!kernels::conv2d_leaky_relu_fuses(h, conv->weight, conv->bias, conv->options, slope)) return 0;
    h = conv2d_leaky_relu(h, conv->weight, conv->bias, conv->options, slope);
    return 2;
}

}  // namespace ganops::nn
