// Philox uniform and normal fills on the device. One thread per Philox block of four
// values, computing exactly what core/philox.h's host fills compute (the header's
// arithmetic cannot be contracted differently on either side), so a seed gives the same
// tensor on the CPU and the GPU.
#include "../../core/cuda_graph.h"
#include "../../core/philox.h"
#include "kernels.h"
#include "launch.cuh"

namespace ganops::cuda {

namespace {
template <class T>
__global__ void uniform_kernel(T* out, int64_t n, uint64_t seed, const uint64_t* base, uint64_t relative, float low, float high) {
    const int64_t blocks = int64_t(philox::blocks_for(n));
    const uint64_t offset = (base ? *base : 0) + relative;  // base: in a replayed graph (core/cuda_graph.h)
    for (int64_t b = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; b < blocks; b += int64_t(gridDim.x) * blockDim.x) {
        const philox::Uint4 r = philox::block_at(seed, offset + uint64_t(b));
        const int64_t i0 = 4 * b;
        for (int k = 0; k < 4 && i0 + k < n; ++k)
            out[i0 + k] = T(philox::affine(low, high - low, philox::uniform_from_bits(philox::lane(r, k))));
    }
}

template <class T>
__global__ void normal_kernel(T* out, int64_t n, uint64_t seed, const uint64_t* base, uint64_t relative, float mean, float stddev) {
    const int64_t blocks = int64_t(philox::blocks_for(n));
    const uint64_t offset = (base ? *base : 0) + relative;  // base: in a replayed graph (core/cuda_graph.h)
    for (int64_t b = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; b < blocks; b += int64_t(gridDim.x) * blockDim.x) {
        const philox::Uint4 r = philox::block_at(seed, offset + uint64_t(b));
        float z[4];
        philox::box_muller(philox::uniform_from_bits(r.x), philox::uniform_from_bits(r.y), z[0], z[1]);
        philox::box_muller(philox::uniform_from_bits(r.z), philox::uniform_from_bits(r.w), z[2], z[3]);
        const int64_t i0 = 4 * b;
        for (int k = 0; k < 4 && i0 + k < n; ++k) out[i0 + k] = T(philox::affine(mean, stddev, z[k]));
    }
}

template <class T>
void launch_uniform(T* out, int64_t n, uint64_t seed, uint64_t offset, float low, float high) {
    if (n == 0) return;
    const ReplayOffset at = replay_offset(seed, offset, philox::blocks_for(n));
    GANOPS_LAUNCH(uniform_kernel, grid_for(n, 4), kThreads, 0, current_stream())(out, n, seed, at.base, at.relative, low, high);
}

template <class T>
void launch_normal(T* out, int64_t n, uint64_t seed, uint64_t offset, float mean, float stddev) {
    if (n == 0) return;
    const ReplayOffset at = replay_offset(seed, offset, philox::blocks_for(n));
    GANOPS_LAUNCH(normal_kernel, grid_for(n, 4), kThreads, 0, current_stream())(out, n, seed, at.base, at.relative, mean, stddev);
}
}  // namespace

void uniform_fill(float* out, int64_t n, uint64_t seed, uint64_t offset, float low, float high) {
    launch_uniform(out, n, seed, offset, low, high);
}
void uniform_fill(double* out, int64_t n, uint64_t seed, uint64_t offset, float low, float high) {
    launch_uniform(out, n, seed, offset, low, high);
}
void normal_fill(float* out, int64_t n, uint64_t seed, uint64_t offset, float mean, float stddev) {
    launch_normal(out, n, seed, offset, mean, stddev);
}
void normal_fill(double* out, int64_t n, uint64_t seed, uint64_t offset, float mean, float stddev) {
    launch_normal(out, n, seed, offset, mean, stddev);
}

}  // namespace ganops::cuda
