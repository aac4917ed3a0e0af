// The last node of a replayed graph (core/cuda_graph.h): the replay counter and the
// Philox streams move on, so the next replay reads its own table row and draws new numbers.
#include "graph_replay.h"
#include "launch.cuh"

namespace ganops::cuda {

namespace {
__global__ void advance_replay_state_kernel(int64_t* counter, uint64_t* bases, ReplayAdvance advance) {
    const int i = threadIdx.x;
    if (i < advance.streams) bases[i] += advance.delta[i];
    if (i == 0) *counter += 1;
}
}  // namespace

void advance_replay_state(int64_t* counter, uint64_t* bases, const ReplayAdvance& advance) {
    GANOPS_LAUNCH(advance_replay_state_kernel, 1, kThreads, 0, current_stream())(counter, bases, advance);
}

}  // namespace ganops::cuda
