// BatchNorm2d as torch.nn.BatchNorm2d: weight 1 and bias 0 (when affine), running_mean 0
// and running_var 1 (when tracking), momentum 0.1, eps 1e-5. In training mode it
// normalises with batch statistics and updates the running ones; in eval mode it uses them.
#pragma once
#include <memory>

#include "functional.h"  // RoundToTf32
#include "module.h"

namespace ganops::nn {

class BatchNorm2d;

// Normalises a training batch with statistics over more than this process's batch (the
// data-parallel replicas' batches together: nn/distributed/sync_batchnorm.h), updating the
// running statistics with them.
class BatchNormStatsSync {
public:
    virtual ~BatchNormStatsSync() = default;
    virtual Tensor forward_train(BatchNorm2d& bn, const Tensor& x) = 0;
};

class BatchNorm2d : public Module {
public:
    explicit BatchNorm2d(int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true,
                         bool track_running_stats = true);
    Tensor forward(const Tensor& x) override;
    // leaky_relu(forward(x), slope) (relu: slope 0), as one fused op where it applies:
    // training with this batch's statistics (not synchronised), on the CPU or CUDA, and
    // slope >= 0. Sequential calls it for a BatchNorm2d followed by ReLU or LeakyReLU.
    // round: what the fused op stores rounded to TF32 (functional.h's RoundToTf32; CUDA only,
    // where it fuses), as Sequential asks for with round_tf32_between_layers.
    Tensor forward_leaky_relu(const Tensor& x, double slope, RoundToTf32 round = {});

    Tensor weight, bias, running_mean, running_var;
    int64_t num_batches_tracked = 0;  // PyTorch keeps this as an int64 buffer
    double eps, momentum;
    // Null (the default): batch statistics are this batch's alone.
    std::shared_ptr<BatchNormStatsSync> stats_sync;
};

}  // namespace ganops::nn
