#include "batchnorm2d.h"

#include "functional.h"

namespace ganops::nn {

BatchNorm2d::BatchNorm2d(int64_t num_features, double eps_, double momentum_, bool affine, bool track_running_stats)
    : eps(eps_), momentum(momentum_) {
    GANOPS_CHECK(num_features > 0, "BatchNorm2d: num_features must be positive, got ", num_features);
    GANOPS_CHECK(eps > 0, "BatchNorm2d: eps must be > 0, got ", eps);
    GANOPS_CHECK(momentum >= 0 && momentum <= 1, "BatchNorm2d: momentum must be in [0, 1], got ", momentum);
    if (affine) {
        weight = Tensor::full({num_features}, 1.0);
        bias = Tensor::zeros({num_features});
    }
    if (track_running_stats) {
        running_mean = Tensor::zeros({num_features});
        running_var = Tensor::full({num_features}, 1.0);
    }
    register_parameter("weight", &weight);
    register_parameter("bias", &bias);
    register_buffer("running_mean", &running_mean);
    register_buffer("running_var", &running_var);
}

Tensor BatchNorm2d::forward(const Tensor& x) {
    // Without running statistics there is nothing else to normalise with, in either mode.
    const bool use_batch_stats = is_training() || !running_mean.defined();
    if (is_training() && running_mean.defined()) ++num_batches_tracked;
    if (is_training() && stats_sync) return stats_sync->forward_train(*this, x);
    return batchnorm2d(x, weight, bias, running_mean, running_var, use_batch_stats, momentum, eps);
}

Tensor BatchNorm2d::forward_leaky_relu(const Tensor& x, double slope, RoundToTf32 round) {
    // Fused in training with this batch's statistics, on the CPU and on CUDA (float32); eval
    // mode and synchronised statistics run the two ops.
    const bool fused = is_training() && !stats_sync && slope >= 0 && x.defined() &&
                       (x.device() == Device::CPU || (x.device() == Device::CUDA && x.dtype() == DType::F32));
    if (!fused) return slope == 0 ? relu(forward(x)) : leaky_relu(forward(x), slope);
    // The fused CPU kernel reads NCHW fast (channels-last would walk each channel with a
    // stride). A channels-last CPU input goes through it converted, as the CPU convolutions
    // do, so both formats give the same bits; the CUDA kernels read both formats as they are.
    if (x.is_channels_last() && x.device() == Device::CPU)
        return forward_leaky_relu(x.to_memory_format(MemoryFormat::Contiguous), slope)
            .to_memory_format(MemoryFormat::ChannelsLast);
    if (running_mean.defined()) ++num_batches_tracked;
    return batchnorm2d_leaky_relu(x, weight, bias, running_mean, running_var, slope, momentum, eps,
                                  x.device() == Device::CUDA ? round : RoundToTf32{});
}

}  // namespace ganops::nn
