// Activations with autograd. tanh and sigmoid differentiate through their output, saved
// detached so the node does not keep itself alive through it.
#include "../../kernels/activation.h"
#include "../functional.h"

namespace ganops {

Tensor relu(const Tensor& x) {
    return record("relu", kernels::relu_forward(x), {x}, [x](const Tensor& dy, const std::vector<bool>&) {
        return std::vector<Tensor>{kernels::relu_backward(dy, x)};
    });
}

Tensor leaky_relu(const Tensor& x, double slope) {
    return record("leaky_relu", kernels::leaky_relu_forward(x, slope), {x},
                  [x, slope](const Tensor& dy, const std::vector<bool>&) {
                      return std::vector<Tensor>{kernels::leaky_relu_backward(dy, x, slope)};
                  });
}

Tensor tanh(const Tensor& x) {
    Tensor y = kernels::tanh_forward(x);
    return record("tanh", y, {x}, [saved = y.detach()](const Tensor& dy, const std::vector<bool>&) {
        return std::vector<Tensor>{kernels::tanh_backward(dy, saved)};
    });
}

Tensor sigmoid(const Tensor& x) {
    Tensor y = kernels::sigmoid_forward(x);
    return record("sigmoid", y, {x}, [saved = y.detach()](const Tensor& dy, const std::vector<bool>&) {
        return std::vector<Tensor>{kernels::sigmoid_backward(dy, saved)};
    });
}

}  // namespace ganops
