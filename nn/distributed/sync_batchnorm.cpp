#include "sync_batchnorm.h"

#include <cmath>

#include "../../core/autograd.h"
#include "../../core/error.h"
#include "../../kernels/batchnorm2d.h"
#include "../../kernels/elementwise.h"

namespace ganops::dist {

namespace {

Tensor per_channel(const std::vector<double>& v, const Tensor& like) {
    return Tensor::from_vector({int64_t(v.size())}, v, like.device()).to(like.dtype());
}

class SyncBatchNorm final : public nn::BatchNormStatsSync {
public:
    explicit SyncBatchNorm(Communicator& comm) : comm_(&comm) {}

    Tensor forward_train(nn::BatchNorm2d& bn, const Tensor& x) override {
        GANOPS_CHECK(x.ndim() == 4 || x.ndim() == 2, "SyncBatchNorm: input ", x.str(), " is not [N, C, H, W] or [N, C]");
        const int64_t c = x.size(1), local_count = x.numel() / std::max<int64_t>(c, 1);
        const Tensor weight = bn.weight.defined() ? bn.weight : Tensor::full({c}, 1.0, x.dtype(), x.device());
        const Tensor bias = bn.bias.defined() ? bn.bias : Tensor::zeros({c}, x.dtype(), x.device());

        // This shard's Welford parts; the kernel checks the shapes.
        const kernels::BatchNormStats local = kernels::batchnorm2d_forward_train(x, weight, bias, Tensor(), Tensor(), 0.0, bn.eps);
        const std::vector<double> local_mean = local.mean.to_double_vector(), local_invstd = local.invstd.to_double_vector();
        std::vector<double> parts(size_t(1 + 2 * c));
        parts[0] = double(local_count);
        for (int64_t ch = 0; ch < c; ++ch) {
            const double inv = local_invstd[size_t(ch)];
            parts[size_t(1 + ch)] = local_mean[size_t(ch)];
            parts[size_t(1 + c + ch)] = double(local_count) * std::max(0.0, 1.0 / (inv * inv) - bn.eps);
        }
        const std::vector<double> all = comm_->all_gather(parts);

        // Chan, Golub and LeVeque's pairwise update, rank 0 first: identical on every rank.
        double count = 0;
        std::vector<double> mean(size_t(c), 0.0), m2(size_t(c), 0.0);
        for (int r = 0; r < comm_->size(); ++r) {
            const double* p = &all[size_t(r) * parts.size()];
            const double nb = p[0], n = count + nb;
            if (nb == 0) continue;
            for (int64_t ch = 0; ch < c; ++ch) {
                const double delta = p[1 + ch] - mean[size_t(ch)];
                mean[size_t(ch)] += delta * nb / n;
                m2[size_t(ch)] += p[1 + c + ch] + delta * delta * count * nb / n;
            }
            count = n;
        }
        std::vector<double> var(static_cast<size_t>(c)), unbiased(static_cast<size_t>(c));
        for (int64_t ch = 0; ch < c; ++ch) {
            var[size_t(ch)] = m2[size_t(ch)] / count;
            unbiased[size_t(ch)] = count > 1 ? m2[size_t(ch)] / (count - 1) : var[size_t(ch)];
        }
        if (bn.running_mean.defined()) {
            NoGradGuard no_grad;
            std::vector<double> rm = bn.running_mean.to_double_vector(), rv = bn.running_var.to_double_vector();
            for (int64_t ch = 0; ch < c; ++ch) {
                rm[size_t(ch)] = (1 - bn.momentum) * rm[size_t(ch)] + bn.momentum * mean[size_t(ch)];
                rv[size_t(ch)] = (1 - bn.momentum) * rv[size_t(ch)] + bn.momentum * unbiased[size_t(ch)];
            }
            bn.running_mean.copy_from(per_channel(rm, bn.running_mean));
            bn.running_var.copy_from(per_channel(rv, bn.running_var));
        }

        const Tensor mean_t = per_channel(mean, x), var_t = per_channel(var, x);
        const Tensor y = kernels::batchnorm2d_forward_eval(x, weight, bias, mean_t, var_t, bn.eps);
        const Tensor invstd_t = kernels::batchnorm2d_invstd(var_t, bn.eps);
        const bool affine_weight = bn.weight.defined(), affine_bias = bn.bias.defined();
        Communicator* comm = comm_;
        const double eps = bn.eps;
        return record("sync_batchnorm2d", y, {x, bn.weight, bn.bias},
                      [=](const Tensor& dy, const std::vector<bool>& needs) {
                          // Eval-mode backward: dy * w * invstd, and this shard's sums of dy
                          // and dy * x_hat (the parameters' gradients, averaged later with
                          // every other gradient).
                          kernels::BatchNormGrads g =
                              kernels::batchnorm2d_backward(dy, x, weight, mean_t, invstd_t, false, true, true, true);
                          // Every rank's loss depends on this shard through the statistics: the
                          // global sums complete dx (the same collective on every rank).
                          const std::vector<double> sdy = g.dbias.to_double_vector(), sdx = g.dweight.to_double_vector();
                          std::vector<double> local(sdy);
                          local.insert(local.end(), sdx.begin(), sdx.end());
                          const std::vector<double> global = comm->all_reduce_sum_host(local);
                          const std::vector<double> w = weight.to_double_vector(), inv = invstd_t.to_double_vector();
                          std::vector<double> scale(static_cast<size_t>(c)), shift(static_cast<size_t>(c));
                          for (int64_t ch = 0; ch < c; ++ch) {
                              const double wi = w[size_t(ch)] * inv[size_t(ch)];
                              scale[size_t(ch)] = wi * global[size_t(c + ch)] / count;
                              shift[size_t(ch)] = wi * global[size_t(ch)] / count;
                          }
                          // x_hat * scale + shift, per channel, by the eval-mode kernel.
                          const Tensor correction = kernels::batchnorm2d_forward_eval(x, per_channel(scale, x),
                                                                                      per_channel(shift, x), mean_t, var_t, eps);
                          return std::vector<Tensor>{needs[0] ? kernels::sub(g.dx, correction) : Tensor(),
                                                     needs[1] && affine_weight ? g.dweight : Tensor(),
                                                     needs[2] && affine_bias ? g.dbias : Tensor()};
                      });
    }

private:
    Communicator* comm_;
};

}  // namespace

std::shared_ptr<nn::BatchNormStatsSync> make_sync_batchnorm(Communicator& comm) {
    return std::make_shared<SyncBatchNorm>(comm);
}

int convert_sync_batchnorm(nn::Module& module, Communicator& comm) {
    const std::shared_ptr<nn::BatchNormStatsSync> sync = make_sync_batchnorm(comm);
    int n = 0;
    for (nn::Module* m : module.modules())
        if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(m)) {
            bn->stats_sync = sync;
            ++n;
        }
    return n;
}

}  // namespace ganops::dist
