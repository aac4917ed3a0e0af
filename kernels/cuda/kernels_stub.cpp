// Compiled instead of the .cu files when the build has no CUDA: no tensor can then live on
// a GPU, so these are unreachable, and say so if reached.
#include "../../core/error.h"
#include "batchnorm2d_activation.h"
#include "conv2d_nhwc.h"
#include "conv2d_nhwc_activation.h"
#include "graph_replay.h"
#include "kernels.h"
#include "layout.h"
#include "training_monitor.h"

namespace ganops::cuda {

namespace {
[[noreturn]] void no_cuda(const char* kernel) {
    fail("cuda::", kernel, ": this build of libganops was made without CUDA");
}
}  // namespace

void fill(float*, int64_t, float) { no_cuda("fill"); }
void fill(double*, int64_t, double) { no_cuda("fill"); }
void uniform_fill(float*, int64_t, uint64_t, uint64_t, float, float) { no_cuda("uniform_fill"); }
void uniform_fill(double*, int64_t, uint64_t, uint64_t, float, float) { no_cuda("uniform_fill"); }
void normal_fill(float*, int64_t, uint64_t, uint64_t, float, float) { no_cuda("normal_fill"); }
void normal_fill(double*, int64_t, uint64_t, uint64_t, float, float) { no_cuda("normal_fill"); }
void dropout_mask(float*, int64_t, uint64_t, uint64_t, double, float) { no_cuda("dropout_mask"); }
void monitor_add_mean(double*, int64_t, int64_t, int64_t, const float*, int64_t) { no_cuda("monitor_add_mean"); }
void monitor_next_iteration(double*, int64_t, int64_t) { no_cuda("monitor_next_iteration"); }
void advance_replay_state(int64_t*, uint64_t*, const ReplayAdvance&) { no_cuda("advance_replay_state"); }
void binary(Binary, const float*, const float*, float*, int64_t) { no_cuda("binary"); }
void scale(const float*, float, float*, int64_t) { no_cuda("scale"); }
void expand_scalar(const float*, float, float*, int64_t) { no_cuda("expand_scalar"); }
void sum(const float*, int64_t, float*) { no_cuda("sum"); }
void channel_sum(const float*, int64_t, int64_t, int64_t, float*) { no_cuda("channel_sum"); }
void add_channel_bias(float*, const float*, int64_t, int64_t, int64_t) { no_cuda("add_channel_bias"); }
void repeat_rows(const float*, int64_t, int64_t, float, float*) { no_cuda("repeat_rows"); }
void activation_forward(Activation, float, const float*, float*, int64_t) { no_cuda("activation_forward"); }
void activation_backward(Activation, float, const float*, const float*, float*, int64_t) { no_cuda("activation_backward"); }
void bce_forward(const float*, const float*, int64_t, float*) { no_cuda("bce_forward"); }
void bce_backward(const float*, const float*, const float*, float*, int64_t) { no_cuda("bce_backward"); }
void bce_with_logits_forward(const float*, const float*, int64_t, float*) { no_cuda("bce_with_logits_forward"); }
void bce_with_logits_backward(const float*, const float*, const float*, float*, int64_t) {
    no_cuda("bce_with_logits_backward");
}
void batchnorm2d_forward_train(const float*, const float*, const float*, int64_t, int64_t, int64_t, double, double, float*,
                               float*, float*, float*, float*) {
    no_cuda("batchnorm2d_forward_train");
}
void batchnorm2d_forward_eval(const float*, const float*, const float*, const float*, const float*, int64_t, int64_t,
                              int64_t, double, float*) {
    no_cuda("batchnorm2d_forward_eval");
}
void batchnorm2d_invstd(const float*, int64_t, double, float*) { no_cuda("batchnorm2d_invstd"); }
void batchnorm2d_backward(const float*, const float*, const float*, const float*, const float*, int64_t, int64_t, int64_t,
                          bool, float*, float*, float*) {
    no_cuda("batchnorm2d_backward");
}
void batchnorm2d_leaky_relu_forward_train(const float*, const float*, const float*, int64_t, int64_t, int64_t, double,
                                          double, float, float*, float*, float*, float*, float*, bool) {
    no_cuda("batchnorm2d_leaky_relu_forward_train");
}
void batchnorm2d_leaky_relu_apply(const float*, const float*, const float*, const float*, const float*, int64_t, int64_t,
                                  int64_t, float, float*, bool) {
    no_cuda("batchnorm2d_leaky_relu_apply");
}
void batchnorm2d_leaky_relu_backward(const float*, const float*, const float*, const float*, const float*, const float*,
                                     int64_t, int64_t, int64_t, float, float*, float*, float*, bool) {
    no_cuda("batchnorm2d_leaky_relu_backward");
}
void conv2d_forward(const ConvGeometry&, const float*, const float*, const float*, float*) { no_cuda("conv2d_forward"); }
void conv2d_backward_input(const ConvGeometry&, const float*, const float*, float*) { no_cuda("conv2d_backward_input"); }
void conv2d_backward_weight(const ConvGeometry&, const float*, const float*, float*) { no_cuda("conv2d_backward_weight"); }
void linear_forward(const float*, const float*, const float*, int64_t, int64_t, int64_t, float*) { no_cuda("linear_forward"); }
void linear_backward_input(const float*, const float*, int64_t, int64_t, int64_t, float*) {
    no_cuda("linear_backward_input");
}
void linear_backward_weight(const float*, const float*, int64_t, int64_t, int64_t, float*) {
    no_cuda("linear_backward_weight");
}
void adam_update(const AdamTensor*, int, double, double, double, double, double, int64_t) { no_cuda("adam_update"); }
void sgd_update(const SgdTensor*, int, double, double, double, double, bool) { no_cuda("sgd_update"); }

void softmax_forward(const float*, int64_t, int64_t, float*) { no_cuda("softmax_forward"); }
void softmax_backward(const float*, const float*, int64_t, int64_t, float*) { no_cuda("softmax_backward"); }
void softmax_cross_entropy_forward(const float*, const float*, int64_t, int64_t, float*) {
    no_cuda("softmax_cross_entropy_forward");
}
void softmax_cross_entropy_backward(const float*, const float*, const float*, int64_t, int64_t, float*) {
    no_cuda("softmax_cross_entropy_backward");
}
void concat_channels(const float*, const float*, int64_t, int64_t, int64_t, int64_t, float*) { no_cuda("concat_channels"); }
void split_channels(const float*, int64_t, int64_t, int64_t, int64_t, float*, float*) { no_cuda("split_channels"); }
void adaptive_max_pool2d_forward(const float*, int64_t, int64_t, int64_t, int64_t, int64_t, float*) {
    no_cuda("adaptive_max_pool2d_forward");
}
void adaptive_max_pool2d_backward(const float*, const float*, int64_t, int64_t, int64_t, int64_t, int64_t, float*) {
    no_cuda("adaptive_max_pool2d_backward");
}

}  // namespace ganops::cuda

