// Data-parallel training (nn/distributed) under `mpirun -np 2` (ctest: test_distributed_mpi;
// run alone it is a one-process world and checks the same identities with one rank).
//
// Every rank also trains, by itself, the single-process reference on the whole global
// batch, so each check compares N ranks against one process on the same data. Tolerance:
// float32 training differs from the reference only in summation order (the gradient is an
// average of N shard means instead of one mean, batchnorm statistics are combined from
// shards), a relative error of about 1e-7 per op; after three SGD steps the weights must
// agree to 2e-5 relative (the tests see about 1e-7), and the ranks' weights bit for bit.
#define CATCH_CONFIG_RUNNER
#include "catch_compat.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ganops.h"
#include "nn/distributed/communicator.h"
#include "nn/distributed/data_parallel.h"
#include "nn/distributed/sync_batchnorm.h"

using namespace ganops;

namespace {

dist::Communicator* g_comm = nullptr;
// GANOPS_TEST_DEVICE=cuda: the models and data of the single-process comparisons live on
// the GPU (with NCCL built in, gradients then travel over NCCL).
Device g_device = Device::CPU;
dist::Communicator& comm() { return *g_comm; }

// ||a - b|| / ||b||
double rel_error(const Tensor& a, const Tensor& b) {
    const std::vector<double> x = a.to_double_vector(), y = b.to_double_vector();
    double num = 0, den = 0;
    for (size_t i = 0; i < x.size(); ++i) num += (x[i] - y[i]) * (x[i] - y[i]), den += y[i] * y[i];
    return std::sqrt(num / std::max(den, 1e-300));
}

// The bits of every parameter and buffer, to check that the replicas hold the same model.
std::vector<double> fingerprint(const nn::Module& m) {
    std::vector<double> f;
    for (const auto& list : {m.named_parameters(), m.named_buffers()})
        for (const auto& [name, t] : list) {
            double s = 0;
            for (float v : t.to_vector()) {
                uint32_t bits;
                std::memcpy(&bits, &v, 4);
                s = s * 1.0000001 + double(bits);
            }
            f.push_back(s);
        }
    return f;
}

void require_same_on_every_rank(const nn::Module& m) {
    const std::vector<double> mine = fingerprint(m), all = comm().all_gather(mine);
    for (int r = 0; r < comm().size(); ++r)
        for (size_t i = 0; i < mine.size(); ++i) {
            INFO("rank " << r << ", tensor " << i);
            CHECK(all[size_t(r) * mine.size() + i] == mine[i]);
        }
}

// A small discriminator-like net: x [N, 3, 8, 8] -> p [N].
std::shared_ptr<nn::Sequential> make_net(bool batchnorm) {
    auto net = std::make_shared<nn::Sequential>();
    net->emplace<nn::Conv2d>(3, 6, 4, Conv2dOptions::square(2, 1), !batchnorm);
    if (batchnorm) net->emplace<nn::BatchNorm2d>(6);
    net->emplace<nn::LeakyReLU>(0.2);
    net->emplace<nn::Conv2d>(6, 8, 4, Conv2dOptions::square(2, 1), !batchnorm);
    if (batchnorm) net->emplace<nn::BatchNorm2d>(8);
    net->emplace<nn::LeakyReLU>(0.2);
    net->emplace<nn::Conv2d>(8, 1, 2, Conv2dOptions::square(1, 0), true);
    net->emplace<nn::Sigmoid>();
    return net;
}

void perturb(const nn::Module& m, Generator& gen) {
    for (const Tensor& p : m.parameters()) p.copy_from(Tensor::normal(p.shape(), 0, 1, gen).to(p.device()));
}

// k SGD steps of `net` on the rows [begin, end) of each step's global batch.
void train(nn::Module& net, const std::vector<Tensor>& xs, const std::vector<Tensor>& ys, int64_t begin, int64_t end,
           dist::GradientReducer* reducer) {
    nn::SGD opt(net.parameters(), {.lr = 0.5, .momentum = 0.5});
    for (size_t step = 0; step < xs.size(); ++step) {
        opt.zero_grad();
        const Tensor p = net(xs[step].slice_rows(begin, end));
        binary_cross_entropy(p.reshape({end - begin}), ys[step].slice_rows(begin, end)).backward();
        if (reducer) reducer->all_reduce();
        opt.step();
    }
}

// N ranks on shards of a global batch against one process on all of it.
void check_matches_single_process(bool sync_batchnorm) {
    const int64_t global_batch = 8, n = global_batch / comm().size();
    Generator data{777, 0};
    std::vector<Tensor> xs, ys;
    for (int step = 0; step < 3; ++step) {
        xs.push_back(Tensor::normal({global_batch, 3, 8, 8}, 0, 1, data).to(g_device));
        ys.push_back(Tensor::uniform({global_batch}, 0.05, 0.95, data).to(g_device));
    }
    manual_seed(4242);
    auto reference = make_net(sync_batchnorm);
    manual_seed(4242);
    auto replica = make_net(sync_batchnorm);
    reference->to(g_device);
    replica->to(g_device);
    // Replicas start apart: the broadcast must make them rank 0's model.
    Generator other{uint64_t(100 + comm().rank()), 0};
    if (!comm().is_root()) perturb(*replica, other);
    dist::broadcast_state(comm(), *replica);
    if (sync_batchnorm) CHECK(dist::convert_sync_batchnorm(*replica, comm()) == 2);
    const auto initial = reference->named_parameters();
    std::vector<Tensor> start;
    for (const auto& [name, t] : initial) start.push_back(t.clone());

    train(*reference, xs, ys, 0, global_batch, nullptr);
    dist::GradientReducer reducer(comm(), replica->parameters(), 64);  // small buckets: several of them
    CHECK(reducer.bucket_count() > 2);
    train(*replica, xs, ys, comm().rank() * n, (comm().rank() + 1) * n, &reducer);

    const auto ref = reference->named_parameters(), got = replica->named_parameters();
    for (size_t i = 0; i < ref.size(); ++i) {
        INFO(ref[i].first);
        CHECK(rel_error(ref[i].second, start[i]) > 1e-3);  // training moved it: the check can fail
        CHECK(rel_error(got[i].second, ref[i].second) < 2e-5);
    }
    const auto ref_buffers = reference->named_buffers(), got_buffers = replica->named_buffers();
    for (size_t i = 0; i < ref_buffers.size(); ++i) {
        INFO(ref_buffers[i].first);
        CHECK(rel_error(got_buffers[i].second, ref_buffers[i].second) < 2e-5);
    }
    require_same_on_every_rank(*replica);
}

// An identity op whose backward writes `name` into `events` when it runs: how far the
// reverse pass has got when a bucket starts.
Tensor marker(const Tensor& x, const std::string& name, std::vector<std::string>& events) {
    Tensor out;
    {
        NoGradGuard no_grad;
        out = x.clone();
    }
    return record("marker", out, {x}, [&events, name](const Tensor& dy, const std::vector<bool>&) {
        events.push_back(name);
        return std::vector<Tensor>{dy};
    });
}

// Two replicas of one model on this rank's data, three SGD steps of two backward passes
// each (as a GAN's D step): one reduces after backward (start/finish), the other overlaps
// its reduction with the second backward. The same bits either way, and the overlapped one
// starts its first bucket before backward reaches the network's input.
void check_overlap_matches_plain(bool sync_batchnorm) {
    const int64_t n = 4;
    Generator data{uint64_t(900 + comm().rank()), 0};  // each rank its own shard
    manual_seed(99);
    auto plain = make_net(sync_batchnorm);
    manual_seed(99);
    auto overlapped = make_net(sync_batchnorm);
    plain->to(g_device);
    overlapped->to(g_device);
    if (sync_batchnorm) {
        dist::convert_sync_batchnorm(*plain, comm());
        dist::convert_sync_batchnorm(*overlapped, comm());
    }
    const std::vector<double> start = fingerprint(*plain);
    dist::GradientReducer reduce_plain(comm(), plain->parameters(), 64), reduce_overlapped(comm(), overlapped->parameters(), 64);
    REQUIRE(reduce_overlapped.bucket_count() > 2);
    std::vector<std::string> events;
    reduce_overlapped.on_bucket_started = [&](size_t k) { events.push_back("bucket " + std::to_string(k)); };
    nn::SGD opt_plain(plain->parameters(), {.lr = 0.5, .momentum = 0.5});
    nn::SGD opt_overlapped(overlapped->parameters(), {.lr = 0.5, .momentum = 0.5});
    auto loss = [&](nn::Module& net, const Tensor& x, const Tensor& y) {
        return binary_cross_entropy(net(marker(x, "input side", events)).reshape({n}), y);
    };
    for (int step = 0; step < 3; ++step) {
        const Tensor x1 = Tensor::normal({n, 3, 8, 8}, 0, 1, data).to(g_device).set_requires_grad(true);
        const Tensor x2 = Tensor::normal({n, 3, 8, 8}, 0, 1, data).to(g_device).set_requires_grad(true);
        const Tensor y1 = Tensor::uniform({n}, 0.05, 0.95, data).to(g_device), y2 = Tensor::uniform({n}, 0.05, 0.95, data).to(g_device);
        opt_plain.zero_grad();
        loss(*plain, x1, y1).backward();
        loss(*plain, x2, y2).backward();
        reduce_plain.all_reduce();
        opt_plain.step();

        opt_overlapped.zero_grad();
        loss(*overlapped, x1, y1).backward();
        const Tensor last = loss(*overlapped, x2, y2);
        events.clear();
        reduce_overlapped.overlap_next_backward();
        last.backward();
        const std::vector<std::string> during_backward = events;
        reduce_overlapped.finish();
        opt_overlapped.step();
        if (comm().size() > 1) {  // one process sends nothing
            INFO("step " << step);
            const auto input_side = std::find(during_backward.begin(), during_backward.end(), "input side");
            REQUIRE(input_side != during_backward.end());
            CHECK(std::find(during_backward.begin(), input_side, "bucket 0") != input_side);
            // every bucket once, in order
            std::vector<std::string> buckets;
            for (const std::string& e : events)
                if (e.rfind("bucket", 0) == 0) buckets.push_back(e);
            REQUIRE(buckets.size() == reduce_overlapped.bucket_count());
            for (size_t k = 0; k < buckets.size(); ++k) CHECK(buckets[k] == "bucket " + std::to_string(k));
        }
    }
    CHECK(fingerprint(*plain) != start);  // training moved the weights: the comparison can fail
    CHECK(fingerprint(*overlapped) == fingerprint(*plain));
    require_same_on_every_rank(*overlapped);

    // A backward that reaches the parameters again after the overlapped one is refused.
    const Tensor x = Tensor::normal({n, 3, 8, 8}, 0, 1, data).to(g_device), y = Tensor::uniform({n}, 0.05, 0.95, data).to(g_device);
    opt_overlapped.zero_grad();
    const Tensor l1 = loss(*overlapped, x, y), l2 = loss(*overlapped, x, y);
    reduce_overlapped.overlap_next_backward();
    l1.backward();
    if (comm().size() > 1) CHECK_THROWS_CONTAINING(l2.backward(), "received a gradient in a second backward()");
    reduce_overlapped.finish();  // every rank threw at the same point: the rest of the buckets start here
}

}  // namespace

