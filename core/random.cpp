#include "random.h"

namespace ganops {

Generator& default_generator() {
    static Generator gen;
    return gen;
}

void manual_seed(uint64_t seed) { default_generator() = Generator{seed, 0}; }

}  // namespace ganops
