// Conv -> BatchNorm2d -> ReLU/LeakyReLU -> Conv inside a Sequential, run as two fused
// convolutions (nn/functional.h conv_fused; kernels/conv_bn_fusion.h): the first gathers the
// batchnorm's statistics in its epilogue, the second applies batchnorm + activation while
// loading, so the normalised activation is never written. Where it applies: training, the
// batchnorm's own batch statistics (no stats_sync), and a float32 channels-last CUDA input;
// a conv is Conv2d or ConvTranspose2d. Modules, names, parameters and checkpoints are
// unchanged: only how Sequential runs them.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../kernels/conv_bn_fusion.h"
#include "module.h"

namespace ganops::nn {

// Off by default: the fused convolutions are predicted slower than the unfused kernels today
// (the prologue's per-chunk work in issue-bound loops, and the fused grad-weight on the
// register-staged loop; benchmarks/NOTES.md, "Conv + batchnorm + activation fused"). On: the
// chains run fused (tests compare the two).
bool& conv_bn_fusion_enabled();

using Children = std::vector<std::pair<std::string, std::shared_ptr<Module>>>;

// Runs children[i] fused where it is a conv that ends a chain (`pending`: the batchnorm +
// activation the previous fused conv left for it) or starts one (children[i + 1..i + 3] are
// BatchNorm2d, ReLU/LeakyReLU and a conv). Returns how many children it ran (1, or 3 when it
// took the batchnorm and the activation along, leaving them in `pending`); 0 where it does
// not apply (then h and pending are untouched).
size_t run_conv_bn_chain(const Children& children, size_t i, Tensor& h, std::optional<kernels::BatchnormOnLoad>& pending);

}  // namespace ganops::nn
