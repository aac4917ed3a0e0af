// The CPU execution mode's runtime, as the shim (cuda_emu.h) and the PTX wrappers
// (kernels/cuda/ptx.cuh) see it. A launch runs its grid on a pool of worker threads, one
// block at a time per worker; the CUDA threads of a block are fibers that switch only at
// barriers and warp collectives (see ../shared/CUDA_ON_CPU.md for the design and its costs).
// Nothing here is part of the library's API: it exists in the emulated build only.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <source_location>
#include <string>
#include <utility>
#include <vector>

#include "vector_types.h"

namespace ganops_emu {

// ---- the running CUDA thread ----
struct Block;
struct ThreadCtx {
    uint3 thread_idx;
    unsigned linear = 0;  // x + y * dim.x + z * dim.x * dim.y
    unsigned warp = 0, lane = 0;
    Block* block = nullptr;
    // cp.async: copies issued but not yet performed, by commit group; the open (not yet
    // committed) group is the last one. Performed at the wait_group that retires them.
    // Empty until the thread's first cp.async (most kernels never issue one).
    struct PendingCopy {
        void* dst;
        const void* src;
        int bytes;      // bytes written to dst (4, 8 or 16)
        int src_bytes;  // bytes read from src; the rest of dst is zero-filled
    };
    std::vector<std::vector<PendingCopy>> cp_async_groups;
};

ThreadCtx& this_thread();  // only valid inside a kernel
// Profiling mode (core/emu/profile.h): the running CUDA thread, or null outside a kernel (on the
// host, between blocks); never faults. And the live device allocations, (start, bytes) sorted by
// start (cuda_api.cpp; the profiler snapshots them when a launch begins).
ThreadCtx* current_thread_or_null();
std::vector<std::pair<uintptr_t, size_t>> device_allocations_snapshot();
uint3 thread_idx();
uint3 block_idx();
dim3 block_dim();
dim3 grid_dim();
void* dynamic_shared();       // this block's dynamic shared memory (poisoned at block start)
size_t dynamic_shared_bytes();

// ---- faults: stop the launch with a diagnostic ----
// Records `message` (with block and thread coordinates prepended), abandons the running
// launch, and makes the launch report cudaErrorLaunchFailure. Never returns.
[[noreturn]] void device_fault(const std::string& message,
                               std::source_location where = std::source_location::current());
// The diagnostics of the most recent faults (launch checks, deadlocks, mask errors, ...),
// newest last; cleared by clear_diagnostics(). Also printed to stderr when they happen.
std::vector<std::string> diagnostics();
void clear_diagnostics();

// ---- barriers and warp collectives ----
void sync_threads(std::source_location where);  // __syncthreads
// Per-lane data of one warp-wide operation. Every lane in `mask` calls warp_collective with
// its own LaneData; once all of them have arrived, `op` runs once with every lane's data
// (lanes[l] is null for lanes outside mask) and fills each lane's `out`; each caller then
// returns with its own `out`. A lane in mask that has exited, a caller outside its own mask,
// or lanes arriving with different masks or operations fault with a diagnostic.
struct LaneData {
    uint64_t in[8];
    uint64_t out[8];
    const void* addr;
};
using WarpOp = void (*)(LaneData* const lanes[32], unsigned mask, const void* context);
void warp_collective(unsigned mask, const char* name, LaneData& mine, WarpOp op, const void* context,
                     std::source_location where);

// ---- options (environment, read once) ----
// GANOPS_EMU_CHECK_TF32=1: mma .tf32 operands with non-zero low 13 bits fault.
bool check_tf32();
// GANOPS_EMU_MMA_ROUNDING=exact (default) | truncate: how an emulated mma adds its products
// (exact dot product rounded once, or a truncating adder as measured on V100/T4/A100).
enum class MmaRounding { Exact, Truncate };
MmaRounding mma_rounding();

// ---- streams ----
// GANOPS_EMU_STREAMS=deferred: each stream is a queue that runs only when the host waits
// for it (or for an event on it, or a call that synchronises the device); GANOPS_EMU_SEED=n
// (n > 0) also runs other streams' work at seeded random points. Work whose order across
// streams is not fixed by events then runs in an order a GPU may choose too, and a missing
// cudaStreamWaitEvent or record_stream shows up as wrong results, reproducibly. Default:
// every call runs at once, in issue order. Tests may switch mode (the queues are drained).
void set_stream_mode(bool deferred, uint64_t seed = 0);
bool deferred_streams();

// ---- launches (kernels/cuda/launch.cuh's GANOPS_LAUNCH) ----
struct LaunchConfig {
    const char* kernel;
    const char* file;
    int line;
    dim3 grid, block;
    size_t shared_bytes;
    void* stream;
};
// Checks the configuration as the driver does and enqueues the grid on the stream (runs it
// now unless the deferred-streams mode is on). Errors surface through cudaGetLastError.
void launch(const LaunchConfig& config, std::function<void()> body);
// Raises the dynamic shared memory a kernel may launch with above 48 KiB (the emulated
// cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes)); by name.
void set_max_dynamic_shared(const char* kernel, int bytes);

template <class Body>
struct Launcher {
    LaunchConfig config;
    Body body;
    Launcher(const char* kernel, const char* file, int line, dim3 grid, dim3 block, size_t shared_bytes,
             void* stream, Body b)
        : config{kernel, file, line, grid, block, shared_bytes, stream}, body(b) {}
    // Arguments are copied once, as a launch copies them to the parameter space; each
    // thread's kernel call then copies them into its own parameters.
    template <class... Args>
    void operator()(const Args&... args) {
        launch(config, [body = body, ... a = args]() { body(a...); });
    }
};

}  // namespace ganops_emu
