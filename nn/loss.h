// Loss objects as torch.nn's, for code written in that style; both take the mean.
#pragma once
#include "functional.h"

namespace ganops::nn {

struct BCELoss {
    Tensor operator()(const Tensor& p, const Tensor& target) const { return binary_cross_entropy(p, target); }
};

struct BCEWithLogitsLoss {
    Tensor operator()(const Tensor& logits, const Tensor& target) const {
        return binary_cross_entropy_with_logits(logits, target);
    }
};

}  // namespace ganops::nn
