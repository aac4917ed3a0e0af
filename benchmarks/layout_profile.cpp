// Channels-last's memory-bound kernels in the emulator's profiling mode (no GPU needed):
// the NCHW <-> NHWC transposes (kernels/cuda/layout.cu), batchnorm's statistics and
// gradient sums on contiguous and on channels-last input (kernels/cuda/batchnorm2d.cu), and
// the fused batchnorm + leaky_relu the DCGAN step runs (kernels/cuda/batchnorm2d_activation.cu), at
// the 64x64 DCGAN's D2 activation [batch, 128, 16, 16] (batch 16 by default: counts per
// element do not depend on it). Prints the profile (core/emu/profile.h): sectors per
// request and coalescing of every global access, shared-memory wavefronts against the
// conflict-free minimum.
//     layout_profile [batch]
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/emu/profile.h"
#include "ganops.h"

using namespace ganops;

int main(int argc, char** argv) {
    const int64_t batch = argc > 1 ? std::atoll(argv[1]) : 16;
    Generator gen{1, 0};
    const Tensor x = Tensor::normal({batch, 128, 16, 16}, 0, 1, gen, DType::F32, Device::CUDA);
    const Tensor w = Tensor::full({128}, 1.0, DType::F32, Device::CUDA), b = Tensor::zeros({128}, DType::F32, Device::CUDA);
    ganops_emu::profile::start();
    const Tensor last = x.to_memory_format(MemoryFormat::ChannelsLast);   // NCHW -> NHWC
    const Tensor back = last.to_memory_format(MemoryFormat::Contiguous);  // NHWC -> NCHW
    for (const Tensor& in : {x, last}) {
        const Tensor xi = in.detach().set_requires_grad(true);
        const Tensor y = batchnorm2d(xi, w, b, Tensor(), Tensor(), true);
        y.backward(in);
        // A gradient of its own (not x again), so that the backward's three inputs are three tensors.
        const Tensor xf = in.detach().set_requires_grad(true);
        const Tensor yf = batchnorm2d_leaky_relu(xf, w, b, Tensor(), Tensor(), 0.2);
        yf.backward(Tensor::normal(in.shape(), 0, 1, gen, DType::F32, Device::CUDA).to_memory_format(in.memory_format()));
    }
    cuda::synchronize_stream(nullptr);
    ganops_emu::profile::stop();
    std::printf("%s", ganops_emu::profile::markdown(ganops_emu::profile::report(), 2).c_str());
    return back.numel() == x.numel() ? 0 : 1;
}
