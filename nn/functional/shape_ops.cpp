// Channel concatenation and adaptive max pooling with autograd.
#include "../../kernels/adaptive_max_pool2d.h"
#include "../../kernels/concat.h"
#include "../functional.h"

namespace ganops {

Tensor concat_channels(const Tensor& a, const Tensor& b) {
    const int64_t ca = a.defined() && a.ndim() >= 2 ? a.size(1) : 0;
    return record("concat", kernels::concat_channels(a, b), {a, b}, [ca](const Tensor& dy, const std::vector<bool>& needs) {
        Tensor da, db;
        kernels::split_channels(dy, ca, needs[0] ? &da : nullptr, needs[1] ? &db : nullptr);
        return std::vector<Tensor>{da, db};
    });
}

Tensor adaptive_max_pool2d(const Tensor& x, int64_t oh, int64_t ow) {
    return record("adaptive_max_pool2d", kernels::adaptive_max_pool2d_forward(x, oh, ow), {x},
                  [x](const Tensor& dy, const std::vector<bool>&) {
                      return std::vector<Tensor>{kernels::adaptive_max_pool2d_backward(dy, x)};
                  });
}

}  // namespace ganops
