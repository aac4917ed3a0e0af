#include "cuda_allocator.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cuda_check.h"
#include "cuda_counters.h"
#include "cuda_graph_pool.h"
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
    Stream stream;                 // allocated on; its pool takes the block back
    bool orphan = false;           // `stream` has been destroyed: free to the driver
    std::vector<Stream> used_on;   // other streams recorded by record_stream
    size_t requested = 0;          // the rounded size asked for: at most `size`, less when a larger cached block served it
};

// A freed block waiting for the work its other streams had queued when it was freed.
struct Pending {
    void* ptr;
    Block block;
    std::vector<cudaEvent_t> events;
};

struct Cache {
    std::mutex mutex;
    std::unordered_map<void*, Block> in_use;
    std::multimap<std::pair<Stream, size_t>, void*> free_blocks;
    std::vector<Pending> pending;
    std::vector<cudaEvent_t> spare_events;
    AllocatorStats stats;

    // Graph pools (begin_graph_pool): blocks that a captured graph uses belong to it while it
    // lives, free or not, so that no tensor outside the graph gets memory a replay writes.
    Stream capturing = nullptr;
    bool capture_active = false;
    std::unordered_map<void*, Block> captured;  // allocated on `capturing` during the capture
    std::unordered_map<void*, int> graph_owner;  // block -> pool
    std::map<int, std::vector<std::pair<void*, Block>>> graph_free;  // free blocks held by each pool
    int next_pool = 1;

    void count_requested(size_t size) {
        stats.bytes_requested += size;
        stats.peak_bytes_requested = std::max(stats.peak_bytes_requested, stats.bytes_requested);
    }

    cudaEvent_t new_event() {
        if (!spare_events.empty()) {
            cudaEvent_t e = spare_events.back();
            spare_events.pop_back();
            return e;
        }
        cudaEvent_t e = nullptr;
        GANOPS_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
        return e;
    }

    // A block nobody uses any more: back to its stream's pool, or to the driver.
    void make_free(void* ptr, const Block& block) {
        if (auto owner = graph_owner.find(ptr); owner != graph_owner.end()) {
            graph_free[owner->second].emplace_back(ptr, block);
            stats.bytes_cached += block.size;
            return;
        }
        if (block.orphan) {
            cudaFree(ptr);
            return;
        }
        free_blocks.insert({{block.stream, block.size}, ptr});
        stats.bytes_cached += block.size;
    }

    // Moves pending blocks whose events have all completed to their pools. With `wait`,
    // waits for every event first.
    void collect_pending(bool wait) {
        for (size_t i = 0; i < pending.size();) {
            Pending& p = pending[i];
            bool done = true;
            for (cudaEvent_t e : p.events) {
                if (wait) count_host_sync();
                const cudaError_t status = wait ? cudaEventSynchronize(e) : cudaEventQuery(e);
                if (status == cudaErrorNotReady) {
                    cudaGetLastError();  // not an error: clear it, as cudaEventQuery may set it
                    done = false;
                    break;
                }
                // A failed event (a fault on its stream) leaves the block unusable anyway;
                // the fault itself surfaces at that stream's next checked call.
            }
            if (!done) {
                ++i;
                continue;
            }
            for (cudaEvent_t e : p.events) spare_events.push_back(e);
            stats.bytes_pending -= p.block.size;
            stats.bytes_cached -= p.block.size;
            make_free(p.ptr, p.block);
            pending[i] = std::move(pending.back());
            pending.pop_back();
        }
    }

