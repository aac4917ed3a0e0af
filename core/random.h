// The process-wide default generator that modules draw their initial weights from, as
// torch.manual_seed does for PyTorch. Code that needs its own stream holds a Generator.
#pragma once
#include <cstdint>
#include <vector>

#include "philox.h"

namespace ganops {

Generator& default_generator();
void manual_seed(uint64_t seed);  // seed = seed, offset = 0

// A uniformly random order of 0 .. n-1 (Fisher-Yates driven by the Philox stream), so a
// seed fixes how data is shuffled, on every machine.
std::vector<int64_t> random_permutation(int64_t n, Generator& gen);

}  // namespace ganops
