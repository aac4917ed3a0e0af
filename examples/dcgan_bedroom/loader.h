// Batches for the training loop, prepared ahead of it: worker threads read, decode, resize
// and (on a GPU) upload whole batches while the current one trains, so that the loop only
// waits when decoding is slower than training.
//
// On a GPU the loader owns a ring of slots, each a pinned host buffer and a device batch,
// allocated once: a steady-state iteration allocates nothing and never waits on the host.
// A worker decodes batch b into slot b % depth's pinned buffer and uploads it on its own
// stream, so the copy overlaps the step that trains on the previous batch. Events order
// the three parties on the device: the caller's stream waits for the upload ("uploaded")
// before its kernels read the batch, and the worker's stream waits until the caller's work
// on the slot's previous batch has run ("released", recorded when the caller asks for the
// next batch) before the copy overwrites it. The pinned buffer is rewritten only once the
// slot's previous upload has run (checked with a query; a host wait in the worker thread
// only when it has not, which a copy of microseconds finished batches ago never is).
//
// Batches come out in order and each is a function of the sample order alone, never of
// thread timing, so a seed fixes the run and a resumed run sees the same data.
//
// Unreadable entries (corrupt, truncated, missing files) are skipped: the sample is taken
// from the next readable entry of the dataset instead, the skip is counted, and the first
// few are named in a warning.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <ganops/ganops.h>

#include "datasets.h"

namespace dcgan {

class SkipLog {
public:
    // Counts each entry once and warns for the first kWarnings of them.
    void record(const std::string& name, const std::string& message);
    int64_t count() const;  // distinct unreadable entries seen
    static constexpr int kWarnings = 5;

private:
    mutable std::mutex mutex_;
    std::set<std::string> seen_;
};

struct LoaderOptions {
    int64_t batch_size = 64, image_size = 64, channels = 3;
    int workers = 2;
    ganops::Device device = ganops::Device::CPU;
};

// Fills `out` (channels * size * size floats) with sample `index`, or with the first
// readable entry after it. Throws std::runtime_error when none of many in a row is readable.
void load_sample(const Dataset& data, int64_t index, const LoaderOptions& options, float* out, SkipLog& skips);

class BatchLoader {
public:
    // Batch b holds samples order[b * batch_size, (b + 1) * batch_size); serves batches
    // first_batch .. end_batch - 1.
    BatchLoader(const Dataset& data, const LoaderOptions& options, std::vector<int64_t> order, int64_t first_batch,
                int64_t end_batch, SkipLog& skips);
    ~BatchLoader();
    BatchLoader(const BatchLoader&) = delete;
    BatchLoader& operator=(const BatchLoader&) = delete;

    // The next batch [batch_size, channels, size, size] on the device. Blocks until it is
    // decoded; rethrows a worker's error. On a GPU the batch is the loader's memory: work the
    // caller queues on its current stream from now on runs after its upload (an event, no
    // host wait), and the work queued there until the next call to next() may read it; the
    // slot is refilled after that work (the caller must not use the batch past that call,
    // and must make every call on the same stream). On the CPU each batch is a new tensor.
    ganops::Tensor next();

private:
    void work();

    const Dataset& data_;
    LoaderOptions options_;
    std::vector<int64_t> order_;
    SkipLog& skips_;
    int64_t end_batch_;
    int depth_;  // slots: batches decoded ahead, plus the one the caller holds

    std::mutex mutex_;
    std::condition_variable changed_;
    int64_t next_to_claim_, next_to_serve_;
    std::vector<ganops::Tensor> slots_;  // batch b waits in slots_[b % depth_]
    std::vector<int64_t> slot_batch_;
    // GPU: per slot, the pinned buffer, the device batch (allocated once, on the caller's
    // stream) and the events that order its reuse (see the top of this file).
    std::vector<std::unique_ptr<ganops::cuda::PinnedBuffer>> pinned_;
    std::vector<ganops::Tensor> device_;
    std::vector<std::unique_ptr<ganops::cuda::Event>> uploaded_, released_;
    std::vector<bool> ever_uploaded_, ever_released_;
    int64_t held_slot_ = -1;  // the slot of the batch the caller holds (GPU)
    std::exception_ptr error_;
    bool stopping_ = false;
    std::vector<std::thread> workers_;
};

}  // namespace dcgan
