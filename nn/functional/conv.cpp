// conv2d and conv_transpose2d with autograd. Each backward uses the other's kernels.
// Either memory format: the output takes the input's, and the backward pass reads the
// output gradient in it too, so the input gradient comes back in the input's format.
#include "../../kernels/conv2d.h"
#include "../../kernels/conv_transpose2d.h"
#include "../../kernels/layout.h"
#include "../../kernels/reduce.h"
#include "../functional.h"

namespace ganops {

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& opt) {
    Tensor y = kernels::conv2d_forward(x, weight, bias, opt);
    return record("conv2d", y, {x, weight, bias},
                  [x, weight, opt](const Tensor& dy_any, const std::vector<bool>& needs) {
                      const Tensor dy = kernels::convert_memory_format(dy_any, x.memory_format());
                      return std::vector<Tensor>{
                          needs[0] ? kernels::conv2d_backward_input(dy, weight, x.shape(), opt) : Tensor(),
                          needs[1] ? kernels::conv2d_backward_weight(dy, x, weight.shape(), opt, weight.memory_format())
                                   : Tensor(),
                          needs[2] ? kernels::channel_sum(dy) : Tensor()};
                  });
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const ConvTranspose2dOptions& opt) {
    Tensor y = kernels::conv_transpose2d_forward(x, weight, bias, opt);
    return record("conv_transpose2d", y, {x, weight, bias},
                  [x, weight, opt](const Tensor& dy_any, const std::vector<bool>& needs) {
                      const Tensor dy = kernels::convert_memory_format(dy_any, x.memory_format());
                      return std::vector<Tensor>{
                          needs[0] ? kernels::conv_transpose2d_backward_input(dy, weight, x.shape(), opt) : Tensor(),
                          needs[1] ? kernels::conv_transpose2d_backward_weight(dy, x, weight.shape(), opt,
                                                                               weight.memory_format())
                                   : Tensor(),
                          needs[2] ? kernels::channel_sum(dy) : Tensor()};
                  });
}

}  // namespace ganops
