#include "data_parallel.h"

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
    for (size_t i = parameters_.size(); i-- > 0;) {
        const Tensor& p = parameters_[i];
        GANOPS_CHECK(p.defined() && p.dtype() == DType::F32, "GradientReducer: parameter ", i, " (",
                     p.defined() ? p.str() : "undefined", ") is not a float32 tensor");
        if (buckets_.empty() || buckets_.back().numel * 4 >= bucket_bytes ||
            parameters_[buckets_.back().params.front()].device() != p.device())
            buckets_.emplace_back();
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

void GradientReducer::start() {
    GANOPS_CHECK(!started_, "GradientReducer: start() called twice without finish()");
    started_ = true;
    if (comm_.size() == 1) return;
    NoGradGuard no_grad;
    for (Bucket& b : buckets_) {
        int64_t at = 0;
        for (size_t i : b.params) {
            const Tensor& p = parameters_[i];
            const Tensor dst = b.flat.slice_rows(at, at + p.numel());
            const Tensor g = p.grad();
            if (g.defined()) dst.copy_from(g.reshape({p.numel()}));
            else dst.fill(0.0);
            at += p.numel();
        }
        b.pending = comm_.start_all_reduce_sum(b.flat);
    }
}

void GradientReducer::finish() {
    GANOPS_CHECK(started_, "GradientReducer: finish() without start()");
    started_ = false;
    NoGradGuard no_grad;
    if (comm_.size() == 1) {  // the gradients are the average already
        for (const Tensor& p : parameters_)
            if (!p.grad().defined()) p.set_grad(Tensor::zeros(p.shape(), DType::F32, p.device()));
        return;
    }
    const double inv = 1.0 / comm_.size();
    for (Bucket& b : buckets_) {
        b.pending->wait();
        b.pending.reset();
        const Tensor mean = mul(b.flat, inv);
        int64_t at = 0;
        for (size_t i : b.params) {
            const Tensor& p = parameters_[i];
            const Tensor src = mean.slice_rows(at, at + p.numel()).reshape(p.shape());
            Tensor g = p.grad();
            if (g.defined()) {
                g.copy_from(src);
            } else {
                g = Tensor::empty(p.shape(), DType::F32, p.device());
                g.copy_from(src);
                p.set_grad(g);
            }
            at += p.numel();
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
