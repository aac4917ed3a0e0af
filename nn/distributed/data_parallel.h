// Data-parallel training on a Communicator: every rank holds the whole model, trains on its
// share of each global batch, and applies the same averaged gradient, so the replicas stay
// identical. With per-rank losses that are means over equal shards, the average of the
// ranks' gradients is the gradient of the mean loss over the global batch: N ranks with
// global batch B step as one process with batch B (up to summation order) wherever no layer
// mixes samples. BatchNorm does: per replica by default, or synchronised (sync_batchnorm.h).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "../../core/autograd.h"
#include "../module.h"
#include "communicator.h"

namespace ganops::dist {

// Every parameter and buffer (running statistics) of `module` becomes root's: replicas
// start identical whatever each rank initialised or loaded.
void broadcast_state(Communicator& comm, const nn::Module& module, int root = 0);

// Averages the gradients of `parameters` over the ranks, in buckets of about bucket_bytes.
// Buckets are packed last parameter first (backward produces those gradients first); a
// bucket closes once it holds bucket_bytes. The default, 1 MB, splits each DCGAN network
// (11-14 MB at 64x64) into 3 buckets, so that all but the last overlap backward, for 3
// all-reduce latencies (about 20 us each over NVLink) instead of 1 (benchmarks/NOTES.md).
//
// Two ways to use it, with the same result bit for bit (the same buckets, packed from the
// same gradients, all-reduced in the same order):
//   - overlapped with backward: overlap_next_backward() just before the last backward()
//     that adds to the gradients, finish() after it, before the optimizer step. During that
//     backward, each bucket is packed and its all-reduce started as soon as every gradient
//     in it is final (autograd's GradientReadyHook), while backward goes on computing the
//     earlier layers' gradients. Buckets start in bucket order, so every rank starts the same
//     collectives in the same order (every rank must run the same graph). finish() starts
//     the buckets that backward did not complete (parameters it did not reach), waits for
//     all of them and writes the averages into .grad.
//   - after backward: start() after the last backward(), finish() before the optimizer
//     step; work between them (another backward, logging) overlaps the communication.
// A backward() between overlap_next_backward() and finish() that reaches a parameter a
// second time is an error: its bucket may have been sent without the new gradient.
//
// A parameter without a gradient on a rank counts as zeros there; after finish() every
// parameter has one. Every rank must hold parameters of the same shapes in the same order.
class GradientReducer {
public:
    GradientReducer(Communicator& comm, std::vector<Tensor> parameters, int64_t bucket_bytes = int64_t(1) << 20);
    GradientReducer(const GradientReducer&) = delete;  // the hook of overlap_next_backward holds `this`
    GradientReducer& operator=(const GradientReducer&) = delete;
    void overlap_next_backward();
    void start();
    void finish();
    void all_reduce() {
        start();
        finish();
    }
    size_t bucket_count() const { return buckets_.size(); }
    int64_t bytes() const;  // what one all_reduce sends per rank (4 bytes a gradient element)
    // Called with a bucket's index as its all-reduce starts (tests and profiles see when).
    std::function<void(size_t bucket)> on_bucket_started;

private:
    struct Bucket {
        std::vector<size_t> params;  // indices into parameters_
        int64_t numel = 0;
        Tensor flat;
        std::unique_ptr<PendingCollective> pending;
        size_t packed = 0;  // of params, while overlapping
    };
    enum class Phase { Idle, Overlapping, Started };
    void gradient_ready(const Tensor& leaf);
    void pack(size_t param);
    void start_bucket(size_t bucket);  // packs what is left of it and starts its all-reduce

    Communicator& comm_;
    std::vector<Tensor> parameters_;
    std::vector<Bucket> buckets_;
    std::vector<size_t> bucket_of_, offset_in_bucket_;  // per parameter
    std::vector<bool> packed_;                           // per parameter, in this round
    size_t next_bucket_ = 0;                             // buckets [0, next_bucket_) have started
    Phase phase_ = Phase::Idle;
    std::unique_ptr<GradientReadyHook> hook_;  // while overlapping
};

// The mean over ranks of a tensor that every rank computed on its shard (a batch mean of
// features), differentiable: its gradient is the mean of the ranks' gradients, which keeps
// the data-parallel identity above for losses built on it.
Tensor all_reduce_mean(Communicator& comm, const Tensor& x);

// Rank `rank`'s part of an epoch: batch b of the result is the rank's slice of global batch
// b of `order` (samples order[b*global_batch + rank*n, ... + n) with n = global_batch /
// ranks). The ranks' parts are disjoint and together hold every global batch of the epoch
// exactly once (a last partial batch is dropped, as without ranks). The same order on every
// rank (one seed) gives the same partition, whatever the rank count.
std::vector<int64_t> shard_epoch_order(const std::vector<int64_t>& order, int64_t global_batch, int rank, int ranks);

}  // namespace ganops::dist
