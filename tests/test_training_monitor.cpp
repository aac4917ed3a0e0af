// kernels/training_monitor.h on the CPU (its CUDA side: test_cuda_dcgan_step.cpp): per-
// iteration means in a ring read back in order, the ring's wrap-around, and the first
// iteration with a non-finite value remembered.
#include <cmath>

#include "kernels/training_monitor.h"
#include "test_util.h"

using namespace ganops;

TEST_CASE("the training monitor keeps the last iterations' means and the first non-finite one") {
    // Capacity 2: read at least every 2 iterations; the ring wraps many times here.
    const kernels::TrainingMonitor m = kernels::make_training_monitor(2, 2, 5, Device::CPU);
    std::vector<std::vector<double>> expected;
    for (int64_t it = 5; it < 12; ++it) {
        const Tensor a = test::randn({7}), b = test::randn({3});
        kernels::monitor_add_mean(m, 0, a);
        kernels::monitor_add_mean(m, 0, b);  // adds to the same field
        kernels::monitor_add_mean(m, 1, b);
        double sa = 0, sb = 0;
        for (double v : a.to_double_vector()) sa += v;
        for (double v : b.to_double_vector()) sb += v;
        expected.push_back({sa / 7 + sb / 3, sb / 3});
        kernels::monitor_next_iteration(m);
        if (it % 2 == 0) {  // read every other iteration, as a training loop would
            const kernels::MonitorReadout r = kernels::read_monitor(m);
            CHECK(r.iteration == it + 1);
            CHECK(r.first_nonfinite == -1);
            REQUIRE(r.first_slot_iteration == it - 1);
            REQUIRE(r.slots.size() == 2);
            for (int k = 0; k < 2; ++k)
                for (int f = 0; f < 2; ++f)
                    CHECK(std::abs(r.slots[size_t(k)][size_t(f)] - expected[size_t(it - 1 - 5 + k)][size_t(f)]) < 1e-12);
        }
    }
    // A NaN at iteration 12, an inf at 13: the first is remembered.
    Tensor bad = test::randn({4});
    bad.data<double>()[2] = NAN;
    kernels::monitor_add_mean(m, 1, bad);
    kernels::monitor_next_iteration(m);
    bad.data<double>()[2] = INFINITY;
    kernels::monitor_add_mean(m, 0, bad);
    kernels::monitor_next_iteration(m);
    const kernels::MonitorReadout r = kernels::read_monitor(m);
    CHECK(r.iteration == 14);
    CHECK(r.first_nonfinite == 12);
    CHECK(std::isnan(r.slots[0][1]));
    CHECK(std::isinf(r.slots[1][0]));
}

TEST_CASE("the training monitor refuses what it cannot record") {
    CHECK_THROWS_CONTAINING(kernels::make_training_monitor(0, 2, 0, Device::CPU), "capacity 0");
    const kernels::TrainingMonitor m = kernels::make_training_monitor(2, 2, 0, Device::CPU);
    CHECK_THROWS_CONTAINING(kernels::monitor_add_mean(m, 2, test::randn({3})), "field 2 outside 0..1");
    CHECK_THROWS_CONTAINING(kernels::monitor_add_mean(m, 0, Tensor::empty({0}, DType::F64)), "non-empty");
}
