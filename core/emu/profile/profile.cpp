// The emulator's profiling mode (see ../profile.h for what it counts and by which rules).
// Compiled into ganops_emu_profile only (cmake/ganops_profile.cmake), never instrumented itself.
//
// How it works:
//  - The kernels of ganops_emu_profile (and of programs built with ganops_profile_instrument) are
//    compiled with -fsanitize=thread but linked without libtsan: this file defines the calls GCC
//    inserts (__tsan_readN/__tsan_writeN for every load and store, __tsan_atomic* for atomics).
//    While no profiled block runs on the calling OS thread they return at once (one thread-local
//    load); otherwise the access of the running CUDA thread is classified by address (global:
//    inside a device allocation, from a snapshot taken at launch; shared: the block's dynamic
//    shared memory or the thread-local storage of any module, where the emulated build puts static
//    __shared__ variables; anything else is local and only counted) and appended to that thread's
//    log with its instruction address and its "epoch" (the thread's count of __syncthreads and
//    full-warp collectives, which every lane of a warp passes together).
//  - At the end of the block, for each warp, the executions of one instruction by its lanes are
//    matched into warp-level accesses: the k-th execution in an epoch by each lane. A lane that
//    skipped an instruction in some iterations (a predicated load at a border) would shift that
//    pairing, so where some lane may have skipped executions, they are numbered instead by how
//    many executions of an anchor precede them: a basic block (the instrumentation also calls
//    __sanitizer_cov_trace_pc at every one) or access that every lane of the epoch executed
//    equally often, at least as often as any lane executed this instruction, and that gives
//    distinct numbers in every lane: a block of the innermost loop around it, in effect, and
//    so the loop iteration.
//  - Each warp-level access is then counted (sectors, wavefronts), blocks are summed into their
//    launch, and launches into one record per kernel name.
#include "../profile.h"

#include <dlfcn.h>
#include <link.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

