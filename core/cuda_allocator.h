// A caching allocator for device memory. cudaMalloc and cudaFree synchronise the device and
// cost tens of microseconds, so blocks freed by tensors are kept and handed out again;
// a training loop that allocates the same sizes every iteration reaches a steady state
// with no cudaMalloc at all (allocator_stats().device_allocations stops growing).
//
// What reuse is safe, and what this allocator assumes (PyTorch's caching allocator works
// the same way):
// - A block belongs to the stream that was current when it was allocated. Freed, it goes
//   back to that stream's pool and is handed out again at once to the next allocation on
//   the same stream: work queued later on that stream runs after the work that used it.
// - Work on any other stream is not ordered after it. Code that uses a tensor on another
//   stream says so with Tensor::record_stream(other) (record_stream below). When such a
//   block is freed, an event is recorded on each of those streams; the block returns to its
//   pool only once every one of them has completed (checked with cudaEventQuery at each
//   allocation and release, never by waiting). Without record_stream, a block read on
//   another stream can be overwritten while that stream still reads it.
// - destroy_stream(s) waits for s, returns the blocks cached for s to the driver, and
//   marks blocks still in use that were allocated on s: once freed, they go back to the
//   driver too (after the streams recorded on them are done), never to a pool of a stream
//   handle that a later create_stream may reuse.
#pragma once
#include <cstddef>
#include <cstdint>

#include "cuda_device.h"

namespace ganops::cuda {

struct AllocatorStats {
    size_t bytes_in_use = 0;       // held by live tensors (rounded sizes)
    size_t peak_bytes_in_use = 0;  // since start or reset_peak_stats()
    // What the tensors asked for, each rounded to the allocator's granule (512 bytes below
    // 1 MiB, 2 MiB above): bytes_in_use less what a larger cached block wasted on a smaller
    // request (a block serves requests down to half its size). PyTorch's
    // torch.cuda.memory_allocated counts the same (it splits blocks instead of wasting them).
    size_t bytes_requested = 0;
    size_t peak_bytes_requested = 0;  // since start or reset_peak_stats()
    size_t bytes_cached = 0;       // freed by tensors, kept for reuse (pending ones included)
    size_t bytes_pending = 0;      // of bytes_cached: waiting for recorded streams' work
    int64_t device_allocations = 0;  // cudaMalloc calls made
    int64_t cache_hits = 0;          // allocations served from the cache
};

// Device memory of at least `bytes` for use on the current stream (see above for when a
// block is reused). Throws ganops::Error when the device is out of memory even after
// emptying the cache.
void* allocate(size_t bytes);
void release(void* ptr) noexcept;

// Marks the block holding `ptr` (a pointer allocate returned) as used by work queued on
// `stream`: when it is freed, it is reused only after the work queued on `stream` until
// then has completed. No effect for the stream it was allocated on or for foreign pointers.
void record_stream(void* ptr, Stream stream);

// Called by destroy_stream once `stream` has finished its work, before the handle is
// destroyed: its cached blocks go back to the driver, and blocks in use that were
// allocated on it go back to the driver when freed.
void release_stream(Stream stream);

AllocatorStats allocator_stats();
void reset_peak_stats();
void empty_cache();  // waits for blocks pending on other streams, then returns every cached block to the driver

}  // namespace ganops::cuda