TEST_CASE("reduction overlapped with backward: same bits, started early; no batchnorm") {
    check_overlap_matches_plain(false);
}

TEST_CASE("reduction overlapped with backward: same bits, started early; sync batchnorm") {
    check_overlap_matches_plain(true);
}

TEST_CASE("N ranks with global batch B step as one process with batch B: no batchnorm") {
    check_matches_single_process(false);
}

TEST_CASE("N ranks with global batch B step as one process with batch B: synchronised batchnorm") {
    check_matches_single_process(true);
}

TEST_CASE("per-replica batchnorm: each rank's statistics are its own shard's") {
    const int64_t global_batch = 6 * comm().size(), n = global_batch / comm().size();
    Generator data{31337, 0};
    const Tensor x = Tensor::normal({global_batch, 4, 3, 3}, 0.5, 2, data);
    const Tensor shard = x.slice_rows(comm().rank() * n, (comm().rank() + 1) * n);
    nn::BatchNorm2d bn(4);
    bn(shard);
    // running_mean = 0.1 * the shard's mean, running_var = 0.9 + 0.1 * its unbiased variance.
    const std::vector<double> v = shard.to_double_vector();
    const std::vector<double> rm = bn.running_mean.to_double_vector(), rv = bn.running_var.to_double_vector();
    for (int64_t c = 0; c < 4; ++c) {
        double s = 0, ss = 0;
        const int64_t count = n * 9;
        for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < 9; ++j) s += v[size_t((i * 4 + c) * 9 + j)];
        const double mean = s / double(count);
        for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < 9; ++j) ss += std::pow(v[size_t((i * 4 + c) * 9 + j)] - mean, 2);
        CHECK(rm[size_t(c)] == Approx(0.1 * mean).margin(1e-6));
        CHECK(rv[size_t(c)] == Approx(0.9 + 0.1 * ss / double(count - 1)).epsilon(1e-5));
    }
    // and so the ranks' statistics differ (their shards do)
    const std::vector<double> all = comm().all_gather(rm);
    for (int r = 1; r < comm().size(); ++r) CHECK(all[size_t(r) * 4] != all[0]);
}

