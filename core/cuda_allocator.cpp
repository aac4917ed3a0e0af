#include "cuda_allocator.h"

#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "cuda_check.h"
#include "cuda_device.h"

namespace ganops::cuda {
namespace {

constexpr size_t kSmallLimit = size_t{1} << 20;  // below: 512-byte granules
constexpr size_t kLargeGranule = size_t{2} << 20;

// Few distinct sizes keep the cache small and make exact reuse likely from one training
// iteration to the next.
size_t rounded(size_t bytes) {
    if (bytes == 0) bytes = 1;
    const size_t granule = bytes < kSmallLimit ? 512 : kLargeGranule;
    return (bytes + granule - 1) / granule * granule;
}

struct Block {
    size_t size;
    Stream stream;
};

struct Cache {
    std::mutex mutex;
    std::unordered_map<void*, Block> in_use;
    std::multimap<std::pair<Stream, size_t>, void*> free_blocks;
    AllocatorStats stats;

    void free_all_cached() {
        for (auto& [key, ptr] : free_blocks) cudaFree(ptr);
        free_blocks.clear();
        stats.bytes_cached = 0;
    }
};

// Never destroyed: tensors with static lifetime may release memory during exit.
Cache& cache() {
    static Cache* instance = new Cache;
    return *instance;
}

}  // namespace

void* allocate(size_t bytes) {
    const size_t size = rounded(bytes);
    const Stream stream = current_stream();
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);

    // Smallest cached block on this stream that fits without wasting more than half of it.
    auto it = c.free_blocks.lower_bound({stream, size});
    if (it != c.free_blocks.end() && it->first.first == stream && it->first.second <= 2 * size) {
        void* ptr = it->second;
        const size_t block_size = it->first.second;
        c.free_blocks.erase(it);
        c.stats.bytes_cached -= block_size;
        c.in_use[ptr] = Block{block_size, stream};
        c.stats.bytes_in_use += block_size;
        c.stats.cache_hits++;
        if (c.stats.bytes_in_use > c.stats.peak_bytes_in_use) c.stats.peak_bytes_in_use = c.stats.bytes_in_use;
        return ptr;
    }

    void* ptr = nullptr;
    cudaError_t status = cudaMalloc(&ptr, size);
    if (status == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        c.free_all_cached();
        status = cudaMalloc(&ptr, size);
    }
    if (status != cudaSuccess) {
        cudaGetLastError();
        fail("cuda allocator: cannot allocate ", bytes, " bytes (", cudaGetErrorString(status),
             "); in use by tensors: ", c.stats.bytes_in_use, " bytes");
    }
    c.stats.device_allocations++;
    c.in_use[ptr] = Block{size, stream};
    c.stats.bytes_in_use += size;
    if (c.stats.bytes_in_use > c.stats.peak_bytes_in_use) c.stats.peak_bytes_in_use = c.stats.bytes_in_use;
    return ptr;
}

void release(void* ptr) noexcept {
    if (!ptr) return;
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.in_use.find(ptr);
    if (it == c.in_use.end()) return;  // not ours: never hand foreign memory out again
    const Block block = it->second;
    c.in_use.erase(it);
    c.stats.bytes_in_use -= block.size;
    c.stats.bytes_cached += block.size;
    c.free_blocks.insert({{block.stream, block.size}, ptr});
}

AllocatorStats allocator_stats() {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    return c.stats;
}

void reset_peak_stats() {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    c.stats.peak_bytes_in_use = c.stats.bytes_in_use;
}

void empty_cache() {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    c.free_all_cached();
}

}  // namespace ganops::cuda
