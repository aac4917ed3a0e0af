#include "loader.h"

#include <algorithm>
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
      depth_(std::max(2, 2 * options.workers) + 1), next_to_claim_(first_batch), next_to_serve_(first_batch),
      slots_(size_t(depth_)), slot_batch_(size_t(depth_), -1) {
    GANOPS_CHECK(end_batch * options.batch_size <= int64_t(order_.size()), "BatchLoader: batch ", end_batch,
                 " runs past the ", order_.size(), " samples");
    if (options.device == Device::CUDA) {
        // The ring, allocated once on the caller's stream (the one next() is called on).
        const Shape shape{options.batch_size, options.channels, options.image_size, options.image_size};
        for (int i = 0; i < depth_; ++i) {
            pinned_.push_back(std::make_unique<cuda::PinnedBuffer>(size_t(shape.numel()) * sizeof(float)));
            device_.push_back(Tensor::empty(shape, DType::F32, Device::CUDA));
            uploaded_.push_back(std::make_unique<cuda::Event>());
            released_.push_back(std::make_unique<cuda::Event>());
        }
        ever_uploaded_.assign(size_t(depth_), false);
        // The ring's blocks come from the caller's stream, whose earlier work (a previous
        // owner's kernels, the allocation's poison fill) may still touch them: the first
        // copies wait for it, as later ones wait for the caller's work on the slot.
        for (const auto& e : released_) e->record(cuda::current_stream());
        ever_released_.assign(size_t(depth_), true);
    }
    for (int w = 0; w < std::max(1, options.workers); ++w) workers_.emplace_back([this] { work(); });
}

BatchLoader::~BatchLoader() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    for (std::thread& t : workers_) t.join();
    // The workers' streams are done (destroy_stream waits for them); the device batches go
    // back to the caller's stream, whose work on the last one is ordered before any reuse.
}

void BatchLoader::work() {
    const bool gpu = options_.device == Device::CUDA;
    cuda::Stream stream = nullptr;
    try {
        // Each worker uploads on its own stream, so copies overlap the caller's stream.
        if (gpu) stream = cuda::create_stream();
        const int64_t per_sample = options_.channels * options_.image_size * options_.image_size;
        const size_t batch_bytes = size_t(options_.batch_size * per_sample) * sizeof(float);
        for (;;) {
            int64_t b;
            bool wait_upload = false, wait_release = false;
            {
                std::unique_lock<std::mutex> lock(mutex_);
                if (stopping_ || error_ || next_to_claim_ >= end_batch_) break;
                b = next_to_claim_++;
                // Slot b % depth_ is free once the batch after its previous one has been
                // asked for: the caller has queued all its work on the previous one.
                changed_.wait(lock, [&] { return stopping_ || b < next_to_serve_ + depth_ - 1; });
                if (stopping_) break;
                if (gpu) {
                    wait_upload = ever_uploaded_[size_t(b % depth_)];
                    wait_release = ever_released_[size_t(b % depth_)];
                }
            }
            const size_t slot = size_t(b % depth_);
            Tensor batch;
            if (gpu) {
                // The slot's previous upload read this pinned buffer: long done by now.
                if (wait_upload && !uploaded_[slot]->done()) uploaded_[slot]->synchronize();
                float* out = static_cast<float*>(pinned_[slot]->data());
                for (int64_t i = 0; i < options_.batch_size; ++i)
                    load_sample(data_, order_[size_t(b * options_.batch_size + i)], options_, out + i * per_sample, skips_);
                // The copy overwrites the device batch after the caller's kernels that read
                // its previous contents, and the caller's next kernels run after the copy.
                if (wait_release) released_[slot]->wait(stream);
                cuda::copy_to_device_async(device_[slot].data_ptr(), *pinned_[slot], batch_bytes, stream);
                uploaded_[slot]->record(stream);
                batch = device_[slot];
            } else {
                batch = Tensor::empty({options_.batch_size, options_.channels, options_.image_size, options_.image_size});
                float* out = batch.data<float>();
                for (int64_t i = 0; i < options_.batch_size; ++i)
                    load_sample(data_, order_[size_t(b * options_.batch_size + i)], options_, out + i * per_sample, skips_);
            }
            {
                std::lock_guard<std::mutex> lock(mutex_);
                slots_[slot] = batch;
                slot_batch_[slot] = b;
                if (gpu) ever_uploaded_[slot] = true;
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
    slots_[slot] = Tensor();
    slot_batch_[slot] = -1;
    if (batch.device() == Device::CUDA) {
        // Our kernels read the batch after its copy, on the device: no host wait.
        uploaded_[slot]->wait(cuda::current_stream());
        // The caller has queued all its work on the batch it held: its slot may be refilled
        // after that work.
        if (held_slot_ >= 0) {
            released_[size_t(held_slot_)]->record(cuda::current_stream());
            ever_released_[size_t(held_slot_)] = true;
        }
        held_slot_ = int64_t(slot);
    }
    ++next_to_serve_;
    lock.unlock();
    changed_.notify_all();
    return batch;
}

}  // namespace dcgan
