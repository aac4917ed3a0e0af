// The CPU execution mode: grids on a pool of worker threads, blocks as fibers, barriers and
// warp collectives as rendezvous with the checks compute-sanitizer's synccheck makes.
// Design and costs: ../shared/CUDA_ON_CPU.md. Streams, memory and events: cuda_api.cpp.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <numeric>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "cuda_emu.h"
#include "fiber.h"
#include "profile.h"  // GANOPS_EMU_PROFILE_HOOK: the profiling mode's hooks, empty in ganops_emu
#include "runtime_internal.h"

namespace ganops_emu {

// ---------------------------------------------------------------------------------------
// Options and diagnostics
// ---------------------------------------------------------------------------------------
namespace {
const char* env(const char* name) {
    const char* v = std::getenv(name);
    return v && *v ? v : nullptr;
}
bool env_flag(const char* name) {
    const char* v = env(name);
    return v && std::strcmp(v, "0") != 0;
}

std::mutex diagnostics_mutex;
std::vector<std::string>& diagnostic_log() {
    static auto* log = new std::vector<std::string>;
    return *log;
}
}  // namespace

bool check_tf32() {
    static const bool on = env_flag("GANOPS_EMU_CHECK_TF32");
    return on;
}

MmaRounding mma_rounding() {
    static const MmaRounding mode = [] {
        const char* v = env("GANOPS_EMU_MMA_ROUNDING");
        return v && std::strcmp(v, "truncate") == 0 ? MmaRounding::Truncate : MmaRounding::Exact;
    }();
    return mode;
}

const Options& options() {
    static const Options o = [] {
        Options r;
        if (const char* v = env("GANOPS_EMU_THREADS")) r.workers = std::max(1, std::atoi(v));
        else r.workers = std::clamp(int(std::thread::hardware_concurrency()), 1, 8);
        if (const char* v = env("GANOPS_EMU_BLOCK_ORDER")) {
            // "random" or "random:<seed>": blocks run in a seeded shuffled order, so a kernel
            // whose result depends on the order in which blocks run gives a different answer.
            if (std::strncmp(v, "random", 6) == 0) {
                r.shuffle_blocks = true;
                if (v[6] == ':') r.block_seed = std::strtoull(v + 7, nullptr, 10);
            }
        }
        if (const char* v = env("GANOPS_EMU_STREAMS")) r.deferred_streams = std::strcmp(v, "deferred") == 0;
        if (const char* v = env("GANOPS_EMU_SEED")) r.stream_seed = std::strtoull(v, nullptr, 10);
        r.quiet = env_flag("GANOPS_EMU_QUIET");
        return r;
    }();
    return o;
}

void report(const std::string& message) {
    {
        std::lock_guard<std::mutex> lock(diagnostics_mutex);
        diagnostic_log().push_back(message);
    }
    if (!options().quiet) std::fprintf(stderr, "ganops emulator: %s\n", message.c_str());
}

std::vector<std::string> diagnostics() {
    std::lock_guard<std::mutex> lock(diagnostics_mutex);
    return diagnostic_log();
}

void clear_diagnostics() {
    std::lock_guard<std::mutex> lock(diagnostics_mutex);
    diagnostic_log().clear();
}

std::string last_diagnostic() {
    std::lock_guard<std::mutex> lock(diagnostics_mutex);
    return diagnostic_log().empty() ? std::string() : diagnostic_log().back();
}

// ---------------------------------------------------------------------------------------
// Blocks: CUDA threads on fibers
// ---------------------------------------------------------------------------------------
namespace {

constexpr size_t kStackBytes = size_t{256} << 10;

enum class Wait { None, Barrier, Warp };

struct ThreadRec {
    ThreadCtx ctx;
    int fiber = -1;
    bool finished = false;
    Wait wait = Wait::None;
    std::source_location site;
    // the warp collective this thread waits in
    unsigned wmask = 0;
    const char* wname = nullptr;
    WarpOp wop = nullptr;
    LaneData* wdata = nullptr;
    const void* wcontext = nullptr;
};

struct Worker;

}  // namespace

struct Block {
    const LaunchConfig* config = nullptr;
    const std::function<void()>* body = nullptr;
    Worker* worker = nullptr;
    uint3 idx{};
    unsigned count = 0;
    std::vector<ThreadRec> threads;
    std::vector<Fiber> fibers;
    bool fiber_mode = false;
    std::deque<ThreadRec*> runnable;
    unsigned barrier_arrived = 0;
    std::source_location barrier_site;
    unsigned exited = 0;
    int first_exited = -1;
    bool failed = false;
    std::vector<unsigned char> dynamic_shared;
};

namespace {

struct Worker {
    Fiber scheduler;
    std::vector<FiberStack> stacks;
    Block* block = nullptr;
    ThreadRec* current = nullptr;
    bool dirty_stacks = false;  // a fault abandoned frames on the stacks