namespace ganops_emu::profile {

uint64_t SiteRecord::excess() const {
    if (space == "global") return sectors > ideal_sectors ? sectors - ideal_sectors : 0;
    return wavefronts > ideal_wavefronts ? wavefronts - ideal_wavefronts : 0;
}

double KernelRecord::global_load_efficiency() const {
    return global_load_sectors ? double(global_load_ideal_sectors) / double(global_load_sectors) : 1.0;
}
double KernelRecord::global_store_efficiency() const {
    return global_store_sectors ? double(global_store_ideal_sectors) / double(global_store_sectors) : 1.0;
}

namespace {

using hook::Op;
enum Space : uint8_t { kGlobal = 0, kShared = 1, kControl = 2 };  // kControl: a basic block entered
// Keys of call sites (ptx.cuh) have this bit; instruction addresses never do.
constexpr uint64_t kSiteFlag = uint64_t{1} << 61;

struct Access {
    uint64_t key;  // instruction address, or call site | kSiteFlag
    uintptr_t addr;
    uint32_t size;
    uint32_t epoch;
    Op op;
    uint8_t space;
};

struct ThreadLog {
    std::vector<Access> log;
    uint32_t epoch = 0;
    int paused = 0;
    uint64_t local = 0;
};

struct Range {
    uintptr_t lo;
    size_t bytes;
    bool contains(uintptr_t a) const { return a - lo < bytes; }
};

struct SiteStats {
    uint64_t key = 0;  // key << 2 | space
    Op op = Op::Load;
    uint64_t instructions = 0, requested = 0, sectors = 0, wavefronts = 0, ideal = 0;
    void add(const SiteStats& o) {
        op = o.op;
        instructions += o.instructions;
        requested += o.requested;
        sectors += o.sectors;
        wavefronts += o.wavefronts;
        ideal += o.ideal;
    }
};

// uint64 -> uint32, open addressing. clear() is O(1): a slot is in use only if its stamp is the
// current generation (the tables are cleared once per warp and barrier, and stay large).
class FlatMap {
public:
    void clear() {
        used_ = 0;
        if (++generation_ == 0) {  // wrapped: forget every stamp
            std::fill(stamps_.begin(), stamps_.end(), 0);
            generation_ = 1;
        }
    }
    // The value of `key`, inserting `fresh` if absent (then inserted = true).
    uint32_t get(uint64_t key, uint32_t fresh, bool& inserted) {
        if ((used_ + 1) * 2 > keys_.size()) grow();
        size_t i = slot(key);
        while (stamps_[i] == generation_) {
            if (keys_[i] == key) {
                inserted = false;
                return values_[i];
            }
            i = (i + 1) & (keys_.size() - 1);
        }
        stamps_[i] = generation_;
        keys_[i] = key;
        values_[i] = fresh;
        used_++;
        inserted = true;
        return fresh;
    }

private:
    size_t slot(uint64_t key) const { return size_t((key * 0x9E3779B97F4A7C15ull) >> shift_); }
    void grow() {
        std::vector<uint64_t> old_keys = std::move(keys_);
        std::vector<uint32_t> old_values = std::move(values_), old_stamps = std::move(stamps_);
        const uint32_t old_generation = generation_;
        const size_t n = old_keys.empty() ? 64 : old_keys.size() * 2;
        keys_.assign(n, 0);
        values_.assign(n, 0);
        stamps_.assign(n, 0);
        generation_ = 1;
        shift_ = 64 - __builtin_ctzll(n);
        used_ = 0;
        bool inserted;
        for (size_t i = 0; i < old_keys.size(); ++i)
            if (old_stamps[i] == old_generation) get(old_keys[i], old_values[i], inserted);
    }
    std::vector<uint64_t> keys_;
    std::vector<uint32_t> values_, stamps_;
    uint32_t generation_ = 1;
    size_t used_ = 0;
    int shift_ = 58;
};

// A warp-level access being assembled.
struct Group {
    uint32_t site;
    uint32_t mask;
    uintptr_t addr[32];
    uint32_t size[32];
};

// Executions of one instruction (site) in one epoch by the lanes of a warp.
struct EpochCount {
    uint32_t site, epoch;
    uint32_t min_count = ~0u, max_count = 0, mask = 0;
    uint32_t current = 0;
    int lane = -1;  // while counting: the lane being counted; after: 1 if uniform, else 0
    void finish_lane() {
        if (lane >= 0) {
            min_count = std::min(min_count, current);
            max_count = std::max(max_count, current);
        }
    }
};

// ---- a launch: one at a time (the runtime's run_grid holds its grid mutex) ----
struct LaunchState {
    std::atomic<bool> active{false};
    const LaunchConfig* config = nullptr;
    size_t type = 0;                 // of the launch's body: tells template instantiations apart
    std::vector<Range> allocations;  // sorted by start
    std::mutex mutex;                // blocks merge under it
    KernelRecord counters;
    std::unordered_set<uint64_t> read_sectors, write_sectors;
    std::unordered_map<uint64_t, SiteStats> sites;
};
LaunchState& launch_state() {
    static auto* s = new LaunchState;
    return *s;
}

// ---- the records: one per GANOPS_LAUNCH statement (per instantiation, in a template) ----
struct Records {
    std::mutex mutex;
    std::vector<KernelRecord> records;
    std::vector<std::unordered_map<uint64_t, SiteStats>> sites;  // parallel to records
    std::map<std::pair<std::string, size_t>, size_t> index;      // (name, launch type) -> record
    std::map<std::string, int> instances;                        // name -> records of that name
    std::unordered_map<uint64_t, std::string> site_names;        // call sites (ptx.cuh)
    // `type`: the type of the launch's body, one per GANOPS_LAUNCH statement and, in a template
    // (e.g. the GEMM's run<Problem>), per instantiation. Records of one name: "name #2", ...
    size_t find(const std::string& kernel, size_t type = 0) {
        auto [it, inserted] = index.emplace(std::make_pair(kernel, type), records.size());
        if (inserted) {
            const int n = ++instances[kernel];
            records.emplace_back();
            records.back().kernel = n == 1 ? kernel : kernel + " #" + std::to_string(n);
            sites.emplace_back();
        }
        return it->second;
    }
};
Records& records() {
    static auto* r = new Records;
    return *r;
}

std::atomic<bool> on{false};

void add_numbers(KernelRecord& into, const KernelRecord& from) {
    into.launches += from.launches;
    into.blocks += from.blocks;
    into.threads += from.threads;
    into.global_load_instructions += from.global_load_instructions;
    into.global_store_instructions += from.global_store_instructions;
    into.global_atomic_instructions += from.global_atomic_instructions;
    into.global_load_sectors += from.global_load_sectors;
    into.global_store_sectors += from.global_store_sectors;
    into.global_atomic_sectors += from.global_atomic_sectors;
    into.global_load_requested_bytes += from.global_load_requested_bytes;
    into.global_store_requested_bytes += from.global_store_requested_bytes;
    into.global_load_ideal_sectors += from.global_load_ideal_sectors;
    into.global_store_ideal_sectors += from.global_store_ideal_sectors;
    into.dram_read_bytes += from.dram_read_bytes;
    into.dram_write_bytes += from.dram_write_bytes;
    into.dram_read_bytes_per_block_sum += from.dram_read_bytes_per_block_sum;
    into.dram_write_bytes_per_block_sum += from.dram_write_bytes_per_block_sum;
    into.shared_load_instructions += from.shared_load_instructions;
    into.shared_store_instructions += from.shared_store_instructions;
    into.shared_atomic_instructions += from.shared_atomic_instructions;
    into.shared_load_wavefronts += from.shared_load_wavefronts;
    into.shared_load_ideal_wavefronts += from.shared_load_ideal_wavefronts;
    into.shared_store_wavefronts += from.shared_store_wavefronts;
    into.shared_store_ideal_wavefronts += from.shared_store_ideal_wavefronts;
    for (int i = 0; i < 3; ++i) {
        into.shared_instructions_by_width[i] += from.shared_instructions_by_width[i];
        into.shared_wavefronts_by_width[i] += from.shared_wavefronts_by_width[i];
        into.shared_ideal_wavefronts_by_width[i] += from.shared_ideal_wavefronts_by_width[i];
    }
    into.ldmatrix_instructions += from.ldmatrix_instructions;
    into.ldmatrix_wavefronts += from.ldmatrix_wavefronts;
    into.ldmatrix_ideal_wavefronts += from.ldmatrix_ideal_wavefronts;
    into.cp_async_instructions += from.cp_async_instructions;
    into.local_accesses += from.local_accesses;
    into.mma_instructions += from.mma_instructions;
    into.mma_flops += from.mma_flops;
    into.extra_flops += from.extra_flops;
    into.barriers += from.barriers;
    into.dropped_accesses += from.dropped_accesses;
}

// The thread-local storage of every module, as this OS thread sees it: static __shared__
// variables live there in the emulated build.
std::vector<Range> tls_ranges() {
    std::vector<Range> ranges;
    dl_iterate_phdr(
        [](dl_phdr_info* info, size_t size, void* data) {
            if (size < offsetof(dl_phdr_info, dlpi_tls_data) + sizeof(void*) || !info->dlpi_tls_data) return 0;
            for (int i = 0; i < info->dlpi_phnum; ++i)
                if (info->dlpi_phdr[i].p_type == PT_TLS && info->dlpi_phdr[i].p_memsz)
                    static_cast<std::vector<Range>*>(data)->push_back(
                        {reinterpret_cast<uintptr_t>(info->dlpi_tls_data), size_t(info->dlpi_phdr[i].p_memsz)});
            return 0;
        },
        &ranges);
    return ranges;
}

// The most log entries a block keeps between two barriers (512 MiB); beyond, accesses are dropped
// (and counted): a kernel that makes more without a __syncthreads is not profiled in full.
constexpr uint64_t kMaxEntries = uint64_t{1} << 24;

// ---- a block: one at a time per OS thread ----
struct BlockState {
    const LaunchConfig* config = nullptr;
    unsigned count = 0;
    Range dynamic{0, 0};
    std::vector<ThreadLog> threads;
    std::vector<Range> tls;
    bool tls_known = false;
    Range last_allocation{0, 0};
    KernelRecord counters;
    // aggregation
    FlatMap site_index;  // key << 2 | space -> site
    std::vector<SiteStats> sites;
    std::vector<uint64_t> read_sectors, write_sectors;
    std::vector<uint32_t> site_of, ordinal;  // per access of the warp, lanes one after another
    std::vector<uint32_t> lane_begin;        // 33 offsets into the above
    std::vector<uint32_t> lane_epoch, lane_count;  // per site, while one lane is walked
    std::vector<uint64_t> lane_stamp;
    uint64_t lane_serial = 0;
    FlatMap count_index;                     // site << 32 | epoch -> EpochCount
    std::vector<EpochCount> counts;
    std::vector<uint32_t> by_epoch;
    std::vector<uint32_t> epoch_lanes;  // epoch -> lanes with an access in it
    FlatMap group_index;
    std::vector<Group> groups;

    bool classify(uintptr_t a, uint8_t& space) {
        if (dynamic.contains(a)) return space = kShared, true;
        for (const Range& r : tls)
            if (r.contains(a)) return space = kShared, true;
        if (last_allocation.contains(a)) return space = kGlobal, true;
        const std::vector<Range>& all = launch_state().allocations;
        auto it = std::upper_bound(all.begin(), all.end(), a, [](uintptr_t v, const Range& r) { return v < r.lo; });
        if (it != all.begin() && std::prev(it)->contains(a)) {
            last_allocation = *std::prev(it);
            return space = kGlobal, true;
        }
        return false;
    }

