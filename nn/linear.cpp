#include "linear.h"

#include <cmath>

#include "../core/random.h"
#include "functional.h"

namespace ganops::nn {

Linear::Linear(int64_t in_features, int64_t out_features, bool with_bias) {
    GANOPS_CHECK(in_features > 0 && out_features > 0, "Linear: features (", in_features, ", ", out_features,
                 ") must be positive");
    const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
    weight = Tensor::uniform({out_features, in_features}, -bound, bound, default_generator());
    if (with_bias) bias = Tensor::uniform({out_features}, -bound, bound, default_generator());
    register_parameter("weight", &weight);
    register_parameter("bias", &bias);
}

Tensor Linear::forward(const Tensor& x) { return linear(x, weight, bias); }

}  // namespace ganops::nn