    FiberStack& stack(size_t i) {
        while (stacks.size() <= i) stacks.emplace_back(kStackBytes);
        return stacks[i];
    }
};

thread_local Worker* this_worker = nullptr;

std::string coords(uint3 v) {
    std::ostringstream s;
    s << "(" << v.x << "," << v.y << "," << v.z << ")";
    return s.str();
}

std::string site_text(const std::source_location& where) {
    const char* file = where.file_name();
    if (const char* slash = std::strrchr(file, '/')) file = slash + 1;
    std::ostringstream s;
    s << file << ":" << where.line();
    return s.str();
}

bool same_site(const std::source_location& a, const std::source_location& b) {
    return a.line() == b.line() && (a.file_name() == b.file_name() || std::strcmp(a.file_name(), b.file_name()) == 0);
}

std::string launch_text(const Block& b) {
    std::ostringstream s;
    s << "kernel " << b.config->kernel << " (launched at " << b.config->file << ":" << b.config->line << "), block "
      << coords(b.idx);
    return s.str();
}

Worker& worker() {
    if (!this_worker) {
        std::fprintf(stderr, "ganops emulator: a device function was called outside a kernel\n");
        std::abort();
    }
    return *this_worker;
}

// Runs on the fiber: back to the scheduler; returns when this fiber is resumed.
void yield_to_scheduler() {
    Worker& w = worker();
    ThreadRec* me = w.current;
    switch_fiber(w.block->fibers[me->fiber], w.scheduler);
}

// Uninstrumented, like the fiber entry functions and switch_fiber: its frame is abandoned.
[[noreturn]] __attribute__((no_sanitize_address, noinline)) void end_fiber() {
    Worker& w = worker();
    switch_fiber(w.block->fibers[w.current->fiber], w.scheduler, true);
    __builtin_unreachable();
}

void thread_exits(Block& b, ThreadRec& t);

// A fiber that runs one CUDA thread.
__attribute__((no_sanitize_address)) void thread_entry(void* arg) {
    Worker& w = worker();
    fiber_started(w.scheduler);
    auto* t = static_cast<ThreadRec*>(arg);
    (*w.block->body)();
    thread_exits(*w.block, *t);
    end_fiber();
}

// The first fiber of a block runs its threads one after another, as plain calls, until one
// of them reaches a barrier or a warp collective: element-wise kernels never pay for more
// than one fiber per block.
__attribute__((no_sanitize_address)) void sequential_entry(void*) {
    Worker& w = worker();
    fiber_started(w.scheduler);
    Block& b = *w.block;
    for (unsigned i = 0; i < b.count; ++i) {
        ThreadRec& t = b.threads[i];
        t.fiber = 0;
        w.current = &t;
        (*b.body)();
        thread_exits(b, t);
        if (b.fiber_mode) break;  // the threads after i have fibers of their own
    }
    end_fiber();
}

// From now on every thread of the block that has not started runs on its own fiber.
void enter_fiber_mode(Block& b, ThreadRec& me) {
    if (b.fiber_mode) return;
    b.fiber_mode = true;
    Worker& w = *b.worker;
    for (unsigned i = me.ctx.linear + 1; i < b.count; ++i) {
        ThreadRec& t = b.threads[i];
        t.fiber = int(i);
        make_fiber(b.fibers[i], w.stack(i), i, &thread_entry, &t);
        b.runnable.push_back(&t);
    }
}

[[noreturn]] void fault_here(const std::string& message) {
    Worker& w = worker();
    Block& b = *w.block;
    report(launch_text(b) + ", thread " + coords(w.current->ctx.thread_idx) + ": " + message);
    b.failed = true;
    w.dirty_stacks = true;
    end_fiber();
}

void thread_exits(Block& b, ThreadRec& t) {
    t.finished = true;
    b.exited++;
    if (b.first_exited < 0) b.first_exited = int(t.ctx.linear);
    if (b.barrier_arrived > 0) {
        std::ostringstream s;
        s << "divergent barrier: this thread exited while " << b.barrier_arrived << " thread(s) of its block wait at "
          << "__syncthreads (" << site_text(b.barrier_site) << "); every thread of a block must reach each barrier";
        fault_here(s.str());
    }
    const unsigned base = t.ctx.warp * 32;
    for (unsigned l = 0; l < 32 && base + l < b.count; ++l) {
        const ThreadRec& o = b.threads[base + l];
        if (o.wait == Wait::Warp && (o.wmask >> t.ctx.lane & 1u)) {
            std::ostringstream s;
            s << "bad warp mask: lane " << t.ctx.lane << " exited while lane " << l << " waits at " << o.wname
              << " (" << site_text(o.site) << ") with mask 0x" << std::hex << o.wmask << ", which names it";
            fault_here(s.str());
        }
    }
}

std::string deadlock_text(const Block& b) {
    // Group the waiting threads by what they wait at, in thread order.
    std::ostringstream s;
    s << "deadlock: " << launch_text(b) << " can make no progress:";
    size_t i = 0;
    int groups = 0;
    while (i < b.count) {
        const ThreadRec& t = b.threads[i];
        size_t j = i + 1;
        auto same = [&](const ThreadRec& o) {
            if (o.finished != t.finished || o.wait != t.wait) return false;
            if (t.finished || t.wait == Wait::None) return true;
            return same_site(o.site, t.site) && o.wmask == t.wmask;
        };
        while (j < b.count && same(b.threads[j])) ++j;
        if (groups++ < 12) {
            s << "\n    threads " << coords(t.ctx.thread_idx) << ".." << coords(b.threads[j - 1].ctx.thread_idx) << ": ";
            if (t.finished) s << "exited";
            else if (t.wait == Wait::Barrier) s << "wait at __syncthreads (" << site_text(t.site) << ")";
            else if (t.wait == Wait::Warp)
                s << "wait at " << t.wname << " (" << site_text(t.site) << ") with mask 0x" << std::hex << t.wmask << std::dec;
            else s << "never reached a barrier";
        }
        i = j;
    }
    s << "\n  a barrier or warp collective that not every thread it names reaches (compute-sanitizer synccheck would"
      << " report this; on a GPU the kernel would hang or misbehave)";
    return s.str();
}

void run_block(Worker& w, const LaunchConfig& config, const std::function<void()>& body, uint3 idx) {
    Block b;
    b.config = &config;
    b.body = &body;
    b.worker = &w;
    b.idx = idx;
    const dim3 dim = config.block;
    b.count = dim.x * dim.y * dim.z;
    b.threads.resize(b.count);
    b.fibers.resize(b.count);
    for (unsigned i = 0; i < b.count; ++i) {
        ThreadCtx& c = b.threads[i].ctx;
        c.linear = i;
        c.thread_idx = {i % dim.x, (i / dim.x) % dim.y, i / (dim.x * dim.y)};
        c.warp = i / 32;
        c.lane = i % 32;
        c.block = &b;
    }
    if (config.shared_bytes) b.dynamic_shared.assign(config.shared_bytes, 0xFF);  // poison: NaN as floats
    GANOPS_EMU_PROFILE_HOOK(block_begin(config, b.count, b.dynamic_shared.data(), b.dynamic_shared.size()));
    if (w.dirty_stacks) {
        for (auto& s : w.stacks) forget_frames(s);
        w.dirty_stacks = false;
    }
    w.block = &b;
    make_fiber(b.fibers[0], w.stack(0), 0, &sequential_entry, nullptr);
    b.threads[0].fiber = 0;
    b.runnable.push_back(&b.threads[0]);
    while (!b.runnable.empty() && !b.failed) {
        ThreadRec* t = b.runnable.front();
        b.runnable.pop_front();
        w.current = t;
        switch_fiber(w.scheduler, b.fibers[t->fiber]);
    }
    if (!b.failed && b.exited < b.count) {
        report(deadlock_text(b));
        b.failed = true;
        w.dirty_stacks = true;
    }
    w.block = nullptr;
    w.current = nullptr;
    GANOPS_EMU_PROFILE_HOOK(block_end());
    if (b.failed) throw LaunchFault{};
}

}  // namespace

// ---------------------------------------------------------------------------------------
// What kernels call
// ---------------------------------------------------------------------------------------
ThreadCtx& this_thread() { return worker().current->ctx; }
ThreadCtx* current_thread_or_null() {
    Worker* w = this_worker;
    return w && w->current ? &w->current->ctx : nullptr;
}
uint3 thread_idx() { return worker().current->ctx.thread_idx; }
uint3 block_idx() { return worker().block->idx; }
dim3 block_dim() { return worker().block->config->block; }
dim3 grid_dim() { return worker().block->config->grid; }
void* dynamic_shared() { return worker().block->dynamic_shared.data(); }
size_t dynamic_shared_bytes() { return worker().block->dynamic_shared.size(); }

void device_fault(const std::string& message, std::source_location where) {
    fault_here(message + " (" + site_text(where) + ")");
}

void sync_threads(std::source_location where) {
    Worker& w = worker();
    Block& b = *w.block;
    ThreadRec& me = *w.current;
    GANOPS_EMU_PROFILE_HOOK(barrier());
    enter_fiber_mode(b, me);
    if (b.exited > 0) {
        fault_here("divergent barrier: __syncthreads (" + site_text(where) + ") reached after thread " +
                   coords(b.threads[b.first_exited].ctx.thread_idx) +
                   " of the block exited; every thread of a block must reach each barrier");
    }
    if (b.barrier_arrived > 0 && !same_site(b.barrier_site, where)) {
        fault_here("divergent barrier: this thread is at __syncthreads (" + site_text(where) + ") while " +
                   std::to_string(b.barrier_arrived) + " thread(s) wait at __syncthreads (" + site_text(b.barrier_site) + ")");
    }
    if (b.barrier_arrived == 0) b.barrier_site = where;
    if (++b.barrier_arrived == b.count) {
        b.barrier_arrived = 0;
        for (ThreadRec& t : b.threads)
            if (t.wait == Wait::Barrier) {
                t.wait = Wait::None;
                b.runnable.push_back(&t);
            }
        return;
    }
    me.wait = Wait::Barrier;
    me.site = where;
    yield_to_scheduler();
}

void warp_collective(unsigned mask, const char* name, LaneData& mine, WarpOp op, const void* context,
                     std::source_location where) {
    Worker& w = worker();
    Block& b = *w.block;
    ThreadRec& me = *w.current;
    GANOPS_EMU_PROFILE_HOOK(warp_collective(mask));
    enter_fiber_mode(b, me);
    const unsigned lane = me.ctx.lane, base = me.ctx.warp * 32;
    // Messages are only built on a fault: this is the emulator's hottest path.
    auto hex = [](unsigned m) {
        std::ostringstream s;
        s << "0x" << std::hex << m;
        return s.str();
    };
    auto here = [&] { return std::string(name) + " (" + site_text(where) + ") with mask " + hex(mask); };
    if (!(mask >> lane & 1u)) fault_here("bad warp mask: lane " + std::to_string(lane) + " calls " + here() + ", which does not name it");
    const unsigned last = base + 32 <= b.count ? 32 : b.count - base;
    if (last < 32 && (mask >> last) != 0)
        fault_here("bad warp mask: " + here() + " names lane " + std::to_string(31 - __builtin_clz(mask)) +
                   ", which does not exist in a block of " + std::to_string(b.count) + " threads");
    for (unsigned bits = mask; bits; bits &= bits - 1) {
        const unsigned l = unsigned(__builtin_ctz(bits));
        const ThreadRec& o = b.threads[base + l];
        if (o.wait == Wait::None && !o.finished) continue;
        if (o.finished) fault_here("bad warp mask: " + here() + " names lane " + std::to_string(l) + ", which has exited");
        if (o.wait == Wait::Warp && (o.wmask != mask || o.wop != op || (o.wname != name && std::strcmp(o.wname, name) != 0)))
            fault_here("divergent warp collective: this lane is at " + here() + " while lane " + std::to_string(l) + " waits at " +
                       o.wname + " (" + site_text(o.site) + ") with mask " + hex(o.wmask));
        if (o.wait == Wait::Barrier)
            fault_here("divergent warp collective: this lane is at " + here() + " while lane " + std::to_string(l) +
                       " waits at __syncthreads (" + site_text(o.site) + ")");
    }
    me.wait = Wait::Warp;
    me.wmask = mask;
    me.wname = name;
    me.wop = op;
    me.wdata = &mine;
    me.wcontext = context;
    me.site = where;
    for (unsigned bits = mask; bits; bits &= bits - 1)
        if (b.threads[base + unsigned(__builtin_ctz(bits))].wait != Wait::Warp) {
            yield_to_scheduler();  // the last lane to arrive runs the operation for all
            return;
        }
    LaneData* lanes[32] = {};
    for (unsigned l = 0; l < 32; ++l)
        if (mask >> l & 1u) lanes[l] = b.threads[base + l].wdata;
    op(lanes, mask, context);
    for (unsigned l = 0; l < 32; ++l) {
        if (!(mask >> l & 1u)) continue;
        ThreadRec& o = b.threads[base + l];
        o.wait = Wait::None;
        if (l != lane) b.runnable.push_back(&o);
    }
}

unsigned active_mask() {
    Worker& w = worker();
    Block& b = *w.block;
    const unsigned base = w.current->ctx.warp * 32;
    unsigned mask = 0;
    for (unsigned l = 0; l < 32 && base + l < b.count; ++l)
        if (!b.threads[base + l].finished) mask |= 1u << l;
    return mask;
}

namespace {
// The lane a shuffle reads for lane l, per the CUDA C++ Programming Guide's warp shuffle
// functions: within l's segment of `width` lanes; up/down/xor out of the segment read l.
template <ShuffleKind kind>
int shuffle_source(int l, int param, int width) {
    const int segment = l / width * width;
    switch (kind) {
        case ShuffleKind::Index: return segment + (param % width + width) % width;
        case ShuffleKind::Up: return l - param < segment ? l : l - param;
        case ShuffleKind::Down: return l + param >= segment + width ? l : l + param;
        case ShuffleKind::Xor: return (l ^ param) >= segment + width ? l : (l ^ param);
    }
    return l;
}
}  // namespace

template <ShuffleKind kind>
void shuffle_op(LaneData* const lanes[32], unsigned mask, const void*) {
    int source[32];
    for (unsigned l = 0; l < 32; ++l) {
        if (!(mask >> l & 1u)) continue;
        const LaneData& d = *lanes[l];
        const int width = int(d.in[2]);
        if (width <= 0 || width > 32 || (width & (width - 1)))
            fault_here("shuffle width " + std::to_string(width) + " is not a power of two up to 32");
        const int src = shuffle_source<kind>(int(l), int(int64_t(d.in[1])), width);
        if (src < 0 || src > 31 || !(mask >> src & 1u)) {
            std::ostringstream s;
            s << "bad warp mask: lane " << l << " reads lane " << src << " in a shuffle with mask 0x" << std::hex << mask
              << ", which does not name that lane (the value would be undefined)";
            fault_here(s.str());
        }
        source[l] = src;
    }
    // All sources read before any result is written: in and out are separate fields.
    for (unsigned l = 0; l < 32; ++l)
        if (mask >> l & 1u) lanes[l]->out[0] = lanes[source[l]]->in[0];
}
template void shuffle_op<ShuffleKind::Index>(LaneData* const[32], unsigned, const void*);
template void shuffle_op<ShuffleKind::Up>(LaneData* const[32], unsigned, const void*);
template void shuffle_op<ShuffleKind::Down>(LaneData* const[32], unsigned, const void*);
template void shuffle_op<ShuffleKind::Xor>(LaneData* const[32], unsigned, const void*);

void vote_op(LaneData* const lanes[32], unsigned mask, const void*) {
    unsigned ballot = 0;
    for (unsigned l = 0; l < 32; ++l)
        if ((mask >> l & 1u) && lanes[l]->in[0]) ballot |= 1u << l;
    for (unsigned l = 0; l < 32; ++l)
        if (mask >> l & 1u) lanes[l]->out[0] = ballot;
}

void syncwarp_op(LaneData* const[32], unsigned, const void*) {}

// ---------------------------------------------------------------------------------------
// Grids
// ---------------------------------------------------------------------------------------
namespace {

// A pool of worker threads; the launching thread works too. One grid at a time.
class Pool {
public:
    explicit Pool(int extra_workers) {
        for (int i = 0; i < extra_workers; ++i) threads_.emplace_back([this] { loop(); });
    }
    // Never destroyed (static lifetime ends with the process; workers idle on a condition).

