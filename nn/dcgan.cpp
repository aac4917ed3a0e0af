#include "dcgan.h"

#include <algorithm>
#include <string>

#include "activation.h"
#include "batchnorm2d.h"
#include "conv2d.h"
#include "conv_transpose2d.h"

namespace ganops::nn {

namespace {
// Number of stride-2 layers between 4x4 and the image size.
int doublings(const char* op, const DcganConfig& c) {
    GANOPS_CHECK(c.nz > 0 && c.ngf > 0 && c.ndf > 0 && c.nc > 0, op, ": nz, ngf, ndf and nc must be positive (got ",
                 c.nz, ", ", c.ngf, ", ", c.ndf, ", ", c.nc, ")");
    GANOPS_CHECK(c.image_size >= 16 && (c.image_size & (c.image_size - 1)) == 0, op,
                 ": image_size must be a power of two >= 16, got ", c.image_size);
    int n = 0;
    for (int64_t s = 4; s < c.image_size; s *= 2) ++n;
    // The widest layer (at 4x4) has width * 2^(n-1) channels: checked here, so that an absurd
    // --ngf or image size is named, instead of wrapping into a negative channel count.
    const std::string widest = std::string(op) + ": the widest layer for image_size " + std::to_string(c.image_size) +
                               " (ngf or ndf times " + std::to_string(int64_t(1) << (n - 1)) + ")";
    checked_size_product(std::max(c.ngf, c.ndf), int64_t(1) << (n - 1), widest.c_str());
    return n;
}
}  // namespace

DcganGenerator::DcganGenerator(const DcganConfig& c) : config(c) {
    const int n = doublings("DcganGenerator", c);
    main = register_module("main", std::make_shared<Sequential>());
    int64_t width = c.ngf << (n - 1);  // 64x64: ngf * 8 at 4x4, as in the paper
    main->emplace<ConvTranspose2d>(c.nz, width, 4, ConvTranspose2dOptions::square(1, 0), false);
    main->emplace<BatchNorm2d>(width);
    main->emplace<ReLU>();
    for (int i = 1; i < n; ++i, width /= 2) {
        main->emplace<ConvTranspose2d>(width, width / 2, 4, ConvTranspose2dOptions::square(2, 1), false);
        main->emplace<BatchNorm2d>(width / 2);
        main->emplace<ReLU>();
    }
    main->emplace<ConvTranspose2d>(width, c.nc, 4, ConvTranspose2dOptions::square(2, 1), false);
    main->emplace<Tanh>();
}

Tensor DcganGenerator::forward(const Tensor& z) {
    GANOPS_CHECK(z.ndim() == 4 && z.size(1) == config.nz && z.size(2) == 1 && z.size(3) == 1,
                 "DcganGenerator: noise must be [N, ", config.nz, ", 1, 1], got ", z.str());
    return main->forward(z);
}

DcganDiscriminator::DcganDiscriminator(const DcganConfig& c) : config(c) {
    const int n = doublings("DcganDiscriminator", c);
    main = register_module("main", std::make_shared<Sequential>());
    int64_t width = c.ndf;
    main->emplace<Conv2d>(c.nc, width, 4, Conv2dOptions::square(2, 1), false);
    main->emplace<LeakyReLU>(0.2);
    for (int i = 1; i < n; ++i, width *= 2) {
        main->emplace<Conv2d>(width, width * 2, 4, Conv2dOptions::square(2, 1), false);
        main->emplace<BatchNorm2d>(width * 2);
        main->emplace<LeakyReLU>(0.2);
    }
    main->emplace<Conv2d>(width, 1, 4, Conv2dOptions::square(1, 0), false);
    main->emplace<Sigmoid>();
}

Tensor DcganDiscriminator::forward(const Tensor& x) {
    GANOPS_CHECK(x.ndim() == 4 && x.size(1) == config.nc && x.size(2) == config.image_size &&
                     x.size(3) == config.image_size,
                 "DcganDiscriminator: images must be [N, ", config.nc, ", ", config.image_size, ", ",
                 config.image_size, "], got ", x.str());
    const Tensor out = main->forward(x);
    return out.reshape({out.size(0)});
}

}  // namespace ganops::nn
