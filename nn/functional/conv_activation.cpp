// conv2d_leaky_relu: conv2d and LeakyReLU (slope >= 0) as one op. Forward in one kernel where
// kernels/conv2d_leaky_relu.h fuses (the activation in the GEMM's store: no pass over the
// pre-activation in memory, which is never allocated); the backward is the two ops' backward
// in order: the LeakyReLU's from the saved output's sign (y > 0 exactly where the conv's
// output is, for slope >= 0: activation.cpp), then conv2d's. Where it does not fuse it runs
// the two ops. Same bits either way.
#include "../../kernels/activation.h"
#include "../../kernels/conv2d.h"
#include "../../kernels/conv2d_leaky_relu.h"
#include "../../kernels/layout.h"
#include "../../kernels/reduce.h"
#include "../functional.h"

namespace ganops {

Tensor conv2d_leaky_relu(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& opt, double slope,
                         RoundToTf32 round) {
    if (!kernels::conv2d_leaky_relu_fuses(x, weight, bias, opt, slope)) return leaky_relu(conv2d(x, weight, bias, opt), slope);
    Tensor y = kernels::conv2d_leaky_relu_forward(x, weight, bias, opt, slope, round.output);
    return record("conv2d_leaky_relu", y, {x, weight, bias},
                  [x, weight, opt, slope, saved = y.detach()](const Tensor& dy_any, const std::vector<bool>& needs) {
                      const Tensor dz = kernels::convert_memory_format(kernels::leaky_relu_backward(dy_any, saved, slope),
                                                                       x.memory_format());
                      return std::vector<Tensor>{
                          needs[0] ? kernels::conv2d_backward_input(dz, weight, x.shape(), opt) : Tensor(),
                          needs[1] ? kernels::conv2d_backward_weight(dz, x, weight.shape(), opt, weight.memory_format())
                                   : Tensor(),
                          needs[2] ? kernels::channel_sum(dz) : Tensor()};
                  });
}

}  // namespace ganops
