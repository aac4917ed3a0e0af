// Batches for the training loop, prepared ahead of it: worker threads read, decode, resize
// and (on a GPU) upload whole batches while the current one trains, so that the loop only
// waits when decoding is slower than training. On a GPU each worker decodes into pinned host
// memory (two buffers, used in turn) and uploads on its own stream without waiting; an event
// recorded after the copy orders the training stream's use of the batch after it, and is
// checked before the worker writes that pinned buffer again.
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
    // decoded; rethrows a worker's error. On a GPU the batch is uploaded on a worker's stream:
    // work the caller queues on its current stream from now on runs after the upload (an
    // event, no host wait), and the batch is recorded on that stream (Tensor::record_stream),
    // so its memory is reused only after the work queued there until it is freed has
    // finished, whenever the caller drops it.
    ganops::Tensor next();

private:
    void work();

    const Dataset& data_;
    LoaderOptions options_;
    std::vector<int64_t> order_;
    SkipLog& skips_;
    int64_t end_batch_;
    int depth_;  // batches in flight at most

    std::mutex mutex_;
    std::condition_variable changed_;
    int64_t next_to_claim_, next_to_serve_;
    std::vector<ganops::Tensor> slots_;  // batch b waits in slots_[b % depth_]
    std::vector<std::shared_ptr<ganops::cuda::Event>> uploaded_;  // recorded after its upload (GPU)
    std::vector<int64_t> slot_batch_;
    std::exception_ptr error_;
    bool stopping_ = false;
    std::vector<std::thread> workers_;
};

}  // namespace dcgan
