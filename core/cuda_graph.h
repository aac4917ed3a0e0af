// A piece of GPU work captured once as a CUDA graph and replayed: one cudaGraphLaunch
// instead of a launch (and its few microseconds of CPU time) per kernel. What a training
// step needs for that:
// - Stable addresses. The caching allocator gives every block the captured work used to a
//   graph pool (cuda_allocator.h) that nobody else gets while the graph lives.
// - Arguments that change from one iteration to the next are not passed by value (a
//   replay would repeat them) but read from device memory the graph owns:
//   * Philox offsets: a random kernel captured at offset o of seed s's stream reads
//     `*base + relative`, where *base is where the stream stood when the replay began; the
//     last node of every replay adds how far the captured work advanced each stream. So
//     replay r draws the numbers the r-th eager iteration would, not the same ones again.
//   * Per-replay scalars (Adam's bias corrections for step t + r): a table, row r for
//     replay r, filled on the host with the eager code's own formulas (so replays give the
//     eager bits), the row picked by a replay counter on the device.
// - Host-side counters (a Generator's offset, Adam's step, BatchNorm's batch count) are
//   the caller's: the captured work did not run, so rewind them after capture() and
//   advance them as an eager iteration would after each replay.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "cuda_device.h"

namespace ganops::cuda {

// For the random kernels' host code: a draw of `blocks` Philox blocks at `offset` of
// `seed`'s stream. Outside a capture: {nullptr, offset}.
struct ReplayOffset {
    const uint64_t* base = nullptr;  // device word; the kernel's offset is *base + relative
    uint64_t relative = 0;
};
ReplayOffset replay_offset(uint64_t seed, uint64_t offset, uint64_t blocks);

// For kernels with per-iteration scalars: inside a capture, `width` doubles per replay,
// row r = fill(r) for replay r, and the device counter that says which replay runs.
// Outside a capture: both null (pass the scalars by value).
struct ReplaySchedule {
    const double* rows = nullptr;
    const int64_t* replay = nullptr;
};
ReplaySchedule replay_schedule(int width, const std::function<void(int64_t replay, double* row)>& fill);

class Graph {
public:
    // A captured graph serves at most `max_replays` replays (the schedules' length); then
    // ready() is false and the caller captures again.
    explicit Graph(int64_t max_replays = 1024);
    ~Graph();
    Graph(const Graph&) = delete;
    Graph& operator=(const Graph&) = delete;

    // Captures `work` issued on `stream` (made current while it runs). The work does not
    // run. Returns an empty string, or why the capture failed (an exception of the work, a
    // call that capture forbids); the graph is then empty and the caller runs eagerly.
    std::string capture(Stream stream, const std::function<void()>& work);
    bool ready() const;
    void replay();  // on the stream it was captured on; no host synchronisation
    // Waits for the replays queued so far, then drops the graph and its memory pool.
    void reset();
    int64_t replays() const;

    struct State;

private:
    std::unique_ptr<State> state_;
};

}  // namespace ganops::cuda
