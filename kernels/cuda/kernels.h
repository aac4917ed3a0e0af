// CUDA kernels, launched on the current stream (core/cuda_device.h). Declared without CUDA
// types so host code can call them; each mirrors a CPU function of the same name.
#pragma once
#include <cstdint>

namespace ganops::cuda {

// Every element set to `value`.
void fill(float* out, int64_t n, float value);
void fill(double* out, int64_t n, double value);

// The Philox streams of core/philox.h, bit for bit the CPU's philox::uniform_fill and
// philox::normal_fill.
void uniform_fill(float* out, int64_t n, uint64_t seed, uint64_t offset, float low, float high);
void uniform_fill(double* out, int64_t n, uint64_t seed, uint64_t offset, float low, float high);
void normal_fill(float* out, int64_t n, uint64_t seed, uint64_t offset, float mean, float stddev);
void normal_fill(double* out, int64_t n, uint64_t seed, uint64_t offset, float mean, float stddev);

}  // namespace ganops::cuda
