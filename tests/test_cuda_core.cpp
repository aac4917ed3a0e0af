// The CUDA side of the core: device detection, host/device copies, the caching allocator
// and streams. Labelled "gpu": it runs, and must pass, where a GPU is.
#include <algorithm>

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

TEST_CASE("memory read on another stream is reused only after that stream's work (record_stream)") {
    REQUIRE(cuda::available());
    const cuda::Stream a = cuda::create_stream(), b = cuda::create_stream();
    // 64 MiB: on a GPU the copy on b is still running when the host frees the source and
    // fills a new tensor on a; the emulator's deferred streams run the two in a seeded order,
    // so a few rounds see both orders.
    const int64_t n = int64_t{1} << 24;
    const size_t block = size_t(n) * 4;
    const cuda::AllocatorStats before = cuda::allocator_stats();
    for (int round = 1; round <= 8; ++round) {
        INFO("round " << round);
        Tensor src;
        {
            cuda::StreamGuard on(a);
            src = Tensor::full({n}, double(round), DType::F32, Device::CUDA);
        }
        cuda::synchronize_stream(a);  // the values are in place before b reads them
        Tensor dst;
        {
            cuda::StreamGuard on(b);
            dst = Tensor::empty({n}, DType::F32, Device::CUDA);
            dst.copy_from(src);  // queued on b
            src.record_stream(b);
        }
        src = Tensor();  // freed while b may still be reading it
        Tensor other;
        {
            // Same size on a: without record_stream this takes src's block at once, and the
            // fill races with b's copy.
            cuda::StreamGuard on(a);
            other = Tensor::full({n}, -1.0, DType::F32, Device::CUDA);
        }
        cuda::synchronize_stream(b);
        cuda::synchronize_stream(a);
        const std::vector<float> copied = dst.to_vector();
        REQUIRE(std::count(copied.begin(), copied.end(), float(round)) == n);
        const std::vector<float> filled = other.to_vector();
        REQUIRE(std::count(filled.begin(), filled.end(), -1.0f) == n);
    }
    // Every block the rounds took from the driver is back in a pool once the streams are
    // done: none is lost waiting for b. Destroying the streams hands them to the driver.
    const cuda::AllocatorStats after = cuda::allocator_stats();
    CHECK(after.bytes_pending == 0);
    CHECK(after.bytes_in_use == before.bytes_in_use);
    CHECK(after.bytes_cached - before.bytes_cached == size_t(after.device_allocations - before.device_allocations) * block);
    cuda::destroy_stream(a);
    cuda::destroy_stream(b);
    CHECK(cuda::allocator_stats().bytes_cached == before.bytes_cached);
}

