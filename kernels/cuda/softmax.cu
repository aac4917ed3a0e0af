// Softmax and softmax cross entropy over rows of a [rows, classes] matrix. GAN classifiers
// and auxiliary heads have few classes (10 here), so one thread owns a row: max, then
// log-sum-exp, in double, then its outputs.
#include "kernels.h"
#include "launch.cuh"
#include "reduce.cuh"

namespace ganops::cuda {

namespace {
__device__ double row_log_sum_exp(const float* x, int64_t classes) {
    double m = x[0];
    for (int64_t j = 1; j < classes; ++j) m = fmax(m, double(x[j]));
    double s = 0;
    for (int64_t j = 0; j < classes; ++j) s += exp(x[j] - m);
    return m + log(s);
}

__device__ bool valid_label(float label, int64_t classes) {
    return label >= 0 && label < float(classes) && label == floorf(label);
}

__global__ void softmax_kernel(const float* x, int64_t rows, int64_t classes, float* y) {
    GANOPS_GRID_STRIDE(i, rows) {
        const double lse = row_log_sum_exp(x + i * classes, classes);
        for (int64_t j = 0; j < classes; ++j) y[i * classes + j] = static_cast<float>(exp(x[i * classes + j] - lse));
    }
}

__global__ void softmax_backward_kernel(const float* dy, const float* y, int64_t rows, int64_t classes, float* dx) {
    GANOPS_GRID_STRIDE(i, rows) {
        double dot = 0;
        for (int64_t j = 0; j < classes; ++j) dot += double(dy[i * classes + j]) * y[i * classes + j];
        for (int64_t j = 0; j < classes; ++j)
            dx[i * classes + j] = static_cast<float>(y[i * classes + j] * (dy[i * classes + j] - dot));
    }
}

struct CrossEntropyTerm {
    const float *logits, *labels;
    int64_t classes;
    __device__ double operator()(int64_t i) const {
        if (!valid_label(labels[i], classes)) return nan("");
        return row_log_sum_exp(logits + i * classes, classes) - logits[i * classes + int64_t(labels[i])];
    }
};

__global__ void cross_entropy_backward_kernel(const float* dloss, const float* logits, const float* labels, int64_t rows,
                                              int64_t classes, float* dlogits) {
    const double scale = double(*dloss) / double(rows);
    GANOPS_GRID_STRIDE(i, rows) {
        const double lse = row_log_sum_exp(logits + i * classes, classes);
        const bool ok = valid_label(labels[i], classes);
        const int64_t label = ok ? int64_t(labels[i]) : -1;
        for (int64_t j = 0; j < classes; ++j) {
            const double p = exp(logits[i * classes + j] - lse);
            dlogits[i * classes + j] = ok ? static_cast<float>(scale * (p - (j == label ? 1.0 : 0.0))) : nanf("");
        }
    }
}
}  // namespace

void softmax_forward(const float* x, int64_t rows, int64_t classes, float* y) {
    if (rows == 0) return;
    GANOPS_LAUNCH(softmax_kernel, grid_for(rows), kThreads, 0, current_stream())(x, rows, classes, y);
}

void softmax_backward(const float* dy, const float* y, int64_t rows, int64_t classes, float* dx) {
    if (rows == 0) return;
    GANOPS_LAUNCH(softmax_backward_kernel, grid_for(rows), kThreads, 0, current_stream())(dy, y, rows, classes, dx);
}

void softmax_cross_entropy_forward(const float* logits, const float* labels, int64_t rows, int64_t classes, float* loss) {
    sum_terms(CrossEntropyTerm{logits, labels, classes}, rows, 1.0 / double(rows), loss);
}

void softmax_cross_entropy_backward(const float* dloss, const float* logits, const float* labels, int64_t rows,
                                    int64_t classes, float* dlogits) {
    if (rows == 0) return;
    GANOPS_LAUNCH(cross_entropy_backward_kernel, grid_for(rows), kThreads, 0, current_stream())(dloss, logits, labels, rows, classes,
                                                                                      dlogits);
}

}  // namespace ganops::cuda
