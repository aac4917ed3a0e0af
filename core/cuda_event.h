// Ordering GPU work across streams without the host waiting, and host memory the GPU can
// copy from asynchronously: what a data loader needs to upload the next batch on its own
// stream while the current one trains (examples/dcgan_bedroom/loader.cpp).
//   - Event: recorded after work on one stream; another stream waits for it on the device
//     (wait), the host only asks (done) and waits (synchronize) where it must.
//   - PinnedBuffer: page-locked host memory (cudaHostAlloc). A copy from it is a real DMA
//     that returns at once; the buffer must not be written again until that copy has run
//     (record an Event after it and check it first).
#pragma once
#include <cstddef>

#include "cuda_device.h"

struct CUevent_st;

namespace ganops::cuda {

class Event {
public:
    Event();  // without timing: the cheapest kind
    ~Event();
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;

    void record(Stream stream);  // after the work queued on `stream` so far
    void wait(Stream stream);    // work queued on `stream` from now on runs after the recorded work; no host wait
    bool done() const;           // the recorded work has run (true when never recorded); no host wait
    void synchronize();          // the host waits for the recorded work (a host synchronisation)

private:
    CUevent_st* event_ = nullptr;
};

class PinnedBuffer {
public:
    explicit PinnedBuffer(size_t bytes);
    ~PinnedBuffer();
    PinnedBuffer(const PinnedBuffer&) = delete;
    PinnedBuffer& operator=(const PinnedBuffer&) = delete;
    void* data() const { return data_; }
    size_t size() const { return bytes_; }

private:
    void* data_ = nullptr;
    size_t bytes_ = 0;
};

// Queues a copy of `bytes` from pinned host memory to device memory on `stream` and returns
// at once (no host synchronisation, unlike copy_bytes from pageable memory).
void copy_to_device_async(void* device_dst, const PinnedBuffer& src, size_t bytes, Stream stream);

}  // namespace ganops::cuda
