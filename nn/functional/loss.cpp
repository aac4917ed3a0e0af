// Binary cross entropy losses with autograd. Targets are labels: they get no gradient.
#include "../../kernels/bce.h"
#include "../functional.h"

namespace ganops {

namespace {
void check_target(const char* op, const Tensor& target) {
    GANOPS_CHECK(!target.defined() || !target.requires_grad(), op, ": target ", target.str(),
                 " requires grad; targets are labels (detach() them)");
}
}  // namespace

Tensor binary_cross_entropy(const Tensor& p, const Tensor& target) {
    check_target("binary_cross_entropy", target);
    return record("binary_cross_entropy", kernels::bce_forward(p, target), {p},
                  [p, target](const Tensor& dloss, const std::vector<bool>&) {
                      return std::vector<Tensor>{kernels::bce_backward(dloss, p, target)};
                  });
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target) {
    check_target("binary_cross_entropy_with_logits", target);
    return record("binary_cross_entropy_with_logits", kernels::bce_with_logits_forward(logits, target), {logits},
                  [logits, target](const Tensor& dloss, const std::vector<bool>&) {
                      return std::vector<Tensor>{kernels::bce_with_logits_backward(dloss, logits, target)};
                  });
}

}  // namespace ganops