TEST_CASE("destroying a stream returns the memory cached for it") {
    REQUIRE(cuda::available());
    cuda::empty_cache();
    const size_t bytes = size_t{4} << 20;
    const cuda::Stream s = cuda::create_stream();
    Tensor kept;
    {
        cuda::StreamGuard on(s);
        Tensor t = Tensor::full({int64_t(bytes / 4)}, 1.0, DType::F32, Device::CUDA);
        kept = Tensor::full({1000}, 3.0, DType::F32, Device::CUDA);
    }  // t's block is cached for s
    CHECK(cuda::allocator_stats().bytes_cached >= bytes);
    const size_t in_use = cuda::allocator_stats().bytes_in_use;
    cuda::destroy_stream(s);
    CHECK(cuda::allocator_stats().bytes_cached == 0);
    // A tensor allocated on the destroyed stream still holds its values, and freed, its
    // block goes back to the driver, not to a pool of a handle that may be reused.
    for (float v : kept.to_vector()) REQUIRE(v == 3.0f);
    kept = Tensor();
    CHECK(cuda::allocator_stats().bytes_in_use < in_use);
    CHECK(cuda::allocator_stats().bytes_cached == 0);
    const cuda::Stream s2 = cuda::create_stream();
    {
        cuda::StreamGuard on(s2);
        const int64_t before = cuda::allocator_stats().cache_hits;
        const Tensor t = Tensor::empty({1000}, DType::F32, Device::CUDA);
        CHECK(cuda::allocator_stats().cache_hits == before);
    }
    cuda::destroy_stream(s2);
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

TEST_CASE("a pinned upload on a copy stream, ordered by an event, needs no host wait") {
    REQUIRE(cuda::available());
    constexpr int64_t n = 1000;
    const cuda::Stream copy = cuda::create_stream(), compute = cuda::create_stream();
    {
        cuda::PinnedBuffer pinned(n * sizeof(float));
        const std::vector<double> values = test::randn({n}).to_double_vector();
        auto* host = static_cast<float*>(pinned.data());
        for (int64_t i = 0; i < n; ++i) host[i] = float(values[size_t(i)]);
        Tensor uploaded_batch;
        {
            cuda::StreamGuard on(copy);
            uploaded_batch = Tensor::empty({n}, DType::F32, Device::CUDA);
        }
        const CudaCounters before = cuda_counters();
        cuda::copy_to_device_async(uploaded_batch.data_ptr(), pinned, n * sizeof(float), copy);
        cuda::Event uploaded;
        uploaded.record(copy);
        Tensor doubled;
        {
            cuda::StreamGuard on(compute);
            uploaded.wait(compute);
            uploaded_batch.record_stream(compute);
            doubled = mul(uploaded_batch, 2.0);
        }
        CHECK(cuda_counters().host_syncs == before.host_syncs);
        // The buffer may be written again once the copy that read it has run.
        uploaded.synchronize();
        CHECK(uploaded.done());
        for (int64_t i = 0; i < n; ++i) host[i] = -1.0f;
        cuda::StreamGuard on(compute);
        const std::vector<float> got = doubled.to_vector();
        for (int64_t i = 0; i < n; ++i) REQUIRE(got[size_t(i)] == 2.0f * float(values[size_t(i)]));
    }
    cuda::destroy_stream(copy);
    cuda::destroy_stream(compute);
}

TEST_CASE("a captured graph replays with new random numbers, and its memory goes to no one else") {
    REQUIRE(cuda::available());
    const cuda::Stream stream = cuda::create_stream();
    {
        Generator gen{2027, 7};
        Tensor out;
        {
            cuda::StreamGuard on(stream);
            out = Tensor::empty({256}, DType::F32, Device::CUDA);
        }
        cuda::Graph graph(3);
        std::vector<void*> graph_blocks;
        const std::string why = graph.capture(stream, [&] {
            const Tensor noise = Tensor::normal({256}, 0, 1, gen, DType::F32, Device::CUDA);
            const Tensor doubled = mul(noise, 2.0);
            graph_blocks = {noise.data_ptr(), doubled.data_ptr()};
            out.copy_from(doubled);
        });
        REQUIRE(why.empty());
        CHECK(gen.offset == 7 + 64);  // the capture advanced the host generator: rewind it, as a caller does
        gen.offset = 7;
        cuda::StreamGuard on(stream);
        std::vector<Tensor> others;  // while the graph lives, nothing else gets its blocks
        for (int i = 0; i < 6; ++i) {
            others.push_back(Tensor::empty({256}, DType::F32, Device::CUDA));
            for (void* p : graph_blocks) CHECK(others.back().data_ptr() != p);
        }
        for (int replay = 0; replay < 3; ++replay) {
            REQUIRE(graph.ready());
            for (const Tensor& o : others) o.fill(-5.0);  // eager work between replays touches only its own memory
            graph.replay();
            Generator expected_gen{2027, 7 + uint64_t(replay) * 64};
            const std::vector<float> expected = Tensor::normal({256}, 0, 1, expected_gen).to_vector();
            const std::vector<float> got = out.to_vector();
            for (size_t i = 0; i < got.size(); ++i) REQUIRE(got[i] == 2.0f * expected[i]);
        }
        CHECK_FALSE(graph.ready());  // max_replays used: capture again
        CHECK_THROWS_CONTAINING(graph.replay(), "capture again");
    }
    cuda::destroy_stream(stream);
}
