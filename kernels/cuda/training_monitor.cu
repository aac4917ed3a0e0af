// The device side of kernels/training_monitor.h: single-block kernels that read the
// current iteration from device memory, so that a replayed graph records each replay in
// its own slot.
#include "launch.cuh"
#include "training_monitor.h"

namespace ganops::cuda {

namespace {
__global__ void monitor_add_mean_kernel(double* values, int64_t slots, int64_t fields, int64_t field, const float* x,
                                        int64_t n) {
    double s = 0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += x[i];
    s = block_sum(s);
    if (threadIdx.x == 0) {
        const double mean = s / double(n);
        const int64_t iteration = int64_t(values[0]);
        // A sum in double of finite floats cannot overflow: a non-finite sum means a
        // non-finite element. (mean - mean) is 0 exactly for finite values, NaN otherwise.
        if (!(mean - mean == 0.0) && values[1] < 0) values[1] = double(iteration);
        values[2 + (iteration % slots) * fields + field] += mean;
    }
}

__global__ void monitor_next_iteration_kernel(double* values, int64_t slots, int64_t fields) {
    const double next = values[0] + 1;
    double* slot = values + 2 + (int64_t(next) % slots) * fields;
    for (int64_t f = threadIdx.x; f < fields; f += blockDim.x) slot[f] = 0;
    __syncthreads();  // every thread has read values[0]
    if (threadIdx.x == 0) values[0] = next;
}
}  // namespace

void monitor_add_mean(double* values, int64_t slots, int64_t fields, int64_t field, const float* x, int64_t n) {
    GANOPS_LAUNCH(monitor_add_mean_kernel, 1, kThreads, 0, current_stream())(values, slots, fields, field, x, n);
}

void monitor_next_iteration(double* values, int64_t slots, int64_t fields) {
    GANOPS_LAUNCH(monitor_next_iteration_kernel, 1, kThreads, 0, current_stream())(values, slots, fields);
}

}  // namespace ganops::cuda