TEST_CASE("gradients are averaged over the ranks, in buckets, a missing gradient counting as zeros") {
    Generator init{5, 0};
    std::vector<Tensor> params;
    for (const Shape& s : {Shape{3, 5}, Shape{7}, Shape{2, 2, 2, 2}, Shape{11}}) {
        params.push_back(Tensor::normal(s, 0, 1, init));
        params.back().set_requires_grad(true);
    }
    // Rank r's gradients come from seed 1000 + r; parameter 1 has none on rank 0.
    auto gradients_of = [&](int rank) {
        Generator g{uint64_t(1000 + rank), 0};
        std::vector<Tensor> grads;
        for (const Tensor& p : params) grads.push_back(Tensor::normal(p.shape(), 0, 1, g));
        if (rank == 0) grads[1] = Tensor::zeros(params[1].shape());
        return grads;
    };
    const std::vector<Tensor> mine = gradients_of(comm().rank());
    for (size_t i = 0; i < params.size(); ++i) params[i].set_grad(i == 1 && comm().rank() == 0 ? Tensor() : mine[i].clone());
    dist::GradientReducer reducer(comm(), params, 40);
    CHECK(reducer.bytes() == (15 + 7 + 16 + 11) * 4);
    reducer.start();
    reducer.finish();
    for (size_t i = 0; i < params.size(); ++i) {
        std::vector<double> expect(size_t(params[i].numel()), 0.0);
        for (int r = 0; r < comm().size(); ++r) {
            const std::vector<double> g = gradients_of(r)[i].to_double_vector();
            for (size_t k = 0; k < g.size(); ++k) expect[k] += g[k] / comm().size();
        }
        INFO("parameter " << i);
        REQUIRE(params[i].grad().defined());
        const std::vector<double> got = params[i].grad().to_double_vector();
        for (size_t k = 0; k < got.size(); ++k) CHECK(got[k] == Approx(expect[k]).margin(1e-6));
    }
}

