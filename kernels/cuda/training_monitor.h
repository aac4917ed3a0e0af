// The device side of kernels/training_monitor.h (training_monitor.cu), launched on the
// current stream; declared without CUDA types, like kernels.h.
#pragma once
#include <cstdint>

namespace ganops::cuda {

void monitor_add_mean(double* values, int64_t slots, int64_t fields, int64_t field, const float* x, int64_t n);
void monitor_next_iteration(double* values, int64_t slots, int64_t fields);

}  // namespace ganops::cuda