// Memory formats (layout.h) and channels-last convolution (conv2d_nhwc.h).
namespace ganops::cuda {
void batched_transpose(const float*, int64_t, int64_t, int64_t, float*) { no_cuda("batched_transpose"); }
void conv2d_forward_nhwc(const ConvGeometry&, const float*, const float*, const float*, float*, ActivationsTf32) {
    no_cuda("conv2d_forward_nhwc");
}
void conv2d_backward_input_nhwc(const ConvGeometry&, const float*, const float*, float*, ActivationsTf32) {
    no_cuda("conv2d_backward_input_nhwc");
}
void conv2d_backward_weight_nhwc(const ConvGeometry&, const float*, const float*, float*, ActivationsTf32) {
    no_cuda("conv2d_backward_weight_nhwc");
}
ActivationsTf32 conv2d_nhwc_rounds_to_tf32(const ConvGeometry&) { return {}; }
// conv2d + LeakyReLU in one channels-last pass (conv2d_nhwc_activation.h).
bool conv2d_forward_nhwc_leaky_relu_applies(const ConvGeometry&) { return false; }
void conv2d_forward_nhwc_leaky_relu(const ConvGeometry&, const float*, const float*, const float*, float, float*, bool) {
    no_cuda("conv2d_forward_nhwc_leaky_relu");
}
}  // namespace ganops::cuda

// Batchnorm fused into the channels-last convolutions (conv2d_nhwc.h, conv_bn_fusion.h).
namespace ganops::cuda {
void conv2d_forward_nhwc_fused(const ConvGeometry&, const float*, const NormAct*, const float*, const float*, float*,
                               const BatchnormOfOutput*) {
    no_cuda("conv2d_forward_nhwc_fused");
}
void conv2d_backward_input_nhwc_fused(const ConvGeometry&, const float*, const NormAct*, const float*, float*,
                                      const BatchnormOfOutput*) {
    no_cuda("conv2d_backward_input_nhwc_fused");
}
void conv2d_backward_weight_nhwc_fused(const ConvGeometry&, const float*, const NormAct*, const float*, const NormAct*,
                                       float*) {
    no_cuda("conv2d_backward_weight_nhwc_fused");
}
bool conv2d_forward_nhwc_moments_fused(const ConvGeometry&) { return false; }
bool conv2d_backward_input_nhwc_moments_fused(const ConvGeometry&) { return false; }
void batchnorm_nhwc_finish(const TileMoments*, int64_t, int64_t, const BatchnormOfOutput&) { no_cuda("batchnorm_nhwc_finish"); }
void batchnorm_nhwc_moments_from_rows(const float*, int64_t, int64_t, TileMoments*) {
    no_cuda("batchnorm_nhwc_moments_from_rows");
}
void batchnorm_act_nhwc_apply(const float*, int64_t, int64_t, const NormAct&, float*) { no_cuda("batchnorm_act_nhwc_apply"); }
void batchnorm_act_nhwc_backward(const float*, const float*, const NormAct&, const float*, const float*, const float*, int64_t,
                                 int64_t, float*, float*, float*) {
    no_cuda("batchnorm_act_nhwc_backward");
}
}  // namespace ganops::cuda