TEST_CASE("all_reduce_mean: the mean over ranks, and its gradient the mean of the ranks' gradients") {
    Generator g{uint64_t(50 + comm().rank()), 0};
    const Tensor x = Tensor::normal({2, 3}, 0, 1, g).set_requires_grad(true);
    const Tensor m = dist::all_reduce_mean(comm(), x);
    // Rank r's loss is sum(m * w_r), w_r = r + 1. Each rank's x reaches every rank's loss
    // through m, so its gradient is the sum over ranks of w_r / N: the mean of the w_r.
    const double w = comm().rank() + 1.0;
    sum(mul(m, w)).backward();
    const std::vector<double> all_x = comm().all_gather(x.to_double_vector()), got = m.to_double_vector();
    double mean_w = 0;
    for (int r = 0; r < comm().size(); ++r) mean_w += (r + 1.0) / comm().size();
    for (size_t k = 0; k < 6; ++k) {
        double e = 0;
        for (int r = 0; r < comm().size(); ++r) e += all_x[size_t(r) * 6 + k] / comm().size();
        CHECK(got[k] == Approx(e).margin(1e-6));
        CHECK(x.grad().to_double_vector()[k] == Approx(mean_w).margin(1e-6));
    }
}

TEST_CASE("shards are disjoint and cover every global batch of the epoch") {
    Generator g{99, 0};
    const int64_t size = 103, global_batch = 8;
    const std::vector<int64_t> order = random_permutation(size, g);
    // Every rank count, locally: rank r's batch b is its slice of global batch b.
    for (int ranks : {1, 2, 4, 8}) {
        std::vector<int> seen(size_t(size), 0);
        for (int r = 0; r < ranks; ++r) {
            const std::vector<int64_t> mine = dist::shard_epoch_order(order, global_batch, r, ranks);
            const int64_t n = global_batch / ranks;
            REQUIRE(int64_t(mine.size()) == (size / global_batch) * n);
            for (size_t i = 0; i < mine.size(); ++i) {
                const int64_t b = int64_t(i) / n, k = int64_t(i) % n;
                CHECK(mine[i] == order[size_t(b * global_batch + r * n + k)]);
                ++seen[size_t(mine[i])];
            }
        }
        for (int64_t i = 0; i < size; ++i) {
            INFO("ranks " << ranks << ", position " << i << " of the epoch");
            CHECK(seen[size_t(order[size_t(i)])] == (i < size / global_batch * global_batch ? 1 : 0));
        }
    }
    CHECK_THROWS_CONTAINING(dist::shard_epoch_order(order, 6, 0, 4), "does not split evenly over 4 ranks");
    // Across the real ranks: counted together, every sample of the 12 full batches once.
    std::vector<double> count(size_t(size), 0.0);
    for (int64_t i : dist::shard_epoch_order(order, global_batch, comm().rank(), comm().size())) count[size_t(i)] += 1;
    const std::vector<double> total = comm().all_reduce_sum_host(count);
    int64_t covered = 0;
    for (double c : total) {
        CHECK(c <= 1);
        covered += int64_t(c);
    }
    CHECK(covered == size / global_batch * global_batch);
}

int main(int argc, char* argv[]) {
    const char* device = std::getenv("GANOPS_TEST_DEVICE");
    if (device && std::string(device) == "cuda") g_device = Device::CUDA;
    std::unique_ptr<dist::Communicator> c = dist::init({.device = g_device, .program = "test_distributed"});
    std::printf("test_distributed: %d rank(s) over %s, models on %s\n", c->size(), dist::backend_name(c->backend()),
                device_name(g_device));
    g_comm = c.get();
    const int failed = Catch::Session().run(argc, argv);
    // Every rank exits with the worst result, so mpirun's status tells.
    const std::vector<double> all = c->all_gather({double(failed)});
    return int(*std::max_element(all.begin(), all.end()));
}
