// The kernel that ends every replay of a captured graph (graph_replay.cu; core/cuda_graph.h),
// launched on the current stream; declared without CUDA types, like kernels.h.
#pragma once
#include <cstdint>

namespace ganops::cuda {

constexpr int kMaxReplayStreams = 16;
struct ReplayAdvance {
    uint64_t delta[kMaxReplayStreams];  // Philox blocks each stream advances per replay
    int streams;
};
// ++*counter; bases[i] += delta[i].
void advance_replay_state(int64_t* counter, uint64_t* bases, const ReplayAdvance& advance);

}  // namespace ganops::cuda
