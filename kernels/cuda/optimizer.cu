// Adam and SGD over a whole parameter list in one launch: blockIdx.y picks the tensor and
// the blocks along x stride over its elements. The pointer table travels as a kernel
// argument (no host-to-device copy), kMaxTensors at a time. The update is computed in
// double from float state with the CPU reference's formulas, so both devices follow the
// same trajectory to rounding.
#include <algorithm>
#include <cmath>

#include "../../core/cuda_graph.h"
#include "kernels.h"
#include "launch.cuh"

namespace ganops::cuda {

namespace {
constexpr int kMaxTensors = 48;  // keeps the argument block under 4 KB

struct AdamBatch {
    AdamTensor t[kMaxTensors];
    int count;
};
struct SgdBatch {
    SgdTensor t[kMaxTensors];
    int count;
};

// lr enters through step_size = lr / bias_correction1. In a replayed graph (core/cuda_graph.h)
// both come from the replay's row of `schedule` instead.
__global__ void adam_kernel(AdamBatch batch, double beta1, double beta2, double eps, double weight_decay,
                            double step_size, double bias_correction2_sqrt, const double* schedule, const int64_t* replay) {
    if (schedule) {
        const int64_t r = *replay;
        step_size = schedule[2 * r];
        bias_correction2_sqrt = schedule[2 * r + 1];
    }
    const AdamTensor& t = batch.t[blockIdx.y];
    GANOPS_GRID_STRIDE(i, t.n) {
        const float g = static_cast<float>(t.grad[i] + weight_decay * t.param[i]);
        const float m = static_cast<float>(beta1 * t.exp_avg[i] + (1.0 - beta1) * g);
        const float v = static_cast<float>(beta2 * t.exp_avg_sq[i] + (1.0 - beta2) * g * g);
        t.exp_avg[i] = m;
        t.exp_avg_sq[i] = v;
        const double denom = sqrt(double(v)) / bias_correction2_sqrt + eps;
        t.param[i] = static_cast<float>(t.param[i] - step_size * m / denom);
    }
}

__global__ void sgd_kernel(SgdBatch batch, double lr, double momentum, double dampening, double weight_decay, bool nesterov) {
    const SgdTensor& t = batch.t[blockIdx.y];
    GANOPS_GRID_STRIDE(i, t.n) {
        double g = t.grad[i] + weight_decay * t.param[i];
        if (momentum != 0) {
            const double buf = t.buffer_empty ? g : momentum * t.momentum_buffer[i] + (1.0 - dampening) * g;
            t.momentum_buffer[i] = static_cast<float>(buf);
            g = nesterov ? g + momentum * buf : buf;
        }
        t.param[i] = static_cast<float>(t.param[i] - lr * g);
    }
}

template <class Batch, class Item>
Batch make_batch(const Item* tensors, int count, int64_t& largest) {
    Batch b{};
    b.count = count;
    largest = 0;
    for (int i = 0; i < count; ++i) {
        b.t[i] = tensors[i];
        largest = std::max(largest, tensors[i].n);
    }
    return b;
}
}  // namespace

void adam_update(const AdamTensor* tensors, int count, double lr, double beta1, double beta2, double eps,
                 double weight_decay, int64_t step) {
    // The bias corrections of step t, on the host; a captured graph gets them for every
    // replay from the same formulas.
    auto corrections = [=](int64_t t, double* out) {
        out[0] = lr / (1.0 - std::pow(beta1, double(t)));
        out[1] = std::sqrt(1.0 - std::pow(beta2, double(t)));
    };
    double now[2];
    corrections(step, now);
    const double step_size = now[0], bc2_sqrt = now[1];
    const ReplaySchedule schedule = replay_schedule(2, [=](int64_t r, double* row) { corrections(step + r, row); });
    for (int first = 0; first < count; first += kMaxTensors) {
        int64_t largest = 0;
        const int n = std::min(kMaxTensors, count - first);
        const AdamBatch batch = make_batch<AdamBatch>(tensors + first, n, largest);
        if (largest == 0) continue;
        GANOPS_LAUNCH(adam_kernel, dim3(unsigned(std::min(grid_for(largest), 1024)), unsigned(n)), kThreads, 0, current_stream())(
            batch, beta1, beta2, eps, weight_decay, step_size, bc2_sqrt, schedule.rows, schedule.replay);
    }
}

void sgd_update(const SgdTensor* tensors, int count, double lr, double momentum, double dampening, double weight_decay,
                bool nesterov) {
    for (int first = 0; first < count; first += kMaxTensors) {
        int64_t largest = 0;
        const int n = std::min(kMaxTensors, count - first);
        const SgdBatch batch = make_batch<SgdBatch>(tensors + first, n, largest);
        if (largest == 0) continue;
        GANOPS_LAUNCH(sgd_kernel, dim3(unsigned(std::min(grid_for(largest), 1024)), unsigned(n)), kThreads, 0, current_stream())(
            batch, lr, momentum, dampening, weight_decay, nesterov);
    }
}

}  // namespace ganops::cuda
