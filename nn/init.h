// Parameter initialisers, and the one DCGAN prescribes.
#pragma once
#include "../core/random.h"
#include "module.h"

namespace ganops::nn {

// Overwrite a tensor's values in place (not recorded by autograd).
void normal_(const Tensor& t, double mean, double stddev, Generator& gen = default_generator());
void uniform_(const Tensor& t, double low, double high, Generator& gen = default_generator());
void constant_(const Tensor& t, double value);

// Radford et al.: every Conv2d/ConvTranspose2d weight ~ N(0, 0.02); every BatchNorm2d
// weight ~ N(1, 0.02) and bias = 0. Modules are visited depth first in registration order.
void dcgan_init(Module& model, Generator& gen = default_generator());

}  // namespace ganops::nn
