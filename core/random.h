// The process-wide default generator that modules draw their initial weights from, as
// torch.manual_seed does for PyTorch. Code that needs its own stream holds a Generator.
#pragma once
#include <cstdint>

#include "philox.h"

namespace ganops {

Generator& default_generator();
void manual_seed(uint64_t seed);  // seed = seed, offset = 0

}  // namespace ganops