    void run(const std::function<void()>& job, int participants) {
        std::unique_lock<std::mutex> lock(mutex_);
        job_ = &job;
        pending_ = std::min<int>(participants - 1, int(threads_.size()));
        wanted_ = pending_;
        generation_++;
        cv_.notify_all();
        lock.unlock();
        job();
        lock.lock();
        done_cv_.wait(lock, [this] { return pending_ == 0 && wanted_ == 0; });
        job_ = nullptr;
    }

private:
    void loop() {
        uint64_t seen = 0;
        std::unique_lock<std::mutex> lock(mutex_);
        for (;;) {
            cv_.wait(lock, [&] { return generation_ != seen && wanted_ > 0; });
            seen = generation_;
            wanted_--;
            const std::function<void()>* job = job_;
            lock.unlock();
            (*job)();
            lock.lock();
            if (--pending_ == 0) done_cv_.notify_all();
        }
    }

    std::mutex mutex_;
    std::condition_variable cv_, done_cv_;
    std::vector<std::thread> threads_;
    const std::function<void()>* job_ = nullptr;
    int pending_ = 0, wanted_ = 0;
    uint64_t generation_ = 0;
};

Pool& pool() {
    static Pool* p = new Pool(options().workers - 1);
    return *p;
}

std::mutex grid_mutex;

}  // namespace

bool run_grid(const LaunchConfig& config, const std::function<void()>& body) {
    std::lock_guard<std::mutex> grid_lock(grid_mutex);
    GANOPS_EMU_PROFILE_HOOK(launch_begin(config, body));
    const dim3 g = config.grid;
    const uint64_t total = uint64_t(g.x) * g.y * g.z;
    std::vector<uint64_t> order;
    if (options().shuffle_blocks) {
        order.resize(total);
        std::iota(order.begin(), order.end(), uint64_t{0});
        std::mt19937_64 rng(options().block_seed);
        std::shuffle(order.begin(), order.end(), rng);
    }
    std::atomic<uint64_t> next{0};
    std::atomic<bool> failed{false};
    const std::function<void()> job = [&] {
        thread_local Worker w;
        Worker* saved = this_worker;
        this_worker = &w;
        for (;;) {
            const uint64_t i = next.fetch_add(1);
            if (i >= total || failed.load()) break;
            const uint64_t id = order.empty() ? i : order[i];
            const uint3 idx{unsigned(id % g.x), unsigned(id / g.x % g.y), unsigned(id / (uint64_t(g.x) * g.y))};
            try {
                run_block(w, config, body, idx);
            } catch (const LaunchFault&) {
                failed = true;
            }
        }
        this_worker = saved;
    };
    const int participants = int(std::min<uint64_t>(total, uint64_t(options().workers)));
    if (participants <= 1) job();
    else pool().run(job, participants);
    GANOPS_EMU_PROFILE_HOOK(launch_end());
    return !failed.load();
}

}  // namespace ganops_emu
