// A training loop's record of itself kept on the device, so that watching the run costs
// no host synchronisation per iteration: per-iteration values (losses, D's mean outputs)
// are added into a ring of slots by small kernels, and non-finite values set a flag that
// remembers the first iteration they appeared in. The host reads it all with one copy
// every so many iterations (read_monitor): a divergence still stops the run naming the
// iteration it happened in, only a few iterations later.
//
// Layout of `values` (float64, on the loop's device):
//   [0]  the current iteration (advanced by monitor_next_iteration, on the device, so a
//        replayed CUDA graph advances it too)
//   [1]  the first iteration in which a monitored value was not finite; -1 while none
//   [2 + (iteration % (capacity + 1)) * fields + field]  that iteration's value of `field`
//        (capacity + 1 slots: the last `capacity` complete iterations and the current one)
#pragma once
#include <vector>

#include "../core/tensor.h"

namespace ganops::kernels {

struct TrainingMonitor {
    Tensor values;
    int64_t capacity = 0;  // iterations kept: read at least this often
    int64_t fields = 0;
};

// Starts at iteration `first_iteration` with every field 0.
TrainingMonitor make_training_monitor(int64_t capacity, int64_t fields, int64_t first_iteration, Device device);

// Adds mean(x) to `field` of the current iteration; any non-finite element of x marks the
// iteration as the first bad one unless an earlier one is marked. One launch, no sync.
void monitor_add_mean(const TrainingMonitor& monitor, int64_t field, const Tensor& x);

// Moves to the next iteration and zeroes its slot. One launch, no sync.
void monitor_next_iteration(const TrainingMonitor& monitor);

struct MonitorReadout {
    int64_t iteration = 0;         // the current one (all before it are complete)
    int64_t first_nonfinite = -1;  // -1: none
    // The slots of iterations max(0, iteration - capacity) .. iteration - 1, oldest first,
    // each `fields` values.
    int64_t first_slot_iteration = 0;
    std::vector<std::vector<double>> slots;
};

// One device-to-host copy (a host synchronisation on a GPU).
MonitorReadout read_monitor(const TrainingMonitor& monitor);

}  // namespace ganops::kernels