    unsigned arrived = 0;      // threads at the current barrier
    uint64_t entries = 0;      // in the logs (bounded by kMaxEntries)
    uint32_t first_epoch = 0;  // the lowest epoch in the warp being aggregated
    void flush();              // aggregates the logs so far and empties them
    void finish();             // at the end of the block
    void aggregate_warp(unsigned base, unsigned lanes);
    bool number_by_anchor(const EpochCount& c, const EpochCount& anchor);
    unsigned warp_base = 0;
    void evaluate(const Group& g);
};

__attribute__((tls_model("initial-exec"))) thread_local BlockState* active_block = nullptr;
__attribute__((tls_model("initial-exec"))) thread_local BlockState* own_block = nullptr;

inline ThreadLog* current_log() {
    BlockState* b = active_block;
    if (__builtin_expect(b == nullptr, 1)) return nullptr;
    ThreadCtx* t = current_thread_or_null();
    return t ? &b->threads[t->linear] : nullptr;
}

inline void access(uintptr_t pc, const volatile void* p, unsigned size, Op op) {
    BlockState* b = active_block;
    if (__builtin_expect(b == nullptr, 1)) return;
    ThreadCtx* t = current_thread_or_null();
    if (!t) return;
    ThreadLog& log = b->threads[t->linear];
    if (log.paused) return;
    const uintptr_t a = reinterpret_cast<uintptr_t>(p);
    uint8_t space;
    if (!b->classify(a, space)) log.local++;
    else if (b->entries++ < kMaxEntries) log.log.push_back({pc, a, size, log.epoch, op, space});
    else b->counters.dropped_accesses++;
}

void distinct(std::vector<uint64_t>& v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
}

// Runs when every thread of the block has reached a barrier (and at the end of the block): every
// warp-level access made so far is complete. Keeps the logs short in long kernels.
void BlockState::flush() {
    for (unsigned base = 0; base < count; base += 32) aggregate_warp(base, std::min(32u, count - base));
    entries = 0;
    for (unsigned i = 0; i < count; ++i) {
        std::vector<Access>& log = threads[i].log;
        if (log.capacity() > (size_t{1} << 16)) std::vector<Access>().swap(log);  // keep no huge buffers
        else log.clear();
    }
    if (read_sectors.size() > (size_t{1} << 20)) distinct(read_sectors);
    if (write_sectors.size() > (size_t{1} << 20)) distinct(write_sectors);
}

void BlockState::finish() {
    flush();
    for (unsigned i = 0; i < count; ++i) counters.local_accesses += threads[i].local;
    distinct(read_sectors);
    distinct(write_sectors);
    counters.dram_read_bytes_per_block_sum += 32 * uint64_t(read_sectors.size());
    counters.dram_write_bytes_per_block_sum += 32 * uint64_t(write_sectors.size());
}

inline void control(uintptr_t pc) {
    BlockState* b = active_block;
    if (__builtin_expect(b == nullptr, 1)) return;
    ThreadCtx* t = current_thread_or_null();
    if (!t) return;
    ThreadLog& log = b->threads[t->linear];
    if (log.paused || b->entries++ >= kMaxEntries) return;
    log.log.push_back({pc, 0, 0, log.epoch, Op::Load, kControl});
}

void BlockState::aggregate_warp(unsigned base, unsigned lanes) {
    warp_base = base;
    // 1. Sites, and each access's ordinal: its lane's k-th execution of the site in the epoch.
    site_of.clear();
    ordinal.clear();
    lane_begin.assign(1, 0);
    first_epoch = ~0u;
    for (unsigned l = 0; l < lanes; ++l) {
        if (!threads[base + l].log.empty()) first_epoch = std::min(first_epoch, threads[base + l].log.front().epoch);
        ++lane_serial;  // lane_epoch and lane_count hold only this lane's values where lane_stamp says so
        for (const Access& a : threads[base + l].log) {
            bool inserted;
            const uint32_t s = site_index.get(a.key << 2 | a.space, uint32_t(sites.size()), inserted);
            if (inserted) {
                sites.emplace_back();
                sites.back().key = a.key << 2 | a.space;
                sites.back().op = a.op;
                lane_epoch.push_back(0);
                lane_count.push_back(0);
                lane_stamp.push_back(0);
            }
            if (lane_stamp[s] != lane_serial || lane_epoch[s] != a.epoch) {
                lane_stamp[s] = lane_serial;
                lane_epoch[s] = a.epoch;
                lane_count[s] = 0;
            }
            site_of.push_back(s);
            ordinal.push_back(lane_count[s]++);
        }
        lane_begin.push_back(uint32_t(site_of.size()));
    }
    if (site_of.empty()) return;
    // 2. How often each lane executed each site in each epoch.
    count_index.clear();
    counts.clear();
    epoch_lanes.clear();
    for (unsigned l = 0; l < lanes; ++l)
        for (uint32_t i = lane_begin[l]; i < lane_begin[l + 1]; ++i) {
            const Access& a = threads[base + l].log[i - lane_begin[l]];
            bool inserted;
            const uint32_t c =
                count_index.get(uint64_t(site_of[i]) << 32 | a.epoch, uint32_t(counts.size()), inserted);
            if (inserted) {
                counts.emplace_back();
                counts.back().site = site_of[i];
                counts.back().epoch = a.epoch;
            }
            EpochCount& e = counts[c];
            if (e.lane != int(l)) {
                e.finish_lane();
                e.lane = int(l);
                e.current = 0;
                e.mask |= 1u << l;
            }
            e.current++;
            if (a.epoch - first_epoch >= epoch_lanes.size()) epoch_lanes.resize(a.epoch - first_epoch + 1, 0);
            epoch_lanes[a.epoch - first_epoch] |= 1u << l;
        }
    for (EpochCount& e : counts) {
        e.finish_lane();
        e.lane = e.min_count == e.max_count && e.mask == epoch_lanes[e.epoch - first_epoch] ? 1 : 0;  // 1: uniform
    }
    // 3. Where some lanes skipped executions of a site (a predicated access in a loop), number
    // them by an anchor instead (see the top of this file): a uniform site of the same epoch that
    // every lane executed at least as often, fewest executions first.
    by_epoch.resize(counts.size());
    for (uint32_t i = 0; i < counts.size(); ++i) by_epoch[i] = i;
    std::sort(by_epoch.begin(), by_epoch.end(), [&](uint32_t x, uint32_t y) {
        const EpochCount &a = counts[x], &b = counts[y];
        if (a.epoch != b.epoch) return a.epoch < b.epoch;
        if (a.lane != b.lane) return a.lane > b.lane;  // uniform first
        return a.max_count != b.max_count ? a.max_count < b.max_count : x < y;
    });
    for (size_t i = 0; i < by_epoch.size();) {
        size_t j = i, uniform_end = i;
        while (j < by_epoch.size() && counts[by_epoch[j]].epoch == counts[by_epoch[i]].epoch) ++j;
        while (uniform_end < j && counts[by_epoch[uniform_end]].lane == 1) ++uniform_end;
        const uint32_t most = uniform_end > i ? counts[by_epoch[uniform_end - 1]].max_count : 0;
        for (size_t k = i; k < j; ++k) {
            const EpochCount& e = counts[by_epoch[k]];
            if ((sites[e.site].key & 3) == kControl) continue;
            const bool uniform = e.lane == 1;
            if (uniform ? most <= e.min_count : most < e.max_count) continue;  // no anchor to learn from
            for (size_t a = i; a < uniform_end; ++a) {
                const EpochCount& anchor = counts[by_epoch[a]];
                if (anchor.site == e.site || anchor.max_count < e.max_count) continue;
                if (uniform && anchor.max_count == e.max_count) continue;
                if (number_by_anchor(e, anchor)) break;
            }
        }
        i = j;
    }
    // 4. Warp-level accesses: the lanes' executions with the same site, epoch and ordinal.
    group_index.clear();
    size_t group_count = 0;  // groups[0, group_count): this warp's (the vector is kept, not cleared)
    for (unsigned l = 0; l < lanes; ++l)
        for (uint32_t i = lane_begin[l]; i < lane_begin[l + 1]; ++i) {
            const Access& a = threads[base + l].log[i - lane_begin[l]];
            if (a.space == kControl) continue;  // only an anchor
            const uint64_t key = uint64_t(site_of[i]) << 44 | uint64_t(a.epoch & 0xFFFFFF) << 20 | (ordinal[i] & 0xFFFFF);
            bool inserted;
            const uint32_t g = group_index.get(key, uint32_t(group_count), inserted);
            if (inserted) {
                if (group_count == groups.size()) groups.resize(groups.size() * 2 + 64);
                groups[group_count].site = site_of[i];
                groups[group_count].mask = 0;  // (addr and size are read only for lanes in mask)
                group_count++;
            }
            Group& grp = groups[g];
            grp.mask |= 1u << l;
            grp.addr[l] = a.addr;
            grp.size[l] = a.size;
        }
    for (size_t g = 0; g < group_count; ++g) evaluate(groups[g]);
}

// Renumbers the executions of c.site in c.epoch by the executions of `anchor` (a site every
// lane of the epoch executed equally often): an execution after j of the anchor's gets ordinal j.
// Only if that gives distinct ordinals in every lane; returns whether it did.
bool BlockState::number_by_anchor(const EpochCount& c, const EpochCount& anchor) {
    for (int pass = 0; pass < 2; ++pass) {  // check every lane, then renumber
        for (unsigned l = 0; l < 32; ++l) {
            if (!(c.mask >> l & 1u)) continue;
            // The lane's accesses in the epoch: a contiguous run of its log (epochs only grow).
            const std::vector<Access>& log = threads[warp_base + l].log;
            const auto lo = std::lower_bound(log.begin(), log.end(), c.epoch,
                                             [](const Access& a, uint32_t e) { return a.epoch < e; });
            uint32_t seen = 0;
            int64_t last = -1;
            for (auto it = lo; it != log.end() && it->epoch == c.epoch; ++it) {
                const uint32_t flat = lane_begin[l] + uint32_t(it - log.begin());
                if (site_of[flat] == anchor.site) {
                    seen++;
                } else if (site_of[flat] == c.site) {
                    if (int64_t(seen) <= last) return false;
                    last = seen;
                    if (pass == 1) ordinal[flat] = seen;
                }
            }
        }
    }
    return true;
}

void BlockState::evaluate(const Group& g) {
    SiteStats& s = sites[g.site];
    const bool global = (s.key & 3) == kGlobal;
    s.instructions++;
    KernelRecord& c = counters;
    if (global) {
        uint64_t sectors[128];
        std::vector<uint64_t> more;
        unsigned n = 0;
        uint64_t requested = 0;
        for (unsigned l = 0; l < 32; ++l) {
            if (!(g.mask >> l & 1u) || g.size[l] == 0) continue;
            requested += g.size[l];
            for (uint64_t x = g.addr[l] >> 5; x <= (g.addr[l] + g.size[l] - 1) >> 5; ++x) {
                if (n < 128) sectors[n++] = x;
                else more.push_back(x);
            }
        }
        more.insert(more.end(), sectors, sectors + n);
        std::sort(more.begin(), more.end());
        more.erase(std::unique(more.begin(), more.end()), more.end());
        const uint64_t count = more.size();
        // The fewest sectors that could hold the distinct bytes asked for (lanes asking for the
        // same bytes, a broadcast, need them once).
        std::pair<uint64_t, uint64_t> ranges[32];
        unsigned r = 0;
        for (unsigned l = 0; l < 32; ++l)
            if ((g.mask >> l & 1u) && g.size[l]) ranges[r++] = {g.addr[l], g.addr[l] + g.size[l]};
        std::sort(ranges, ranges + r);
        uint64_t distinct = 0, covered = 0;
        for (unsigned i = 0; i < r; ++i) {
            const uint64_t begin = std::max(ranges[i].first, covered);
            if (ranges[i].second > begin) distinct += ranges[i].second - begin;
            covered = std::max(covered, ranges[i].second);
        }
        const uint64_t ideal = (distinct + 31) / 32;
        s.sectors += count;
        s.ideal += ideal;
        s.requested += requested;
        switch (s.op) {
            case Op::Load:
            case Op::CpAsyncRead:
                c.global_load_instructions++;
                c.global_load_sectors += count;
                c.global_load_ideal_sectors += ideal;
                c.global_load_requested_bytes += requested;
                if (s.op == Op::CpAsyncRead) c.cp_async_instructions++;
                read_sectors.insert(read_sectors.end(), more.begin(), more.end());
                break;
            case Op::Store:
            case Op::CpAsyncWrite:  // (cp.async never writes global memory)
                c.global_store_instructions++;
                c.global_store_sectors += count;
                c.global_store_ideal_sectors += ideal;
                c.global_store_requested_bytes += requested;
                write_sectors.insert(write_sectors.end(), more.begin(), more.end());
                break;
            case Op::Atomic:
            case Op::Ldmatrix:
                c.global_atomic_instructions++;
                c.global_atomic_sectors += count;
                read_sectors.insert(read_sectors.end(), more.begin(), more.end());
                write_sectors.insert(write_sectors.end(), more.begin(), more.end());
                break;
        }
        return;
    }
    if (s.op == Op::Atomic) {
        c.shared_atomic_instructions++;
        return;
    }
    // Shared: 4-byte accesses in one part of 32 lanes, 8-byte in half-warps, 16-byte in quarters.
    uint32_t width = 0;
    for (unsigned l = 0; l < 32; ++l)
        if (g.mask >> l & 1u) width = std::max(width, g.size[l]);
    const unsigned part = width <= 4 ? 32 : width <= 8 ? 16 : 8;
    uint64_t wavefronts = 0, ideal = 0;
    for (unsigned p = 0; p < 32; p += part) {
        uint64_t words[128];
        std::vector<uint64_t> more;
        unsigned n = 0;
        for (unsigned l = p; l < p + part; ++l) {
            if (!(g.mask >> l & 1u) || g.size[l] == 0) continue;
            for (uint64_t w = g.addr[l] >> 2; w <= (g.addr[l] + g.size[l] - 1) >> 2; ++w) {
                if (n < 128) words[n++] = w;
                else more.push_back(w);
            }
        }
        if (n == 0) continue;
        more.insert(more.end(), words, words + n);
        std::sort(more.begin(), more.end());
        more.erase(std::unique(more.begin(), more.end()), more.end());
        unsigned per_bank[32] = {};
        unsigned worst = 0;
        for (uint64_t w : more) worst = std::max(worst, ++per_bank[w & 31]);
        wavefronts += worst;
        ideal += 1;
    }
    s.wavefronts += wavefronts;
    s.ideal += ideal;
    const int w = width <= 4 ? 0 : width <= 8 ? 1 : 2;
    switch (s.op) {
        case Op::Ldmatrix:
            c.ldmatrix_instructions++;
            c.ldmatrix_wavefronts += wavefronts;
            c.ldmatrix_ideal_wavefronts += ideal;
            return;
        case Op::Load:
        case Op::CpAsyncRead:  // (cp.async never reads shared memory)
            c.shared_load_instructions++;
            c.shared_load_wavefronts += wavefronts;
            c.shared_load_ideal_wavefronts += ideal;
            break;
        case Op::Store:
        case Op::CpAsyncWrite:
        case Op::Atomic:
            c.shared_store_instructions++;
            c.shared_store_wavefronts += wavefronts;
            c.shared_store_ideal_wavefronts += ideal;
            break;
    }
    c.shared_instructions_by_width[w]++;
    c.shared_wavefronts_by_width[w] += wavefronts;
    c.shared_ideal_wavefronts_by_width[w] += ideal;
}

// ---- names of sites ----
uint64_t site_key(const std::source_location& where) {
    uint64_t h = reinterpret_cast<uintptr_t>(where.file_name()) * 0x9E3779B97F4A7C15ull;
    h ^= (uint64_t(where.line()) << 20 | where.column()) * 0xC2B2AE3D27D4EB4Full;
    h ^= h >> 29;
    return (h & (kSiteFlag - 1)) | kSiteFlag;
}

void name_site(uint64_t key, const std::source_location& where) {
    thread_local std::unordered_set<uint64_t> known;
    if (!known.insert(key).second) return;
    const char* file = where.file_name();
    if (const char* slash = std::strrchr(file, '/')) file = slash + 1;
    std::lock_guard<std::mutex> lock(records().mutex);
    records().site_names.emplace(key, std::string(file) + ":" + std::to_string(where.line()));
}

// Names of instruction addresses: "file:line (module+0xoffset)" where addr2line finds a line
// (the profiling build compiles kernels with -g1), else "module+0xoffset". Cached; call with
// records().mutex held.
std::unordered_map<uint64_t, std::string>& address_names() {
    static auto* m = new std::unordered_map<uint64_t, std::string>;
    return *m;
}

void name_addresses(const std::vector<uint64_t>& keys) {
    struct Where {
        uint64_t key;
        uintptr_t offset;
        std::string module;
    };
    std::map<std::string, std::vector<Where>> by_path;
    for (uint64_t key : keys) {
        if ((key & kSiteFlag) || address_names().count(key)) continue;
        Dl_info info{};
        const uintptr_t pc = uintptr_t(key) - 1;  // a return address: the call is just before it
        if (!dladdr(reinterpret_cast<void*>(pc), &info) || !info.dli_fname) {
            address_names()[key] = "?";
            continue;
        }
        std::string path = info.dli_fname;
        if (path.empty()) path = "/proc/self/exe";
        const char* slash = std::strrchr(info.dli_fname, '/');
        by_path[path].push_back({key, pc - reinterpret_cast<uintptr_t>(info.dli_fbase), slash ? slash + 1 : info.dli_fname});
    }
    for (auto& [path, wheres] : by_path) {
        std::vector<std::string> lines;
        if (path.find_first_of("'\"$`\\") == std::string::npos) {
            std::string command = "addr2line -e '" + path + "'";
            char hex[32];
            for (const Where& w : wheres) {
                std::snprintf(hex, sizeof hex, " 0x%" PRIxPTR, w.offset);
                command += hex;
            }
            command += " 2>/dev/null";
            if (FILE* pipe = popen(command.c_str(), "r")) {
                char line[4096];
                while (std::fgets(line, sizeof line, pipe)) {
                    std::string text = line;
                    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
                    if (const size_t d = text.find(" (discriminator"); d != std::string::npos) text.erase(d);
                    lines.push_back(text);
                }
                pclose(pipe);
            }
        }
        for (size_t i = 0; i < wheres.size(); ++i) {
            char text[64];
            std::snprintf(text, sizeof text, "+0x%" PRIxPTR, wheres[i].offset);
            std::string name = wheres[i].module + text;
            if (i < lines.size() && lines.size() == wheres.size() && lines[i].rfind("??", 0) != 0) {
                std::string where = lines[i];
                if (const size_t slash = where.rfind('/'); slash != std::string::npos) where = where.substr(slash + 1);
                name = where + " (" + name + ")";
            }
            address_names()[wheres[i].key] = name;
        }
    }
}

std::string describe_site(uint64_t key) {
    auto& names = key & kSiteFlag ? records().site_names : address_names();
    auto it = names.find(key);
    return it == names.end() ? "?" : it->second;
}

const char* op_name(Op op) {
    switch (op) {
        case Op::Load: return "load";
        case Op::Store: return "store";
        case Op::Atomic: return "atomic";
        case Op::Ldmatrix: return "ldmatrix";
        case Op::CpAsyncRead:
        case Op::CpAsyncWrite: return "cp.async";
    }
    return "?";
}

std::string bytes_text(double b) {
    char text[32];
    if (b < 1024) std::snprintf(text, sizeof text, "%.0f B", b);
    else if (b < 1024.0 * 1024) std::snprintf(text, sizeof text, "%.1f KiB", b / 1024);
    else if (b < 1024.0 * 1024 * 1024) std::snprintf(text, sizeof text, "%.2f MiB", b / (1024.0 * 1024));
    else std::snprintf(text, sizeof text, "%.2f GiB", b / (1024.0 * 1024 * 1024));
    return text;
}

void print_at_exit() {
    const std::string table = markdown(report(), 5);
    const char* path = std::getenv("GANOPS_EMU_PROFILE_OUT");
    if (path && *path) {
        if (FILE* f = std::fopen(path, "w")) {
            std::fputs(table.c_str(), f);
            std::fclose(f);
            return;
        }
    }
    std::fprintf(stderr, "ganops emulator profile:\n%s", table.c_str());
}

struct EnvironmentStart {
    EnvironmentStart() {
        const char* v = std::getenv("GANOPS_EMU_PROFILE");
        if (v && *v && std::strcmp(v, "0") != 0) {
            start();
            std::atexit(print_at_exit);
        }
    }
} environment_start;

}  // namespace

// ---------------------------------------------------------------------------------------
// API
// ---------------------------------------------------------------------------------------
bool available() { return true; }

void start() {
    {
        std::lock_guard<std::mutex> lock(records().mutex);
        records().records.clear();
        records().sites.clear();
        records().index.clear();
        records().instances.clear();
    }
    on = true;
}

void stop() { on = false; }
bool running() { return on; }

void add_flops(const std::string& kernel, double flops) {
    std::lock_guard<std::mutex> lock(records().mutex);
    records().records[records().find(kernel)].extra_flops += flops;
}

std::vector<KernelRecord> report() {
    std::lock_guard<std::mutex> lock(records().mutex);
    std::vector<KernelRecord> out = records().records;
    std::vector<uint64_t> keys;
    for (const auto& sites : records().sites)
        for (const auto& [key, s] : sites)
            if ((key & 3) != kControl) keys.push_back(key >> 2);
    name_addresses(keys);
    for (size_t i = 0; i < out.size(); ++i) {
        for (const auto& [key, s] : records().sites[i]) {
            if ((key & 3) == kControl) continue;
            SiteRecord r;
            r.site = describe_site(key >> 2);
            r.op = op_name(s.op);
            r.space = (key & 3) == kGlobal ? "global" : "shared";
            r.instructions = s.instructions;
            r.requested_bytes = s.requested;
            if ((key & 3) == kGlobal) r.ideal_sectors = s.ideal;
            else r.ideal_wavefronts = s.ideal;
            r.sectors = s.sectors;
            r.wavefronts = s.wavefronts;
            out[i].sites.push_back(std::move(r));
        }
        std::stable_sort(out[i].sites.begin(), out[i].sites.end(), [](const SiteRecord& a, const SiteRecord& b) {
            return a.excess() != b.excess() ? a.excess() > b.excess() : a.instructions > b.instructions;
        });
    }
    return out;
}

std::string markdown(const std::vector<KernelRecord>& records, int sites) {
    std::ostringstream s;
    auto ratio = [](uint64_t a, uint64_t b) {
        char text[32];
        if (b == 0) return std::string("-");
        std::snprintf(text, sizeof text, "%.2f", double(a) / double(b));
        return std::string(text);
    };
    auto percent = [](double x) {
        char text[32];
        std::snprintf(text, sizeof text, "%.1f%%", 100 * x);
        return std::string(text);
    };
    auto escape = [](std::string text) {
        for (size_t i = 0; (i = text.find('|', i)) != std::string::npos; i += 2) text.replace(i, 1, "\\|");
        return text;
    };
    s << "| kernel | launches | blocks/launch | global ld | sectors/ld | ld eff. | global st | sectors/st | st eff. "
         "| DRAM rd/launch | DRAM wr/launch | DRAM rd+wr/launch, per block | shared ld | ld wavefronts (min) "
         "| shared st | st wavefronts (min) | ldmatrix | ldmatrix wavefronts (min) | mma | GFLOP/launch (mma + given) "
         "| barriers/block | local accesses |\n";
    s << "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const KernelRecord& r : records) {
        const double launches = double(std::max<uint64_t>(r.launches, 1));
        char gflop[32];
        std::snprintf(gflop, sizeof gflop, "%.4g", (r.mma_flops + r.extra_flops) / launches / 1e9);
        s << "| " << escape(r.kernel) << " | " << r.launches << " | " << ratio(r.blocks, r.launches) << " | "
          << r.global_load_instructions << " | " << ratio(r.global_load_sectors, r.global_load_instructions) << " | "
          << (r.global_load_sectors ? percent(r.global_load_efficiency()) : "-") << " | " << r.global_store_instructions
          << " | " << ratio(r.global_store_sectors, r.global_store_instructions) << " | "
          << (r.global_store_sectors ? percent(r.global_store_efficiency()) : "-") << " | "
          << bytes_text(double(r.dram_read_bytes) / launches) << " | " << bytes_text(double(r.dram_write_bytes) / launches)
          << " | " << bytes_text(double(r.dram_read_bytes_per_block_sum + r.dram_write_bytes_per_block_sum) / launches)
          << " | " << r.shared_load_instructions << " | " << r.shared_load_wavefronts << " (" << r.shared_load_ideal_wavefronts
          << ") | " << r.shared_store_instructions << " | " << r.shared_store_wavefronts << " ("
          << r.shared_store_ideal_wavefronts << ") | " << r.ldmatrix_instructions << " | " << r.ldmatrix_wavefronts << " ("
          << r.ldmatrix_ideal_wavefronts << ") | " << r.mma_instructions << " | " << gflop << " | "
          << ratio(r.barriers, r.blocks) << " | " << r.local_accesses << " |\n";
    }
    for (const KernelRecord& r : records)
        if (r.dropped_accesses)
            s << "\n" << escape(r.kernel) << ": " << r.dropped_accesses
              << " accesses not counted (more than 16M log entries in a block between two barriers).\n";
    if (sites > 0) {
        std::ostringstream rows;
        for (const KernelRecord& r : records) {
            int shown = 0;
            for (const SiteRecord& site : r.sites) {
                if (shown++ == sites || site.excess() == 0) break;
                std::string where = site.site;
                if (where.size() > 120) where = where.substr(0, 117) + "...";
                rows << "| " << escape(r.kernel) << " | " << escape(where) << " | " << site.op << " | " << site.space
                     << " | " << site.instructions << " | " << site.requested_bytes << " | " << site.sectors << " ("
                     << site.ideal_sectors << ") | "
                     << site.wavefronts << " (" << site.ideal_wavefronts << ") | " << site.excess() << " |\n";
            }
        }
        if (rows.str().empty()) {
            s << "\nNo instruction touches more sectors, or needs more wavefronts, than the minimum.\n";
        } else {
            s << "\nWorst instructions (excess: sectors or wavefronts beyond the minimum):\n\n";
            s << "| kernel | instruction | op | space | executions | requested bytes | sectors (min) | wavefronts (min) "
                 "| excess |\n";
            s << "|---|---|---|---|---:|---:|---:|---:|---:|\n";
            s << rows.str();
        }
    }
    return s.str();
}

