#include "thread_pool.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "error.h"

namespace ganops {

namespace {

// How long a thread spins before it sleeps: long enough to bridge the gap between two
// kernels of one training step (a few microseconds), short enough that a worker on a
// shared core gives its slice back almost at once.
constexpr int spin_iterations = 2000;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    std::this_thread::yield();
#endif
}

int threads_from_environment() {
    for (const char* name : {"GANOPS_NUM_THREADS", "OMP_NUM_THREADS"}) {
        const char* value = std::getenv(name);
        if (!value || !*value) continue;
        char* end = nullptr;
        const long n = std::strtol(value, &end, 10);
        // A list such as OMP_NUM_THREADS=4,2 counts its first entry; nonsense falls through.
        if (end != value && n >= 1 && n <= 1024) return static_cast<int>(n);
    }
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
    return std::max(1u, std::thread::hardware_concurrency());
}

std::atomic<int> requested_threads{0};  // 0: not yet decided

struct Pool {
    std::mutex run_mutex;  // held by the one parallel_for that owns the workers
    std::mutex mutex;      // guards the fields below that are not atomic
    std::condition_variable wake, finished;
    std::vector<std::thread> workers;
    bool stop = false;

    std::atomic<uint64_t> generation{0};  // bumped for every job
    bool open = false;                    // workers may still join the current job
    int wanted = 0;                       // workers with index < wanted join it
    int busy = 0;                         // workers inside run_tasks
    const std::function<void(int64_t)>* task = nullptr;
    int64_t tasks = 0;
    std::atomic<int64_t> next{0}, done{0};
    std::exception_ptr error;

    void run_tasks() {
        for (;;) {
            const int64_t i = next.fetch_add(1, std::memory_order_relaxed);
            if (i >= tasks) return;
            try {
                (*task)(i);
            } catch (...) {
                std::lock_guard lock(mutex);
                if (!error) error = std::current_exception();
            }
            if (done.fetch_add(1, std::memory_order_acq_rel) + 1 == tasks) {
                std::lock_guard lock(mutex);
                finished.notify_all();
            }
        }
    }

    void worker(int index) {
        uint64_t seen = 0;
        for (;;) {
            for (int spin = 0; spin < spin_iterations && generation.load(std::memory_order_acquire) == seen; ++spin)
                cpu_relax();
            {
                std::unique_lock lock(mutex);
                wake.wait(lock, [&] { return stop || generation.load(std::memory_order_relaxed) != seen; });
                if (stop) return;
                seen = generation.load(std::memory_order_relaxed);
                if (!open || index >= wanted) continue;
                ++busy;
            }
            run_tasks();
            std::lock_guard lock(mutex);
            if (--busy == 0) finished.notify_all();
        }
    }

    void resize(int count) {
        if (static_cast<int>(workers.size()) == count) return;
        {
            std::lock_guard lock(mutex);
            stop = true;
        }
        wake.notify_all();
        for (std::thread& t : workers) t.join();
        workers.clear();
        stop = false;
        for (int i = 0; i < count; ++i) workers.emplace_back([this, i] { worker(i); });
    }

    void run(int64_t count, const std::function<void(int64_t)>& body, int threads) {
        resize(threads - 1);
        {
            std::lock_guard lock(mutex);
            task = &body;
            tasks = count;
            next.store(0, std::memory_order_relaxed);
            done.store(0, std::memory_order_relaxed);
            error = nullptr;
            wanted = static_cast<int>(std::min<int64_t>(count - 1, static_cast<int64_t>(workers.size())));
            open = true;
            generation.fetch_add(1, std::memory_order_release);
        }
        wake.notify_all();
        run_tasks();
        for (int spin = 0; spin < spin_iterations && done.load(std::memory_order_acquire) < count; ++spin) cpu_relax();
        std::unique_lock lock(mutex);
        finished.wait(lock, [&] { return done.load(std::memory_order_acquire) >= count; });
        // No worker may still read this job's fields when the caller returns and reuses them.
        open = false;
        finished.wait(lock, [&] { return busy == 0; });
        task = nullptr;
        if (error) std::rethrow_exception(std::exchange(error, nullptr));
    }
};

Pool& pool() {
    static Pool* p = new Pool;  // never destroyed: sleeping workers need no joining at exit
    return *p;
}

thread_local bool inside_task = false;

}  // namespace

int cpu_threads() {
    int n = requested_threads.load(std::memory_order_relaxed);
    if (n == 0) {
        n = threads_from_environment();
        int expected = 0;
        if (!requested_threads.compare_exchange_strong(expected, n)) n = expected;
    }
    return n;
}

void set_cpu_threads(int n) {
    GANOPS_CHECK(n >= 1 && n <= 1024, "set_cpu_threads: need 1 to 1024 threads, got ", n);
    requested_threads.store(n, std::memory_order_relaxed);
}

void parallel_for(int64_t tasks, const std::function<void(int64_t)>& task) {
    if (tasks <= 0) return;
    const int threads = cpu_threads();
    Pool& p = pool();
    std::unique_lock owner(p.run_mutex, std::defer_lock);
    if (tasks == 1 || threads == 1 || inside_task || !owner.try_lock()) {
        for (int64_t i = 0; i < tasks; ++i) task(i);
        return;
    }
    // Tasks that call parallel_for again run their inner loop serially, on their own thread.
    const std::function<void(int64_t)> marked = [&](int64_t i) {
        inside_task = true;
        struct Reset {
            ~Reset() { inside_task = false; }
        } reset;
        task(i);
    };
    p.run(tasks, marked, threads);
}

}  // namespace ganops
