// The CUDA side of the core: device detection, host/device copies, the caching allocator
// and streams. Labelled "gpu": it runs, and must pass, where a GPU is.
#include "test_util.h"

using namespace ganops;

TEST_CASE("a CUDA device is present (this suite only runs where one is)") { REQUIRE(cuda::available()); }

TEST_CASE("host -> device -> host copies are exact in both dtypes") {
    REQUIRE(cuda::available());
    for (DType dtype : {DType::F32, DType::F64}) {
        const Tensor x = test::randn({3, 5, 7, 2}, dtype);
        const Tensor d = x.to(Device::CUDA);
        CHECK(d.device() == Device::CUDA);
        CHECK(d.str() == "[3, 5, 7, 2] " + std::string(dtype_name(dtype)) + " cuda");
        const Tensor d2 = d.clone();  // device -> device
        CHECK(d2.to(Device::CPU).to_double_vector() == x.to_double_vector());
        const Tensor rows = d.slice_rows(1, 2);
        const auto all = x.to_double_vector();
        const auto part = rows.to_double_vector();
        CHECK(std::equal(part.begin(), part.end(), all.begin() + 70));
    }
}

TEST_CASE("fills on the device overwrite whatever was there") {
    REQUIRE(cuda::available());
    const Tensor t = Tensor::full({1000}, 3.5, DType::F32, Device::CUDA);
    for (float v : t.to_vector()) REQUIRE(v == 3.5f);
    t.fill(0.0);
    for (float v : t.to_vector()) REQUIRE(v == 0.0f);
    t.fill(-1.25);
    for (float v : t.to_vector()) REQUIRE(v == -1.25f);
}

TEST_CASE("random tensors on the device hold the CPU generator's numbers") {
    REQUIRE(cuda::available());
    Generator a{5, 17}, b{5, 17};
    const Tensor on_gpu = Tensor::normal({4099}, 0.5, 2.0, a, DType::F32, Device::CUDA);
    const Tensor on_cpu = Tensor::normal({4099}, 0.5, 2.0, b, DType::F32, Device::CPU);
    CHECK(on_gpu.to_vector() == on_cpu.to_vector());
    CHECK(a.offset == b.offset);
    const Tensor u_gpu = Tensor::uniform({1001}, -1, 1, a, DType::F32, Device::CUDA);
    const Tensor u_cpu = Tensor::uniform({1001}, -1, 1, b, DType::F32, Device::CPU);
    CHECK(u_gpu.to_vector() == u_cpu.to_vector());
}

TEST_CASE("the caching allocator reaches a steady state without cudaMalloc") {
    REQUIRE(cuda::available());
    auto iteration = [] {
        Tensor a = Tensor::empty({128, 64, 32, 32}, DType::F32, Device::CUDA);
        Tensor b = Tensor::empty({128, 3, 64, 64}, DType::F32, Device::CUDA);
        Tensor c = Tensor::empty({17}, DType::F32, Device::CUDA);
        return a.numel() + b.numel() + c.numel();
    };
    iteration();
    const cuda::AllocatorStats warm = cuda::allocator_stats();
    for (int i = 0; i < 50; ++i) iteration();
    const cuda::AllocatorStats after = cuda::allocator_stats();
    CHECK(after.device_allocations == warm.device_allocations);
    CHECK(after.cache_hits >= warm.cache_hits + 150);
    CHECK(after.bytes_in_use == warm.bytes_in_use);
    CHECK(after.peak_bytes_in_use >= size_t{128} * 64 * 32 * 32 * 4);
    cuda::empty_cache();
    CHECK(cuda::allocator_stats().bytes_cached == 0);
}

TEST_CASE("blocks are reused only on the stream that freed them") {
    REQUIRE(cuda::available());
    cuda::empty_cache();
    { Tensor t = Tensor::empty({1 << 20}, DType::F32, Device::CUDA); }
    const cuda::Stream s = cuda::create_stream();
    {
        cuda::StreamGuard guard(s);
        CHECK(cuda::current_stream() == s);
        const int64_t before = cuda::allocator_stats().device_allocations;
        const Tensor x = test::randn({1 << 20}, DType::F32);
        const Tensor t = x.to(Device::CUDA);  // allocated and copied on stream s
        CHECK(cuda::allocator_stats().device_allocations == before + 1);
        CHECK(t.to_vector() == x.to_vector());
    }
    CHECK(cuda::current_stream() == nullptr);
    cuda::synchronize_stream(s);
    cuda::destroy_stream(s);
}

TEST_CASE("device errors are messages, not crashes") {
    REQUIRE(cuda::available());
    CHECK_THROWS_CONTAINING(Tensor::empty({1 << 30, 1 << 14}, DType::F32, Device::CUDA), "cuda allocator: cannot allocate");
    const Tensor x = test::randn({1, 3, 8, 8}, DType::F32);
    const Tensor w = test::randn({4, 3, 3, 3}, DType::F32).to(Device::CUDA);
    CHECK_THROWS_CONTAINING(conv2d(x, w), "conv2d: input [1, 3, 8, 8] float32 cpu and weight [4, 3, 3, 3] float32 cuda are on different devices");
}

TEST_CASE("modules move their parameters and buffers to the device") {
    REQUIRE(cuda::available());
    nn::DcganDiscriminator d(nn::DcganConfig{.ndf = 4, .nc = 1, .image_size = 16});
    const auto before = d.named_parameters()[0].second.to_vector();
    d.to(Device::CUDA);
    for (const auto& [name, p] : d.named_parameters()) {
        INFO(name);
        CHECK(p.device() == Device::CUDA);
        CHECK(p.requires_grad());
        CHECK(p.is_leaf());
    }
    for (const auto& [name, b] : d.named_buffers()) CHECK(b.device() == Device::CUDA);
    CHECK(d.named_parameters()[0].second.to_vector() == before);
}