// ---------------------------------------------------------------------------------------
// Hooks
// ---------------------------------------------------------------------------------------
namespace hook {

void launch_begin(const LaunchConfig& config, const std::function<void()>& body) {
    LaunchState& L = launch_state();
    if (!on) return;
    L.config = &config;
    L.type = body.target_type().hash_code();
    L.allocations.clear();
    for (const auto& [start, bytes] : device_allocations_snapshot()) L.allocations.push_back({start, bytes});
    L.counters = KernelRecord{};
    L.read_sectors.clear();
    L.write_sectors.clear();
    L.sites.clear();
    L.active = true;
}

void launch_end() {
    LaunchState& L = launch_state();
    if (!L.active) return;
    L.active = false;
    L.counters.launches = 1;
    L.counters.dram_read_bytes = 32 * uint64_t(L.read_sectors.size());
    L.counters.dram_write_bytes = 32 * uint64_t(L.write_sectors.size());
    Records& R = records();
    std::lock_guard<std::mutex> lock(R.mutex);
    const size_t i = R.find(L.config->kernel, L.type);
    add_numbers(R.records[i], L.counters);
    for (const auto& [key, s] : L.sites) R.sites[i][key].add(s);
}

void block_begin(const LaunchConfig& config, unsigned threads, const void* dynamic_shared, size_t dynamic_bytes) {
    if (!launch_state().active.load(std::memory_order_relaxed)) return;
    if (!own_block) own_block = new BlockState;  // one per OS thread, kept for its lifetime
    BlockState& b = *own_block;
    b.config = &config;
    b.count = threads;
    b.dynamic = {reinterpret_cast<uintptr_t>(dynamic_shared), dynamic_bytes};
    if (b.threads.size() < threads) b.threads.resize(threads);
    for (unsigned i = 0; i < threads; ++i) {
        b.threads[i].log.clear();
        b.threads[i].epoch = 0;
        b.threads[i].paused = 0;
        b.threads[i].local = 0;
    }
    if (!b.tls_known) {
        b.tls = tls_ranges();
        b.tls_known = true;
    }
    b.last_allocation = {0, 0};
    b.arrived = 0;
    b.entries = 0;
    b.site_index.clear();
    b.sites.clear();
    b.lane_epoch.clear();
    b.lane_count.clear();
    b.lane_stamp.clear();
    b.read_sectors.clear();
    b.write_sectors.clear();
    b.counters = KernelRecord{};
    b.counters.blocks = 1;
    b.counters.threads = threads;
    active_block = &b;
}

void block_end() {
    BlockState* b = active_block;
    if (!b) return;
    active_block = nullptr;
    b->finish();
    LaunchState& L = launch_state();
    std::lock_guard<std::mutex> lock(L.mutex);
    add_numbers(L.counters, b->counters);
    L.read_sectors.insert(b->read_sectors.begin(), b->read_sectors.end());
    L.write_sectors.insert(b->write_sectors.begin(), b->write_sectors.end());
    for (const SiteStats& s : b->sites)
        if ((s.key & 3) != kControl) L.sites[s.key].add(s);
}

void barrier() {
    BlockState* b = active_block;
    if (!b) return;
    ThreadCtx* t = current_thread_or_null();
    if (!t) return;
    b->threads[t->linear].epoch++;
    if (t->linear == 0) b->counters.barriers++;  // thread 0 takes part in every barrier
    if (++b->arrived == b->count) {  // every thread is at the barrier: aggregate what came before
        b->arrived = 0;
        active_block = nullptr;  // (nothing the aggregation runs may be recorded)
        b->flush();
        active_block = b;
    }
}

void warp_collective(unsigned mask) {
    BlockState* b = active_block;
    if (!b) return;
    ThreadCtx* t = current_thread_or_null();
    if (!t) return;
    const unsigned base = t->warp * 32, lanes = std::min(32u, b->count - base);
    const unsigned full = lanes == 32 ? ~0u : (1u << lanes) - 1;
    if (mask == full) b->threads[t->linear].epoch++;
}

void record(std::source_location site, Op op, const void* address, unsigned bytes) {
    BlockState* b = active_block;
    if (!b) return;
    ThreadCtx* t = current_thread_or_null();
    if (!t) return;
    const uint64_t key = site_key(site);
    name_site(key, site);
    ThreadLog& log = b->threads[t->linear];
    const uint8_t space = op == Op::CpAsyncRead ? kGlobal : kShared;
    if (b->entries++ < kMaxEntries) log.log.push_back({key, reinterpret_cast<uintptr_t>(address), bytes, log.epoch, op, space});
    else b->counters.dropped_accesses++;
}

void mma(double flops) {
    BlockState* b = active_block;
    if (!b) return;
    ThreadCtx* t = current_thread_or_null();
    if (!t || t->lane != 0) return;
    b->counters.mma_instructions++;
    b->counters.mma_flops += flops;
}

void pause() {
    if (ThreadLog* log = current_log()) log->paused++;
}
void resume() {
    if (ThreadLog* log = current_log()) log->paused--;
}

}  // namespace hook
}  // namespace ganops_emu::profile

