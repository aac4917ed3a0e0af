// The CPU thread pool (core/thread_pool.h): every task runs exactly once whatever the thread
// count, errors reach the caller, and nested or concurrent calls do not deadlock.
#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/thread_pool.h"
#include "test_util.h"

using namespace ganops;

TEST_CASE("parallel_for runs every task exactly once", "[pool]") {
    for (int threads : {1, 2, 4}) {
        set_cpu_threads(threads);
        for (int64_t tasks : {0, 1, 2, 7, 1000}) {
            std::vector<std::atomic<int>> runs(static_cast<size_t>(tasks));
            parallel_for(tasks, [&](int64_t i) { runs[size_t(i)].fetch_add(1); });
            for (int64_t i = 0; i < tasks; ++i) REQUIRE(runs[size_t(i)].load() == 1);
        }
    }
    set_cpu_threads(1);
}

TEST_CASE("parallel_for rethrows a task's error after all tasks ran", "[pool]") {
    set_cpu_threads(3);
    std::atomic<int> ran{0};
    CHECK_THROWS_WITH(parallel_for(50,
                                   [&](int64_t i) {
                                       ran.fetch_add(1);
                                       if (i == 17) throw std::runtime_error("task 17 failed");
                                   }),
                      "task 17 failed");
    CHECK(ran.load() == 50);
    // The pool still works afterwards.
    std::atomic<int64_t> sum{0};
    parallel_for(100, [&](int64_t i) { sum.fetch_add(i); });
    CHECK(sum.load() == 4950);
    set_cpu_threads(1);
}

TEST_CASE("nested and concurrent parallel_for calls finish", "[pool]") {
    set_cpu_threads(2);
    std::atomic<int64_t> inner{0};
    parallel_for(8, [&](int64_t) { parallel_for(10, [&](int64_t j) { inner.fetch_add(j); }); });
    CHECK(inner.load() == 8 * 45);
    std::atomic<int64_t> a{0}, b{0};
    std::thread other([&] {
        for (int r = 0; r < 200; ++r) parallel_for(16, [&](int64_t i) { a.fetch_add(i); });
    });
    for (int r = 0; r < 200; ++r) parallel_for(16, [&](int64_t i) { b.fetch_add(i); });
    other.join();
    CHECK(a.load() == 200 * 120);
    CHECK(b.load() == 200 * 120);
    CHECK_THROWS_AS(set_cpu_threads(0), Error);
    set_cpu_threads(1);
}
