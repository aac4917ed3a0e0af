// Between the parts of the emulator's runtime (runtime.cpp, cuda_api.cpp); not for kernels.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "runtime.h"

namespace ganops_emu {

struct Options {
    int workers = 1;              // GANOPS_EMU_THREADS (default: cores, at most 8)
    bool shuffle_blocks = false;  // GANOPS_EMU_BLOCK_ORDER=random[:seed]
    uint64_t block_seed = 0;
    bool deferred_streams = false;  // GANOPS_EMU_STREAMS=deferred
    uint64_t stream_seed = 0;       // GANOPS_EMU_SEED: 0 runs each stream as late as allowed
    bool quiet = false;             // GANOPS_EMU_QUIET=1: diagnostics are kept, not printed
};
const Options& options();

struct LaunchFault {};  // thrown by a block that faulted; the grid stops

void report(const std::string& message);
std::string last_diagnostic();
// Runs every block of the grid; false if one faulted (its diagnostic has been reported).
bool run_grid(const LaunchConfig& config, const std::function<void()>& body);

}  // namespace ganops_emu
