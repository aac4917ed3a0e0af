#include "data_parallel.h"

#include <algorithm>

#include "../../core/autograd.h"
#include "../../core/error.h"
#include "../functional.h"

namespace ganops::dist {

void broadcast_state(Communicator& comm, const nn::Module& module, int root) {
    for (const auto& [name, t] : module.named_parameters()) comm.broadcast(t, root);
    for (const auto& [name, t] : module.named_buffers()) comm.broadcast(t, root);
}

GradientReducer::GradientReducer(Communicator& comm, std::vector<Tensor> parameters, int64_t bucket_bytes)
    : comm_(comm), parameters_(std::move(parameters)) {
    GANOPS_CHECK(bucket_bytes > 0, "GradientReducer: bucket_bytes must be positive, got ", bucket_bytes);
    bucket_of_.resize(parameters_.size());
    offset_in_bucket_.resize(parameters_.size());
    packed_.assign(parameters_.size(), false);
    for (size_t i = parameters_.size(); i-- > 0;) {
        const Tensor& p = parameters_[i];
        GANOPS_CHECK(p.defined() && p.dtype() == DType::F32, "GradientReducer: parameter ", i, " (",
                     p.defined() ? p.str() : "undefined", ") is not a float32 tensor");
        if (buckets_.empty() || buckets_.back().numel * 4 >= bucket_bytes ||
            parameters_[buckets_.back().params.front()].device() != p.device())
            buckets_.emplace_back();
        bucket_of_[i] = buckets_.size() - 1;
        offset_in_bucket_[i] = size_t(buckets_.back().numel);
        buckets_.back().params.push_back(i);
        buckets_.back().numel += p.numel();
    }
    for (Bucket& b : buckets_) b.flat = Tensor::empty({b.numel}, DType::F32, parameters_[b.params.front()].device());
}

int64_t GradientReducer::bytes() const {
    int64_t n = 0;
    for (const Bucket& b : buckets_) n += b.numel * 4;
    return n;
}

void GradientReducer::pack(size_t i) {
    const Tensor& p = parameters_[i];
    const int64_t at = int64_t(offset_in_bucket_[i]);
    const Tensor dst = buckets_[bucket_of_[i]].flat.slice_rows(at, at + p.numel());
    const Tensor g = p.grad();
    if (g.defined()) dst.copy_from(g.reshape({p.numel()}));
    else dst.fill(0.0);
    packed_[i] = true;
}

void GradientReducer::start_bucket(size_t k) {
    Bucket& b = buckets_[k];
    for (size_t i : b.params)
        if (!packed_[i]) pack(i);
    b.pending = comm_.start_all_reduce_sum(b.flat);
    if (on_bucket_started) on_bucket_started(k);
}

void GradientReducer::overlap_next_backward() {
    GANOPS_CHECK(phase_ == Phase::Idle, "GradientReducer: overlap_next_backward() called again before finish()");
    phase_ = Phase::Overlapping;
    if (comm_.size() == 1) return;  // nothing to send
    hook_ = std::make_unique<GradientReadyHook>([this](const Tensor& leaf) { gradient_ready(leaf); });
}

// A leaf's gradient is final: pack it, then start every bucket, in order, that is complete.
void GradientReducer::gradient_ready(const Tensor& leaf) {
    size_t i = 0;
    while (i < parameters_.size() && !parameters_[i].is_same(leaf)) ++i;
    if (i == parameters_.size()) return;  // another model's parameter, or an input
    GANOPS_CHECK(!packed_[i], "GradientReducer: parameter ", i, " (", parameters_[i].str(),
                 ") received a gradient in a second backward() after overlap_next_backward(); only the last backward() "
                 "before finish() may overlap with the all-reduce (its bucket may already be sent)");
    NoGradGuard no_grad;
    pack(i);
    ++buckets_[bucket_of_[i]].packed;
    while (next_bucket_ < buckets_.size() && buckets_[next_bucket_].packed == buckets_[next_bucket_].params.size())
        start_bucket(next_bucket_++);
    // MPI moves a non-blocking collective on only inside MPI calls: let the started ones
    // advance while backward computes the next gradients.
    for (size_t k = 0; k < next_bucket_; ++k) buckets_[k].pending->progress();
}

void GradientReducer::start() {
    GANOPS_CHECK(phase_ != Phase::Started, "GradientReducer: start() called twice without finish()");
    phase_ = Phase::Started;
    hook_.reset();
    if (comm_.size() == 1) return;
    NoGradGuard no_grad;
    while (next_bucket_ < buckets_.size()) start_bucket(next_bucket_++);
}

void GradientReducer::finish() {
    GANOPS_CHECK(phase_ != Phase::Idle, "GradientReducer: finish() without start() or overlap_next_backward()");
    if (phase_ == Phase::Overlapping) start();  // the buckets backward did not complete
    phase_ = Phase::Idle;
    next_bucket_ = 0;
    std::fill(packed_.begin(), packed_.end(), false);
    for (Bucket& b : buckets_) b.packed = 0;
    NoGradGuard no_grad;
    if (comm_.size() == 1) {  // the gradients are the average already
        for (const Tensor& p : parameters_)
            if (!p.grad().defined()) {  // in the parameter's format, as Adam wants
                p.set_grad(Tensor::empty(p.shape(), DType::F32, p.device(), p.memory_format()));
                p.grad().fill(0.0);
            }
        return;
    }
    const double inv = 1.0 / comm_.size();
    for (Bucket& b : buckets_) {
        b.pending->wait();
        b.pending.reset();
        const Tensor mean = mul(b.flat, inv);
        for (size_t i : b.params) {
            const Tensor& p = parameters_[i];
            const int64_t at = int64_t(offset_in_bucket_[i]);
            const Tensor src = mean.slice_rows(at, at + p.numel()).reshape(p.shape());
            Tensor g = p.grad();
            if (g.defined()) {
                g.copy_from(src);
            } else {
                g = Tensor::empty(p.shape(), DType::F32, p.device(), p.memory_format());
                g.copy_from(src);
                p.set_grad(g);
            }
        }
    }
}

Tensor all_reduce_mean(Communicator& comm, const Tensor& x) {
    if (comm.size() == 1) return x;
    const double inv = 1.0 / comm.size();
    Tensor sum;
    {
        NoGradGuard no_grad;
        sum = x.clone();
        comm.all_reduce_sum(sum);
    }
    Tensor out = mul(sum, inv).detach();
    Communicator* c = &comm;
    return record("all_reduce_mean", out, {x}, [c, inv](const Tensor& dy, const std::vector<bool>&) {
        Tensor g = dy.clone();
        c->all_reduce_sum(g);
        return std::vector<Tensor>{mul(g, inv)};
    });
}

std::vector<int64_t> shard_epoch_order(const std::vector<int64_t>& order, int64_t global_batch, int rank, int ranks) {
    GANOPS_CHECK(ranks >= 1 && rank >= 0 && rank < ranks, "shard_epoch_order: rank ", rank, " of ", ranks);
    GANOPS_CHECK(global_batch > 0 && global_batch % ranks == 0, "shard_epoch_order: the global batch of ", global_batch,
                 " does not split evenly over ", ranks, " ranks");
    const int64_t n = global_batch / ranks, batches = int64_t(order.size()) / global_batch;
    std::vector<int64_t> mine;
    mine.reserve(size_t(batches * n));
    for (int64_t b = 0; b < batches; ++b)
        for (int64_t i = 0; i < n; ++i) mine.push_back(order[size_t(b * global_batch + rank * n + i)]);
    return mine;
}

}  // namespace ganops::dist
