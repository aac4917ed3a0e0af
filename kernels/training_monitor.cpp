#include "training_monitor.h"

#include <algorithm>
#include <cmath>

#include "checks.h"
#include "cuda/training_monitor.h"

namespace ganops::kernels {

namespace {
int64_t ring_slots(const TrainingMonitor& m) { return m.capacity + 1; }
double* slot_of(double* values, const TrainingMonitor& m, int64_t iteration) {
    return values + 2 + (iteration % ring_slots(m)) * m.fields;
}
}  // namespace

TrainingMonitor make_training_monitor(int64_t capacity, int64_t fields, int64_t first_iteration, Device device) {
    GANOPS_CHECK(capacity >= 1 && fields >= 1, "make_training_monitor: capacity ", capacity, " and fields ", fields,
                 " must be at least 1");
    GANOPS_CHECK(first_iteration >= 0, "make_training_monitor: first_iteration ", first_iteration, " is negative");
    std::vector<double> init(size_t(2 + (capacity + 1) * fields), 0.0);
    init[0] = double(first_iteration);
    init[1] = -1;
    return {Tensor::from_vector({int64_t(init.size())}, init, device), capacity, fields};
}

void monitor_add_mean(const TrainingMonitor& m, int64_t field, const Tensor& x) {
    check_defined("monitor_add_mean", "input", x);
    GANOPS_CHECK(m.values.defined() && m.values.dtype() == DType::F64, "monitor_add_mean: not a monitor made by make_training_monitor");
    GANOPS_CHECK(field >= 0 && field < m.fields, "monitor_add_mean: field ", field, " outside 0..", m.fields - 1);
    GANOPS_CHECK(x.device() == m.values.device() && x.numel() > 0, "monitor_add_mean: input ", x.str(),
                 " must be non-empty and on the monitor's device, ", device_name(m.values.device()));
    if (x.device() == Device::CUDA) {
        GANOPS_CHECK(x.dtype() == DType::F32, "monitor_add_mean: ", x.str(), ": CUDA kernels take float32");
        cuda::monitor_add_mean(m.values.data<double>(), ring_slots(m), m.fields, field, x.data<float>(), x.numel());
        return;
    }
    double* v = m.values.data<double>();
    double s = 0;
    on_cpu_float_type("monitor_add_mean", x, [&](auto t) {
        using T = decltype(t);
        const T* p = x.data<T>();
        for (int64_t i = 0; i < x.numel(); ++i) s += double(p[i]);
    });
    const double mean = s / double(x.numel());
    // A sum in double of finite floats cannot overflow: a non-finite sum means a non-finite element.
    if (!std::isfinite(mean) && v[1] < 0) v[1] = v[0];
    slot_of(v, m, int64_t(v[0]))[field] += mean;
}

void monitor_next_iteration(const TrainingMonitor& m) {
    if (m.values.device() == Device::CUDA) {
        cuda::monitor_next_iteration(m.values.data<double>(), ring_slots(m), m.fields);
        return;
    }
    double* v = m.values.data<double>();
    v[0] += 1;
    double* slot = slot_of(v, m, int64_t(v[0]));
    for (int64_t f = 0; f < m.fields; ++f) slot[f] = 0;
}

MonitorReadout read_monitor(const TrainingMonitor& m) {
    const std::vector<double> v = m.values.to_double_vector();
    MonitorReadout r;
    r.iteration = int64_t(v[0]);
    r.first_nonfinite = int64_t(v[1]);
    r.first_slot_iteration = std::max<int64_t>(0, r.iteration - m.capacity);
    for (int64_t it = r.first_slot_iteration; it < r.iteration; ++it) {
        const size_t at = size_t(2 + (it % ring_slots(m)) * m.fields);
        r.slots.emplace_back(v.begin() + int64_t(at), v.begin() + int64_t(at + size_t(m.fields)));
    }
    return r;
}

}  // namespace ganops::kernels