// ---------------------------------------------------------------------------------------
// What GCC's -fsanitize=thread calls (the ThreadSanitizer runtime's interface, which this
// replaces: never link libtsan with ganops_emu_profile).
// ---------------------------------------------------------------------------------------
using ganops_emu::profile::hook::Op;
#define GANOPS_PC reinterpret_cast<uintptr_t>(__builtin_return_address(0))

extern "C" {
#define GANOPS_TSAN_ACCESS(n)                                                                                  \
    __attribute__((visibility("default"))) void __tsan_read##n(void* p) {                                     \
        ganops_emu::profile::access(GANOPS_PC, p, n, Op::Load);                                                \
    }                                                                                                          \
    __attribute__((visibility("default"))) void __tsan_write##n(void* p) {                                    \
        ganops_emu::profile::access(GANOPS_PC, p, n, Op::Store);                                               \
    }                                                                                                          \
    __attribute__((visibility("default"))) void __tsan_unaligned_read##n(void* p) {                           \
        ganops_emu::profile::access(GANOPS_PC, p, n, Op::Load);                                                \
    }                                                                                                          \
    __attribute__((visibility("default"))) void __tsan_unaligned_write##n(void* p) {                          \
        ganops_emu::profile::access(GANOPS_PC, p, n, Op::Store);                                               \
    }                                                                                                          \
    __attribute__((visibility("default"))) void __tsan_volatile_read##n(void* p) {                            \
        ganops_emu::profile::access(GANOPS_PC, p, n, Op::Load);                                                \
    }                                                                                                          \
    __attribute__((visibility("default"))) void __tsan_volatile_write##n(void* p) {                           \
        ganops_emu::profile::access(GANOPS_PC, p, n, Op::Store);                                               \
    }
