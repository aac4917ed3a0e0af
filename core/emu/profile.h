// The emulator's profiling mode: what each kernel does to memory, counted by the rules NVIDIA
// documents, on a CPU. Exists in the library ganops_emu_profile only (cmake/ganops_profile.cmake):
// the same kernels as ganops_emu, compiled with GCC's ThreadSanitizer instrumentation but linked
// without its runtime. Every load and store of a kernel then calls __tsan_readN/__tsan_writeN,
// which core/emu/profile/profile.cpp defines: when a CUDA thread of a profiled launch makes the
// access, it is logged with its instruction address; whenever the whole block has reached a
// __syncthreads, and at its end, the executions of one instruction by the lanes of a warp are
// paired up into warp-level accesses (the k-th execution between two warp-wide synchronisations,
// or, where lanes skipped some, the one in the same loop iteration: profile.cpp explains), and
// each warp-level access is counted:
//  - global memory (inside a cudaMalloc allocation): the 32-byte sectors the warp touches against
//    the bytes its active lanes asked for (CUDA C++ Best Practices Guide, "Coalesced Access to
//    Global Memory": a warp reading 32 consecutive floats touches 4 sectors; with a stride of 32
//    floats, 32 sectors for the same 128 bytes: 12.5%; bytes several lanes ask for count once);
//    and the DRAM-side bytes of a launch if every distinct sector were fetched (or written) once
//    per launch, and once per block.
//  - shared memory (the block's dynamic shared memory, or a static __shared__ variable, which the
//    emulated build makes a thread_local): the wavefronts a warp-level access needs with 32 banks
//    of 4 bytes (CUDA C++ Programming Guide, compute capability 5.x and later: successive 32-bit
//    words in successive banks; lanes reading the same word share it), against the conflict-free
//    minimum. Accesses of 8 bytes are processed per half-warp and of 16 bytes per quarter-warp:
//    the minimum is one wavefront per (non-empty) part, 1, 2 or 4; each part needs as many
//    wavefronts as the most distinct words any one bank holds among its lanes' words. ldmatrix is
//    one such 16-byte phase per 8x8 matrix (8 rows of 16 bytes), reported by kernels/cuda/ptx.cuh;
//    cp.async is a global read and a shared write of its size.
//  - mma instructions (and their FLOPs, 2*m*n*k each), __syncthreads per block, and the accesses
//    that were neither global nor shared (the thread's stack: local memory or registers on a GPU).
// What it cannot count: arithmetic (scalar FLOPs and FMAs are invisible to the instrumentation:
// the static SASS report, tools/sass_report, counts the main loop's FFMA; add_flops() attaches a
// known count), caches (the DRAM figures are bounds: every sector once per launch is what a
// perfect L2 gives, once per block what no reuse between blocks gives), timing, and accesses the
// host compiler merged or split differently from nvcc (the profiling build turns off GCC's
// vectoriser and store merging; a float4 access that GCC splits into four 4-byte accesses is
// counted as four instructions).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <source_location>
#include <string>
#include <vector>

#include "runtime.h"

namespace ganops_emu::profile {

// One instruction of a kernel (an instruction address in the instrumented code, or the call site
// of a ptx.cuh wrapper), over every launch of that kernel.
struct SiteRecord {
    std::string site;   // "file:line (module+0xoffset)", or "module+0xoffset" if addr2line finds no line
    std::string op;     // "load", "store", "atomic", "ldmatrix", "cp.async"
    std::string space;  // "global" or "shared"
    uint64_t instructions = 0;     // warp-level executions
    uint64_t requested_bytes = 0;  // global: bytes asked for by the active lanes
    uint64_t sectors = 0;          // global: 32-byte sectors touched
    uint64_t ideal_sectors = 0;    // global: the fewest that could hold the distinct bytes asked for
    uint64_t wavefronts = 0;       // shared
    uint64_t ideal_wavefronts = 0; // shared: conflict-free minimum
    uint64_t excess() const;       // sectors - ideal_sectors, or wavefronts - ideal_wavefronts
};

struct KernelRecord {
    // As written in GANOPS_LAUNCH. One record per GANOPS_LAUNCH statement and, in a template, per
    // instantiation (the GEMM's run<Problem>: forward, grad input, grad weight): the second record
    // of a name is "name #2", and so on, in the order of their first launch.
    std::string kernel;
    uint64_t launches = 0, blocks = 0, threads = 0;
    // Global memory, warp-level instructions (cp.async counts as a load; atomics apart).
    uint64_t global_load_instructions = 0, global_store_instructions = 0, global_atomic_instructions = 0;
    uint64_t global_load_sectors = 0, global_store_sectors = 0, global_atomic_sectors = 0;
    uint64_t global_load_requested_bytes = 0, global_store_requested_bytes = 0;  // summed over lanes
    // Per warp-level access, ceil(distinct bytes asked for / 32): the sectors a perfectly
    // coalesced access of the same bytes would touch.
    uint64_t global_load_ideal_sectors = 0, global_store_ideal_sectors = 0;
    // DRAM-side bytes, summed over launches: every distinct 32-byte sector read (written) once per
    // launch; and every distinct sector once per block (summed over blocks).
    uint64_t dram_read_bytes = 0, dram_write_bytes = 0;
    uint64_t dram_read_bytes_per_block_sum = 0, dram_write_bytes_per_block_sum = 0;
    // Shared memory, warp-level accesses (cp.async's shared write counts as a store).
    uint64_t shared_load_instructions = 0, shared_store_instructions = 0, shared_atomic_instructions = 0;
    uint64_t shared_load_wavefronts = 0, shared_load_ideal_wavefronts = 0;
    uint64_t shared_store_wavefronts = 0, shared_store_ideal_wavefronts = 0;
    // Of the shared accesses above: by width (4 = 1, 2 or 4 bytes) and ldmatrix.
    uint64_t shared_instructions_by_width[3] = {};  // 4-, 8-, 16-byte (ldmatrix not included)
    uint64_t shared_wavefronts_by_width[3] = {}, shared_ideal_wavefronts_by_width[3] = {};
    uint64_t ldmatrix_instructions = 0, ldmatrix_wavefronts = 0, ldmatrix_ideal_wavefronts = 0;
    uint64_t cp_async_instructions = 0;
    // Everything else.
    uint64_t local_accesses = 0;  // thread-level accesses to neither (stack, parameters): ignored
    uint64_t mma_instructions = 0;
    double mma_flops = 0;    // 2*m*n*k per warp-level mma
    double extra_flops = 0;  // add_flops()
    uint64_t barriers = 0;   // __syncthreads completed, per block (summed over blocks)
    uint64_t dropped_accesses = 0;  // not counted: a block logged more than 16M between barriers
    std::vector<SiteRecord> sites;  // by excess, worst first

