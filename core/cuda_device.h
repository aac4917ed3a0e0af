// The GPU as the rest of the library sees it: is there one, which stream work goes to,
// and byte copies between host and device. Public headers never include cuda_runtime.h,
// so programs linking libganops need no CUDA headers; Stream is cudaStream_t by another name.
#pragma once
#include <cstddef>

#include "device.h"

struct CUstream_st;

namespace ganops::cuda {

using Stream = CUstream_st*;  // identical to cudaStream_t; nullptr is the legacy default stream

// True when a CUDA device can be used. Any error from the runtime (no driver, no device,
// a build without CUDA) means "no GPU", never an exception.
bool available();

// The stream this thread enqueues GPU work on. Starts as the default stream.
Stream current_stream();
void set_current_stream(Stream stream);

// Makes `stream` current for a scope and restores the previous one after it.
class StreamGuard {
public:
    explicit StreamGuard(Stream stream) : previous_(current_stream()) { set_current_stream(stream); }
    ~StreamGuard() { set_current_stream(previous_); }
    StreamGuard(const StreamGuard&) = delete;
    StreamGuard& operator=(const StreamGuard&) = delete;

private:
    Stream previous_;
};

Stream create_stream();  // a non-blocking stream: no implicit order with the default stream
// Waits for the stream's work, returns the memory the caching allocator keeps for it to the
// driver (cuda_allocator.h), then destroys it.
void destroy_stream(Stream stream);
void synchronize_stream(Stream stream);

// Copies `bytes` between any two devices, ordered on the current stream. Returns once the
// destination can be read from the host when the destination is host memory.
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);


// Fills `bytes` of device memory with 0xFF (NaN as floats) on the current stream.
void poison_bytes(void* dst, size_t bytes);

}  // namespace ganops::cuda
