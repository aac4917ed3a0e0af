// Activations with autograd. Each saves its output for backward (detached, so the node
// does not keep itself alive through it), never its input: the output is what the next
// layer saves anyway (a convolution's input), so the activation adds nothing to the memory
// a graph holds, and its input (a batchnorm's output, which batchnorm's backward does not
// need) is freed as soon as the forward pass moves on. ReLU and LeakyReLU with a slope >= 0
// read the sign from the output: y > 0 exactly where x > 0, so the gradient is bit for bit
// the one the input gives. A negative slope flips the sign: that LeakyReLU keeps its input.
#include "../../kernels/activation.h"
#include "../functional.h"

namespace ganops {

Tensor relu(const Tensor& x) {
    Tensor y = kernels::relu_forward(x);
    return record("relu", y, {x}, [saved = y.detach()](const Tensor& dy, const std::vector<bool>&) {
        return std::vector<Tensor>{kernels::relu_backward(dy, saved)};
    });
}

Tensor leaky_relu(const Tensor& x, double slope) {
    Tensor y = kernels::leaky_relu_forward(x, slope);
    return record("leaky_relu", y, {x},
                  [saved = slope >= 0 ? y.detach() : x, slope](const Tensor& dy, const std::vector<bool>&) {
                      return std::vector<Tensor>{kernels::leaky_relu_backward(dy, saved, slope)};
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