GANOPS_TSAN_ACCESS(1)
GANOPS_TSAN_ACCESS(2)
GANOPS_TSAN_ACCESS(4)
GANOPS_TSAN_ACCESS(8)
GANOPS_TSAN_ACCESS(16)
#undef GANOPS_TSAN_ACCESS

__attribute__((visibility("default"))) void __tsan_read_range(void* p, unsigned long size) {
    ganops_emu::profile::access(GANOPS_PC, p, unsigned(size), Op::Load);
}
__attribute__((visibility("default"))) void __tsan_write_range(void* p, unsigned long size) {
    ganops_emu::profile::access(GANOPS_PC, p, unsigned(size), Op::Store);
}
// -fsanitize-coverage=trace-pc: every basic block of an instrumented kernel calls this. Logged as
// a "control" site: never counted, but a loop's blocks are the anchors that pair up the lanes'
// executions of a predicated access by iteration (see aggregate_warp).
__attribute__((visibility("default"))) void __sanitizer_cov_trace_pc() { ganops_emu::profile::control(GANOPS_PC); }
__attribute__((visibility("default"))) void __tsan_init() {}
__attribute__((visibility("default"))) void __tsan_func_entry(void*) {}
__attribute__((visibility("default"))) void __tsan_func_exit() {}
__attribute__((visibility("default"))) void __tsan_vptr_update(void**, void*) {}
__attribute__((visibility("default"))) void __tsan_vptr_read(void**) {}

