// Predicted device memory of one DCGAN training iteration (examples/dcgan_bedroom/step.h),
// counted from the layer shapes as the caching allocator holds it: every tensor a block of
// its rounded size (core/cuda_allocator.cpp). `dcgan_step --predict` prints it next to
// PyTorch's measured peaks; tests/test_cuda_dcgan_step.cpp checks it against the allocator's
// peak_bytes_in_use of the emulated step, and checks that a tensor held beyond what the
// model counts makes the step exceed it.
//
// The model follows the iteration as step.cpp runs it, op by op, and takes the largest
// total of live blocks:
//   - between iterations: parameters, Adam's two moments per parameter, batchnorm's running
//     statistics, the training monitor and D's targets; the real batch (and, replayed as a
//     graph, the graph's copy of it). Gradients stand only from a backward to its
//     optimizer step (step.cpp drops them after it);
//   - a graph keeps what each op saves for backward (core/autograd.h keeps nothing else): a
//     convolution its input (and its weight, a parameter), batchnorm its input and the
//     per-channel mean and 1/std, ReLU/LeakyReLU/tanh/sigmoid their output, which is the
//     next layer's input. Per conv-BN-activation layer: the convolution's output and the
//     activation's output. G's graph stands from G's forward to the generator step;
//   - forward: an op's output next to what is saved so far (batchnorm's output next to its
//     input while the activation runs), the GEMM's split-K partials;
//   - backward frees each op's saved tensors once it has run (SavedTensors::Free); at each
//     op: what ops still to run hold, the incoming gradient, the input gradient, the fresh
//     weight gradient and its copy or sum into .grad, the split-K partials or batchnorm's
//     partial sums, and the gradients made so far.
// Small tensors take 512-byte blocks; the allocator may hand out a block up to twice the
// size asked (best fit), which the model does not count: it matters only for tensors far
// below a MiB.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "roofline.h"

namespace memory_model {

enum class GemmPath { Simt, TensorCore };  // strict fp32 / TF32, BF16, fp32-accurate (kernels/cuda/conv2d.cu)

// The caching allocator's block for a request of `bytes` (core/cuda_allocator.cpp's rounding).
int64_t allocator_block(int64_t bytes);

struct Part {
    std::string what;
    int64_t bytes;
};

struct DcganMemory {
    std::vector<Part> persistent;  // held between iterations
    int64_t batch = 0;             // the real batch (twice as a replayed graph: its input copy)
    int64_t saved_g = 0;           // G's graph: tensors saved for backward, noise and fake batch included
    int64_t saved_d = 0;           // D's graph on one batch, its input not included
    int64_t peak_bytes = 0;        // the largest total over the iteration
    std::string peak_at;           // the op where it is reached
    int64_t persistent_bytes() const;
    int64_t peak() const { return peak_bytes; }
};

DcganMemory dcgan_step_memory(const roofline::DcganShape& shape, GemmPath path, bool graph);

// PyTorch's peak MiB (torch.cuda.max_memory_allocated) for the same iteration at batch 128
// on an H100, from issue 14: TF32 465, strict fp32 365, BF16 autocast + channels_last 235.
struct PytorchPeak {
    const char* mode;
    double mib;
};
std::vector<PytorchPeak> pytorch_peaks_batch128();

// The table `dcgan_step --predict` prints.
std::string memory_report(const roofline::DcganShape& shape);

}  // namespace memory_model