    // Coalescing efficiency: ideal sectors / sectors touched (at most 1). For lanes asking for
    // distinct bytes that is requested bytes / (32 * sectors), as the Best Practices Guide computes
    // it; lanes asking for the same bytes (a broadcast) count those once.
    double global_load_efficiency() const;
    double global_store_efficiency() const;
};

// Profiling is off until start(). start() forgets what was recorded and records every launch that
// runs until stop() (synchronise before stop(): with GANOPS_EMU_STREAMS=deferred a launch runs
// only when the host waits); report() returns the records in the order of their first launch.
// In a program linked with ganops_emu_profile, GANOPS_EMU_PROFILE=1 starts at load and prints
// markdown(report()) to stderr at exit (to the file GANOPS_EMU_PROFILE_OUT names, if set).
bool available();  // false in a build without the profiling mode (never linked there)
void start();
void stop();
bool running();
std::vector<KernelRecord> report();
// One row per kernel; sites: also the `sites` worst instructions of each kernel.
std::string markdown(const std::vector<KernelRecord>& records, int sites = 0);
// Scalar FLOPs the instrumentation cannot see, for a kernel's record (created if need be).
void add_flops(const std::string& kernel, double flops);

// ---- hooks: the runtime (runtime.cpp) and the PTX wrappers (kernels/cuda/ptx.cuh) ----
namespace hook {
// On the launching thread, before any block; `body` is the launch's (its type tells apart the
// instantiations of a template that launches a kernel: one record each).
void launch_begin(const LaunchConfig& config, const std::function<void()>& body);
void launch_end();                               // after every block
void block_begin(const LaunchConfig& config, unsigned threads, const void* dynamic_shared, size_t dynamic_bytes);
void block_end();
void barrier();                        // the running thread reaches __syncthreads
void warp_collective(unsigned mask);   // the running thread enters a warp collective
enum class Op : uint8_t { Load, Store, Atomic, Ldmatrix, CpAsyncRead, CpAsyncWrite };
// An access made by an emulated instruction, named by its call site: ldmatrix (a 16-byte row of
// shared memory), cp.async (CpAsyncRead: its global source, 0 bytes when src-size is 0, so that
// the lanes' executions still pair up; CpAsyncWrite: its shared destination).
void record(std::source_location site, Op op, const void* address, unsigned bytes);
void mma(double flops);  // one warp-level mma (every lane calls; lane 0 counts)
// Accesses made while a thread is paused are not recorded (the emulated bodies of PTX
// instructions move data in ways the GPU does not).
void pause();
void resume();
struct Pause {
    Pause() { pause(); }
    ~Pause() { resume(); }
    Pause(const Pause&) = delete;
    Pause& operator=(const Pause&) = delete;
};
}  // namespace hook

}  // namespace ganops_emu::profile

// The hooks compile to nothing outside the profiling build.
#if defined(GANOPS_EMU_PROFILE)
#define GANOPS_EMU_PROFILE_HOOK(call) ::ganops_emu::profile::hook::call
#define GANOPS_EMU_PROFILE_PAUSE() const ::ganops_emu::profile::hook::Pause ganops_emu_profile_pause_
#else
#define GANOPS_EMU_PROFILE_HOOK(call) ((void)0)
#define GANOPS_EMU_PROFILE_PAUSE() ((void)0)
#endif