    void free_all_cached() {
        collect_pending(true);
        for (auto& [key, ptr] : free_blocks) cudaFree(ptr);
        free_blocks.clear();
        stats.bytes_cached = 0;  // graph pools keep theirs
        for (const auto& [pool, held] : graph_free)
            for (const auto& entry : held) stats.bytes_cached += entry.second.size;
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
    if (!c.pending.empty()) c.collect_pending(false);

    // Smallest cached block on this stream that fits without wasting more than half of it.
    auto it = c.free_blocks.lower_bound({stream, size});
    if (it != c.free_blocks.end() && it->first.first == stream && it->first.second <= 2 * size) {
        void* ptr = it->second;
        const size_t block_size = it->first.second;
        c.free_blocks.erase(it);
        c.stats.bytes_cached -= block_size;
        c.in_use[ptr] = Block{block_size, stream, false, {}, size};
        if (c.capture_active && stream == c.capturing) c.captured[ptr] = c.in_use[ptr];
        c.stats.bytes_in_use += block_size;
        c.stats.cache_hits++;
        c.count_requested(size);
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
    c.in_use[ptr] = Block{size, stream, false, {}, size};
    if (c.capture_active && stream == c.capturing) c.captured[ptr] = c.in_use[ptr];
    c.stats.bytes_in_use += size;
    c.count_requested(size);
    if (c.stats.bytes_in_use > c.stats.peak_bytes_in_use) c.stats.peak_bytes_in_use = c.stats.bytes_in_use;
    return ptr;
}

void release(void* ptr) noexcept {
    if (!ptr) return;
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.in_use.find(ptr);
    if (it == c.in_use.end()) return;  // not ours: never hand foreign memory out again
    Block block = std::move(it->second);
    c.in_use.erase(it);
    c.stats.bytes_in_use -= block.size;
    c.stats.bytes_requested -= block.requested;
    if (block.used_on.empty()) {
        c.make_free(ptr, block);
    } else {
        // The work queued so far on every recorded stream must finish before reuse.
        Pending p{ptr, std::move(block), {}};
        try {
            for (Stream s : p.block.used_on) {
                cudaEvent_t e = c.new_event();
                p.events.push_back(e);
                GANOPS_CUDA_CHECK(cudaEventRecord(e, s));
            }
        } catch (...) {
            // No event to wait on (the device is in a failed state): keeping the block out
            // of every pool is the only safe choice; it is lost until the process ends.
            return;
        }
        c.stats.bytes_cached += p.block.size;
        c.stats.bytes_pending += p.block.size;
        c.pending.push_back(std::move(p));
    }
    if (!c.pending.empty()) c.collect_pending(false);
}

void record_stream(void* ptr, Stream stream) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.in_use.find(ptr);
    if (it == c.in_use.end()) return;
    Block& block = it->second;
    if ((stream == block.stream && !block.orphan) ||
        std::find(block.used_on.begin(), block.used_on.end(), stream) != block.used_on.end())
        return;
    block.used_on.push_back(stream);
}

void release_stream(Stream stream) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    // The stream has finished its work (destroy_stream synchronised it): its cached blocks
    // are idle.
    auto it = c.free_blocks.lower_bound({stream, 0});
    while (it != c.free_blocks.end() && it->first.first == stream) {
        cudaFree(it->second);
        c.stats.bytes_cached -= it->first.second;
        it = c.free_blocks.erase(it);
    }
    auto forget = [&](Block& block) {
        if (block.stream == stream) block.orphan = true;
        // Its queued work is done, and the handle is about to be invalid: nothing to record.
        std::erase(block.used_on, stream);
    };
    for (auto& [ptr, block] : c.in_use) forget(block);
    // Pending blocks keep their events (valid after the stream is gone); once those complete
    // an orphan goes to the driver.
    for (Pending& p : c.pending) forget(p.block);
}

void begin_graph_pool(Stream stream) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    GANOPS_CHECK(!c.capture_active, "cuda allocator: a graph capture is already collecting a pool");
    c.capture_active = true;
    c.capturing = stream;
    c.captured.clear();
}

int end_graph_pool() {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    GANOPS_CHECK(c.capture_active, "cuda allocator: end_graph_pool without begin_graph_pool");
    c.capture_active = false;
    const int pool = c.next_pool++;
    std::vector<std::pair<void*, Block>>& held = c.graph_free[pool];
    for (const auto& [ptr, block] : c.captured) {
        c.graph_owner[ptr] = pool;
        if (c.in_use.count(ptr)) continue;  // joins the pool when its tensor frees it
        // Free again already (a temporary of the captured work): take it out of the stream's pool.
        auto range = c.free_blocks.equal_range({block.stream, block.size});
        for (auto it = range.first; it != range.second; ++it)
            if (it->second == ptr) {
                c.free_blocks.erase(it);
                held.emplace_back(ptr, block);
                break;
            }
    }
    c.captured.clear();
    return pool;
}

void release_graph_pool(int pool) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    for (auto it = c.graph_owner.begin(); it != c.graph_owner.end();)
        it = it->second == pool ? c.graph_owner.erase(it) : std::next(it);
    auto held = c.graph_free.find(pool);
    if (held == c.graph_free.end()) return;
    for (const auto& [ptr, block] : held->second) {
        c.stats.bytes_cached -= block.size;
        c.make_free(ptr, block);
    }
    c.graph_free.erase(held);
}

AllocatorStats allocator_stats() {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    if (!c.pending.empty()) c.collect_pending(false);
    return c.stats;
}

void reset_peak_stats() {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    c.stats.peak_bytes_in_use = c.stats.bytes_in_use;
    c.stats.peak_bytes_requested = c.stats.bytes_requested;
}

void empty_cache() {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    c.free_all_cached();
}

}  // namespace ganops::cuda
