// The dropout mask from the Philox stream: the same uniform numbers as the CPU's
// Tensor::uniform, compared with p in double as the CPU does, so a seed gives the same mask
// on both devices.
#include "../../core/cuda_graph.h"
#include "../../core/philox.h"
#include "kernels.h"
#include "launch.cuh"

namespace ganops::cuda {

namespace {
__global__ void dropout_mask_kernel(float* out, int64_t n, uint64_t seed, const uint64_t* base, uint64_t relative, double p,
                                    float keep) {
    const uint64_t offset = (base ? *base : 0) + relative;  // base: in a replayed graph (core/cuda_graph.h)
    GANOPS_GRID_STRIDE(i, n) out[i] = double(philox::uniform_at(seed, offset, i)) < p ? 0.0f : keep;
}
}  // namespace

void dropout_mask(float* out, int64_t n, uint64_t seed, uint64_t offset, double p, float keep_scale) {
    if (n == 0) return;
    const ReplayOffset at = replay_offset(seed, offset, philox::blocks_for(n));
    GANOPS_LAUNCH(dropout_mask_kernel, grid_for(n), kThreads, 0, current_stream())(out, n, seed, at.base, at.relative, p,
                                                                                 keep_scale);
}

}  // namespace ganops::cuda
