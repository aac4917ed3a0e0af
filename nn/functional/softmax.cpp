// Softmax and softmax cross entropy with autograd. Labels get no gradient.
#include "../../kernels/softmax.h"
#include "../functional.h"

namespace ganops {

Tensor softmax(const Tensor& x) {
    Tensor y = kernels::softmax_forward(x);
    return record("softmax", y, {x}, [saved = y.detach()](const Tensor& dy, const std::vector<bool>&) {
        return std::vector<Tensor>{kernels::softmax_backward(dy, saved)};
    });
}

Tensor softmax_cross_entropy(const Tensor& logits, const Tensor& labels) {
    GANOPS_CHECK(!labels.defined() || !labels.requires_grad(), "softmax_cross_entropy: labels ", labels.str(),
                 " require grad; labels are class indices (detach() them)");
    return record("softmax_cross_entropy", kernels::softmax_cross_entropy_forward(logits, labels), {logits},
                  [logits, labels](const Tensor& dloss, const std::vector<bool>&) {
                      return std::vector<Tensor>{kernels::softmax_cross_entropy_backward(dloss, logits, labels)};
                  });
}

}  // namespace ganops
