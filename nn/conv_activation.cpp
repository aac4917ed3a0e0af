#include "conv_activation.h"

#include "../kernels/conv2d_leaky_relu.h"
#include "activation.h"
#include "conv2d.h"
#include "functional.h"
#include "tf32_between_layers.h"

namespace ganops::nn {

size_t run_conv_activation(const Children& children, size_t i, Tensor& h, bool round_tf32) {
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
    RoundToTf32 round;
    if (round_tf32 && i + 2 < children.size()) {
        const Shape y_shape = conv2d_geometry("conv2d", h.shape(), conv->weight.shape(), conv->options).y_shape();
        round.output = reads_input_as_tf32(*children[i + 2].second, y_shape, h);  // y is held as h is
    }
    h = conv2d_leaky_relu(h, conv->weight, conv->bias, conv->options, slope, round);
    return 2;
}

}  // namespace ganops::nn