// Atomics: performed here (sequentially consistent, whatever order was asked: stronger is
// allowed), and recorded as one access.
#define GANOPS_TSAN_ATOMIC(bits, T)                                                                                    \
    __attribute__((visibility("default"))) T __tsan_atomic##bits##_load(const volatile T* a, int) {                  \
        ganops_emu::profile::access(GANOPS_PC, a, sizeof(T), Op::Load);                                                \
        return __atomic_load_n(a, __ATOMIC_SEQ_CST);                                                                   \
    }                                                                                                                  \
    __attribute__((visibility("default"))) void __tsan_atomic##bits##_store(volatile T* a, T v, int) {               \
        ganops_emu::profile::access(GANOPS_PC, a, sizeof(T), Op::Store);                                               \
        __atomic_store_n(a, v, __ATOMIC_SEQ_CST);                                                                      \
    }                                                                                                                  \
    __attribute__((visibility("default"))) T __tsan_atomic##bits##_exchange(volatile T* a, T v, int) {               \
        ganops_emu::profile::access(GANOPS_PC, a, sizeof(T), Op::Atomic);                                              \
        return __atomic_exchange_n(a, v, __ATOMIC_SEQ_CST);                                                            \
    }                                                                                                                  \
    __attribute__((visibility("default"))) T __tsan_atomic##bits##_fetch_add(volatile T* a, T v, int) {              \
        ganops_emu::profile::access(GANOPS_PC, a, sizeof(T), Op::Atomic);                                              \
        return __atomic_fetch_add(a, v, __ATOMIC_SEQ_CST);                                                             \
    }                                                                                                                  \
    __attribute__((visibility("default"))) T __tsan_atomic##bits##_fetch_sub(volatile T* a, T v, int) {              \
        ganops_emu::profile::access(GANOPS_PC, a, sizeof(T), Op::Atomic);                                              \
        return __atomic_fetch_sub(a, v, __ATOMIC_SEQ_CST);                                                             \
    }                                                                                                                  \
    __attribute__((visibility("default"))) T __tsan_atomic##bits##_fetch_and(volatile T* a, T v, int) {              \
        ganops_emu::profile::access(GANOPS_PC, a, sizeof(T), Op::Atomic);                                              \
        return __atomic_fetch_and(a, v, __ATOMIC_SEQ_CST);                                                             \
    }                                                                                                                  \
    __attribute__((visibility("default"))) T __tsan_atomic##bits##_fetch_or(volatile T* a, T v, int) {               \
        ganops_emu::profile::access(GANOPS_PC, a, sizeof(T), Op::Atomic);                                              \
        return __atomic_fetch_or(a, v, __ATOMIC_SEQ_CST);                                                              \
    }                                                                                                                  \
    __attribute__((visibility("default"))) T __tsan_atomic##bits##_fetch_xor(volatile T* a, T v, int) {              \
        ganops_emu::profile::access(GANOPS_PC, a, sizeof(T), Op::Atomic);                                              \
        return __atomic_fetch_xor(a, v, __ATOMIC_SEQ_CST);                                                             \
    }                                                                                                                  \
    __attribute__((visibility("default"))) T __tsan_atomic##bits##_fetch_nand(volatile T* a, T v, int) {             \
        ganops_emu::profile::access(GANOPS_PC, a, sizeof(T), Op::Atomic);                                              \
        return __atomic_fetch_nand(a, v, __ATOMIC_SEQ_CST);                                                            \
    }                                                                                                                  \
    __attribute__((visibility("default"))) int __tsan_atomic##bits##_compare_exchange_strong(volatile T* a, T* c, T v, \
                                                                                             int, int) {               \
        ganops_emu::profile::access(GANOPS_PC, a, sizeof(T), Op::Atomic);                                              \
        return __atomic_compare_exchange_n(a, c, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);                        \
    }                                                                                                                  \
    __attribute__((visibility("default"))) int __tsan_atomic##bits##_compare_exchange_weak(volatile T* a, T* c, T v,   \
                                                                                           int, int) {                 \
        ganops_emu::profile::access(GANOPS_PC, a, sizeof(T), Op::Atomic);                                              \
        return __atomic_compare_exchange_n(a, c, v, true, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);                         \
    }                                                                                                                  \
    __attribute__((visibility("default"))) T __tsan_atomic##bits##_compare_exchange_val(volatile T* a, T c, T v, int, \
                                                                                        int) {                         \
        ganops_emu::profile::access(GANOPS_PC, a, sizeof(T), Op::Atomic);                                              \
        __atomic_compare_exchange_n(a, &c, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);                              \
        return c;                                                                                                      \
    }
GANOPS_TSAN_ATOMIC(8, char)
GANOPS_TSAN_ATOMIC(16, short)
GANOPS_TSAN_ATOMIC(32, int)
GANOPS_TSAN_ATOMIC(64, long)
#undef GANOPS_TSAN_ATOMIC

__attribute__((visibility("default"))) void __tsan_atomic_thread_fence(int) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
__attribute__((visibility("default"))) void __tsan_atomic_signal_fence(int) { __atomic_signal_fence(__ATOMIC_SEQ_CST); }
}  // extern "C"
