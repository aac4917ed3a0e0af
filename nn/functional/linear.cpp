// linear and dropout with autograd.
#include "../../core/philox.h"
#include "../../kernels/dropout.h"
#include "../../kernels/elementwise.h"
#include "../../kernels/linear.h"
#include "../../kernels/reduce.h"
#include "../functional.h"

namespace ganops {

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
    return record("linear", kernels::linear_forward(x, weight, bias), {x, weight, bias},
                  [x, weight](const Tensor& dy, const std::vector<bool>& needs) {
                      return std::vector<Tensor>{needs[0] ? kernels::linear_backward_input(dy, weight) : Tensor(),
                                                 needs[1] ? kernels::linear_backward_weight(dy, x) : Tensor(),
                                                 needs[2] ? kernels::channel_sum(dy) : Tensor()};
                  });
}

Tensor dropout(const Tensor& x, double p, bool training, Generator& gen) {
    GANOPS_CHECK(p >= 0 && p <= 1, "dropout: probability must be in [0, 1], got ", p, " for input ", x.str());
    if (!training || p == 0) return x;
    Tensor mask = kernels::dropout_mask(x.shape(), p, gen, x.dtype(), x.device());
    return record("dropout", kernels::mul(x, mask), {x}, [mask](const Tensor& dy, const std::vector<bool>&) {
        return std::vector<Tensor>{kernels::mul(dy, mask)};
    });
}

}  // namespace ganops
