#include "loader.h"

#include <cstdio>

namespace dcgan {

using namespace ganops;

void SkipLog::record(const std::string& name, const std::string& message) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!seen_.insert(name).second) return;
    if (seen_.size() <= size_t(kWarnings))
        std::fprintf(stderr, "warning: skipping an unreadable image: %s%s\n", message.c_str(),
                     seen_.size() == size_t(kWarnings) ? " (further ones are only counted)" : "");
}

int64_t SkipLog::count() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return int64_t(seen_.size());
}

void load_sample(const Dataset& data, int64_t index, const LoaderOptions& o, float* out, SkipLog& skips) {
    constexpr int kMaxConsecutive = 64;
    for (int attempt = 0; attempt < kMaxConsecutive; ++attempt) {
        const int64_t i = (index + attempt) % data.size();
        try {
            resize_crop_normalise(data.load(i), o.image_size, o.channels, out);
            return;
        } catch (const DecodeError& e) {
            skips.record(data.name(i), e.what());
        }
    }
    throw std::runtime_error("the dataset has " + std::to_string(kMaxConsecutive) +
                             " unreadable images in a row, starting at " + data.name(index) + ": is it corrupt?");
}

BatchLoader::BatchLoader(const Dataset& data, const LoaderOptions& options, std::vector<int64_t> order, int64_t first_batch,
                         int64_t end_batch, SkipLog& skips)
    : data_(data), options_(options), order_(std::move(order)), skips_(skips), end_batch_(end_batch),
      depth_(std::max(2, 2 * options.workers)), next_to_claim_(first_batch), next_to_serve_(first_batch),
      slots_(size_t(depth_)), uploaded_(size_t(depth_)), slot_batch_(size_t(depth_), -1) {
    GANOPS_CHECK(end_batch * options.batch_size <= int64_t(order_.size()), "BatchLoader: batch ", end_batch,
                 " runs past the ", order_.size(), " samples");
    for (int w = 0; w < std::max(1, options.workers); ++w) workers_.emplace_back([this] { work(); });
}

BatchLoader::~BatchLoader() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    for (std::thread& t : workers_) t.join();
}

void BatchLoader::work() {
    const bool gpu = options_.device == Device::CUDA;
    cuda::Stream stream = nullptr;
    try {
        // Each worker uploads on its own stream, so copies overlap the compute stream.
        if (gpu) stream = cuda::create_stream();
        const int64_t per_sample = options_.channels * options_.image_size * options_.image_size;
        const size_t batch_bytes = size_t(options_.batch_size * per_sample) * sizeof(float);
        // Two pinned buffers in turn, each with the event of the last upload that read it.
        std::vector<std::unique_ptr<cuda::PinnedBuffer>> pinned;
        std::vector<std::shared_ptr<cuda::Event>> read_by(2);
        if (gpu)
            for (int i = 0; i < 2; ++i) pinned.push_back(std::make_unique<cuda::PinnedBuffer>(batch_bytes));
        int turn = 0;
        for (;;) {
            int64_t b;
            {
                std::unique_lock<std::mutex> lock(mutex_);
                if (stopping_ || error_ || next_to_claim_ >= end_batch_) break;
                b = next_to_claim_++;
                // Slot b % depth_ is free once batch b - depth_ has been served.
                changed_.wait(lock, [&] { return stopping_ || b < next_to_serve_ + depth_; });
                if (stopping_) break;
            }
            const Shape shape{options_.batch_size, options_.channels, options_.image_size, options_.image_size};
            Tensor batch;
            std::shared_ptr<cuda::Event> uploaded;
            if (gpu) {
                turn ^= 1;
                // The upload two batches ago read this buffer: almost always done by now.
                if (read_by[size_t(turn)] && !read_by[size_t(turn)]->done()) read_by[size_t(turn)]->synchronize();
                float* out = static_cast<float*>(pinned[size_t(turn)]->data());
                for (int64_t i = 0; i < options_.batch_size; ++i)
                    load_sample(data_, order_[size_t(b * options_.batch_size + i)], options_, out + i * per_sample, skips_);
                cuda::StreamGuard on(stream);
                batch = Tensor::empty(shape, DType::F32, Device::CUDA);
                cuda::copy_to_device_async(batch.data_ptr(), *pinned[size_t(turn)], batch_bytes, stream);
                uploaded = std::make_shared<cuda::Event>();
                uploaded->record(stream);
                read_by[size_t(turn)] = uploaded;
            } else {
                batch = Tensor::empty(shape);
                float* out = batch.data<float>();
                for (int64_t i = 0; i < options_.batch_size; ++i)
                    load_sample(data_, order_[size_t(b * options_.batch_size + i)], options_, out + i * per_sample, skips_);
            }
            {
                std::lock_guard<std::mutex> lock(mutex_);
                slots_[size_t(b % depth_)] = batch;
                uploaded_[size_t(b % depth_)] = uploaded;
                slot_batch_[size_t(b % depth_)] = b;
            }
            changed_.notify_all();
        }
    } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_) error_ = std::current_exception();
        changed_.notify_all();
    }
    if (stream) cuda::destroy_stream(stream);
}

Tensor BatchLoader::next() {
    std::unique_lock<std::mutex> lock(mutex_);
    GANOPS_CHECK(next_to_serve_ < end_batch_, "BatchLoader: no batch left");
    const size_t slot = size_t(next_to_serve_ % depth_);
    changed_.wait(lock, [&] { return error_ || slot_batch_[slot] == next_to_serve_; });
    if (slot_batch_[slot] != next_to_serve_) std::rethrow_exception(error_);
    Tensor batch = slots_[slot];
    const std::shared_ptr<cuda::Event> uploaded = std::move(uploaded_[slot]);
    slots_[slot] = Tensor();
    slot_batch_[slot] = -1;
    ++next_to_serve_;
    lock.unlock();
    changed_.notify_all();
    // Uploaded on a worker's stream: our work waits for the copy on the device. Allocated
    // there, read on ours: without record_stream, the worker's next allocation could take
    // the memory back while our kernels still read it.
    if (batch.device() == Device::CUDA) {
        if (uploaded) uploaded->wait(cuda::current_stream());
        batch.record_stream(cuda::current_stream());
    }
    return batch;
}

}  // namespace dcgan
