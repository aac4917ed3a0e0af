// Dropout as torch.nn.Dropout, drawing its masks from the default generator unless given one.
#pragma once
#include "../core/random.h"
#include "functional.h"
#include "module.h"

namespace ganops::nn {

class Dropout : public Module {
public:
    explicit Dropout(double p = 0.5, Generator* gen = nullptr) : p(p), gen(gen) {
        GANOPS_CHECK(p >= 0 && p <= 1, "Dropout: probability must be in [0, 1], got ", p);
    }
    Tensor forward(const Tensor& x) override { return dropout(x, p, is_training(), gen ? *gen : default_generator()); }

    double p;
    Generator* gen;
};

}  // namespace ganops::nn
