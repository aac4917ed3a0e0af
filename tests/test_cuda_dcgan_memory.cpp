// Device memory of the DCGAN training step (examples/dcgan_bedroom/step.h) against the
// memory model of benchmarks/memory_model.h, emulated in CI: a graph holds exactly the
// tensors its backward needs, a backward with SavedTensors::Free gives them back as it
// goes, and the step's peak stays within the model's prediction, which a tensor held
// beyond what the model counts (one activation's worth) exceeds.
#include <cstdio>

#include "step.h"
#include "test_util.h"

// The model comes with the benchmarks' library (benchmarks/CMakeLists.txt links it here).
#if defined(GANOPS_WITH_ROOFLINE)
#include "memory_model.h"

using namespace ganops;

namespace {

// 32x32 images, 8 channels wide, batch 4: small enough to emulate, wide enough that the
// activations are not lost among the 512-byte blocks of the per-channel vectors.
constexpr int64_t kBatch = 4;
const nn::DcganConfig kConfig{.nz = 8, .ngf = 8, .ndf = 8, .nc = 3, .image_size = 32};
const roofline::DcganShape kShape{.batch = kBatch, .nz = 8, .ngf = 8, .ndf = 8, .nc = 3, .image = 32};

memory_model::GemmPath gemm_path() {
    return matmul_precision() == Precision::FP32 ? memory_model::GemmPath::Simt : memory_model::GemmPath::TensorCore;
}

// What tensors hold (the allocator's rounded requests: the model's unit, and PyTorch's).
int64_t in_use() { return int64_t(cuda::allocator_stats().bytes_requested); }

struct Nets {
    Generator noise{41, 0}, tricks{42, 0}, dropout{43, 0}, data{44, 0};
    nn::DcganGenerator g{kConfig};
    dcgan::Discriminator d{kConfig, 0.0, dropout};
    nn::Adam opt_g, opt_d;
    Nets() : opt_g((init(), g.parameters()), {.lr = 2e-3, .beta1 = 0.5}), opt_d(d.parameters(), {.lr = 2e-3, .beta1 = 0.5}) {}
    void init() {
        Generator weights{40, 0};
        nn::dcgan_init(g, weights);
        nn::dcgan_init(d, weights);
        g.to(Device::CUDA);
        d.to(Device::CUDA);
    }
};

int64_t param_grad_bytes(const nn::Module& m) {
    int64_t bytes = 0;
    for (const Tensor& p : m.parameters()) bytes += memory_model::allocator_block(p.numel() * 4);
    return bytes;
}

}  // namespace

TEST_CASE("a DCGAN graph holds exactly what its backward needs, and SavedTensors::Free gives it back during the pass") {
    REQUIRE(cuda::available());
    Nets nets;
    const memory_model::DcganMemory model = memory_model::dcgan_step_memory(kShape, gemm_path(), false);
    const Tensor targets = Tensor::full({kBatch}, 1.0, DType::F32, Device::CUDA);

    const int64_t before_g = in_use();
    const Tensor fake = nets.g(Tensor::normal({kBatch, kConfig.nz, 1, 1}, 0, 1, nets.noise, DType::F32, Device::CUDA));
    const int64_t g_graph = in_use() - before_g;  // the noise, and per layer the convolution's and the activation's outputs
    INFO("G's graph holds " << g_graph << " bytes, the model counts " << model.saved_g);
    CHECK(g_graph == model.saved_g);

    const int64_t before_d = in_use();
    Tensor loss = binary_cross_entropy(nets.d(fake.detach()), targets);
    const int64_t d_graph = in_use() - before_d;
    INFO("D's graph holds " << d_graph << " bytes, the model counts " << model.saved_d);
    CHECK(d_graph == model.saved_d);

    // Each layer's batchnorm output (the activation's input) is not kept: a graph that kept
    // it, as one whose ReLU saved its input would, holds more than the model counts.
    int64_t bn_outputs = 0;
    for (int64_t c = kConfig.ngf * 4, s = 4; s < kConfig.image_size; c /= 2, s *= 2)
        bn_outputs += memory_model::allocator_block(4 * kBatch * c * s * s);
    CHECK(g_graph + bn_outputs > model.saved_g);

    // Backward with Free: what stands afterwards is D's gradients and the loss, not its graph
    // (which the loss still refers to).
    backward(loss, Tensor(), SavedTensors::Free);
    const int64_t after_backward = in_use() - before_d;
    INFO("after D's backward: " << after_backward << " bytes over the start, D's gradients are " << param_grad_bytes(nets.d));
    CHECK(after_backward == param_grad_bytes(nets.d) + memory_model::allocator_block(4));
    loss = Tensor();
    CHECK(in_use() - before_d == param_grad_bytes(nets.d));
}

TEST_CASE("the DCGAN step's peak memory is within the memory model's prediction, and one more activation exceeds it") {
    REQUIRE(cuda::available());
    Nets nets;
    const dcgan::StepOptions options{.batch_size = kBatch, .nz = kConfig.nz, .real_label = 0.9, .fake_label = 0.0, .d_steps = 1,
                                     .device = Device::CUDA, .cuda_graph = false};
    dcgan::DcganStep step(nets.g, nets.d, nets.opt_g, nets.opt_d, options, nets.noise, nets.tricks, 0, 16);  // train.cpp's monitor
    auto iteration = [&](int it, const Tensor& extra) {
        cuda::StreamGuard on(step.stream());
        Tensor real = Tensor::uniform({kBatch, 3, 32, 32}, -1, 1, nets.data, DType::F32, Device::CUDA);
        cuda::reset_peak_stats();
        REQUIRE(step.run(real, it, 0.0));
        (void)extra;  // held through the iteration by the caller
        const cuda::AllocatorStats stats = cuda::allocator_stats();
        if (it >= 4)
            std::printf("iteration %d: peak %zu bytes requested by tensors, %zu in the blocks serving them\n", it,
                        stats.peak_bytes_requested, stats.peak_bytes_in_use);
        return int64_t(stats.peak_bytes_requested);
    };
    for (int it = 0; it < 4; ++it) iteration(it, Tensor());  // warm-up: the allocator's cache settles
    const memory_model::DcganMemory model = memory_model::dcgan_step_memory(kShape, gemm_path(), false);
    const int64_t peak = iteration(4, Tensor());
    std::printf("DCGAN step memory (32x32, ngf = ndf = 8, batch %lld): peak %lld bytes requested, the model predicts %lld (at %s)\n",
                (long long)kBatch, (long long)peak, (long long)model.peak(), model.peak_at.c_str());
    CHECK(peak <= model.peak());
    // The model is tight enough to notice one activation held beyond what it counts: G's
    // largest (its last hidden layer's output, [batch, ngf, 16, 16]).
    Tensor extra;
    {
        cuda::StreamGuard on(step.stream());
        extra = Tensor::empty({kBatch, kConfig.ngf, 16, 16}, DType::F32, Device::CUDA);
    }
    const int64_t peak_with_extra = iteration(5, extra);
    INFO("peak with one more activation held: " << peak_with_extra);
    CHECK(peak_with_extra > model.peak());
}
#endif  // GANOPS_WITH_ROOFLINE
