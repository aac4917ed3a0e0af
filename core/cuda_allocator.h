// A caching allocator for device memory. cudaMalloc and cudaFree synchronise the device and
// cost tens of microseconds, so blocks freed by tensors are kept and handed out again;
// a training loop that allocates the same sizes every iteration reaches a steady state
// with no cudaMalloc at all (allocator_stats().device_allocations stops growing).
#pragma once
#include <cstddef>
#include <cstdint>

namespace ganops::cuda {

struct AllocatorStats {
    size_t bytes_in_use = 0;       // held by live tensors (rounded sizes)
    size_t peak_bytes_in_use = 0;  // since start or reset_peak_stats()
    size_t bytes_cached = 0;       // freed by tensors, kept for reuse
    int64_t device_allocations = 0;  // cudaMalloc calls made
    int64_t cache_hits = 0;          // allocations served from the cache
};

// Device memory of at least `bytes` for use on the current stream. A block is only reused
// by allocations on the stream it was last used on, so reuse never races with queued work.
// Throws ganops::Error when the device is out of memory even after emptying the cache.
void* allocate(size_t bytes);
void release(void* ptr) noexcept;

AllocatorStats allocator_stats();
void reset_peak_stats();
void empty_cache();  // returns every cached block to the driver

}  // namespace ganops::cuda
