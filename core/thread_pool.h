// The one pool of CPU threads every CPU kernel splits its work over.
//
// Why our own and not OpenMP: libgomp's workers spin between parallel regions (hundreds of
// microseconds by default, longer with OMP_WAIT_POLICY=active), so on a machine where
// another process holds a core they burn the time slices the working threads need, and a
// training step of many small regions slowed by an order of magnitude. Here an idle worker
// sleeps on a condition variable after a spin of a few microseconds, and work is handed out
// one task at a time from a shared counter: a thread that the scheduler pushes off its core
// delays only the task it holds, the others take the rest.
//
// Results never depend on the number of threads: callers cut their work into tasks from the
// problem's shape alone, and every task writes its own part of the output.
#pragma once
#include <algorithm>
#include <cstdint>
#include <functional>

namespace ganops {

// Threads the CPU kernels use, the caller included: set_cpu_threads(n) if called, else
// GANOPS_NUM_THREADS, else OMP_NUM_THREADS (so existing settings keep working), else the
// cores this process may run on (its affinity mask, so `taskset` sizes the pool).
int cpu_threads();
// n >= 1; takes effect at the next parallel_for.
void set_cpu_threads(int n);

// Runs task(i) for every i in [0, tasks), on the pool and the calling thread, and returns
// when all are done. The first exception a task throws is rethrown here (the remaining
// tasks still run). Called from inside a task, or while another thread's parallel_for holds
// the pool, it runs the tasks on the calling thread in order.
void parallel_for(int64_t tasks, const std::function<void(int64_t)>& task);

// Element-wise work: [0, n) cut into ranges of `grain` elements (the last one shorter), each
// a task run as range(begin, end). The cut depends on n and grain alone.
template <class Range>
void parallel_ranges(int64_t n, int64_t grain, const Range& range) {
    parallel_for((n + grain - 1) / grain, [&](int64_t t) {
        const int64_t begin = t * grain;
        range(begin, std::min(n, begin + grain));
    });
}

}  // namespace ganops
