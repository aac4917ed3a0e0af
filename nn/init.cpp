#include "init.h"

#include "batchnorm2d.h"
#include "conv2d.h"
#include "conv_transpose2d.h"

namespace ganops::nn {

void normal_(const Tensor& t, double mean, double stddev, Generator& gen) {
    t.copy_from(Tensor::normal(t.shape(), mean, stddev, gen, t.dtype(), t.device()));
}

void uniform_(const Tensor& t, double low, double high, Generator& gen) {
    t.copy_from(Tensor::uniform(t.shape(), low, high, gen, t.dtype(), t.device()));
}

void constant_(const Tensor& t, double value) { t.fill(value); }

void dcgan_init(Module& model, Generator& gen) {
    for (Module* m : model.modules()) {
        if (auto* conv = dynamic_cast<Conv2d*>(m)) {
            normal_(conv->weight, 0.0, 0.02, gen);
        } else if (auto* deconv = dynamic_cast<ConvTranspose2d*>(m)) {
            normal_(deconv->weight, 0.0, 0.02, gen);
        } else if (auto* bn = dynamic_cast<BatchNorm2d*>(m); bn && bn->weight.defined()) {
            normal_(bn->weight, 1.0, 0.02, gen);
            constant_(bn->bias, 0.0);
        }
    }
}

}  // namespace ganops::nn
