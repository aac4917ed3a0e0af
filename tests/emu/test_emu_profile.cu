// The emulator's profiling mode (core/emu/profile.h) against hand-made kernels whose counts are
// known from NVIDIA's rules: global sectors per warp-level access (CUDA C++ Best Practices Guide,
// "Coalesced Access to Global Memory") and shared-memory wavefronts with 32 banks of 4 bytes
// (Programming Guide, compute capability 5.x and later), 8-byte accesses by half-warp and 16-byte
// ones and ldmatrix by quarter-warp. Built against ganops_emu_profile with its own kernels
// instrumented (ganops_profile_instrument); built against plain ganops_emu (the emu/ folder's
// glob), it only says so.
#include <cuda_runtime.h>

#include <cstdint>
#include <string>
#include <vector>

#include "catch_compat.h"
#include "kernels/cuda/launch.cuh"

#if !defined(GANOPS_EMU_PROFILE)

TEST_CASE("the profiling mode is tested against ganops_emu_profile") {
    WARN("test_emu_profile built against ganops_emu: nothing to test (the profiling mode is ganops_emu_profile)");
}

#else

#include "core/emu/profile.h"
#include "kernels/cuda/ptx.cuh"
#include "ganops.h"

namespace {

namespace prof = ganops_emu::profile;
namespace ptx = ganops::cuda::ptx;

// ---- kernels ----
__global__ void copy_kernel(const float* in, float* out) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    out[i] = in[i];
}

__global__ void strided_read_kernel(const float* in, float* out, int stride) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    out[i] = in[int64_t(i) * stride];
}

// Every lane reads the same float: one sector, as few as can be.
__global__ void broadcast_read_kernel(const float* in, float* out) {
    out[threadIdx.x] = in[3];
}

// Every block reads the same 128 floats: once per launch from DRAM, once per block without L2.
__global__ void same_data_kernel(const float* in, float* out) {
    out[blockIdx.x * blockDim.x + threadIdx.x] = in[threadIdx.x];
}

// One warp; lane l at word 32 l: every lane in bank 0.
__global__ void bank_conflict_kernel(float* out) {
    __shared__ float s[32 * 32];
    const int l = threadIdx.x;
    s[l * 32] = float(l);  // store: 32-way
    __syncthreads();
    out[l] = s[l * 32];    // load: 32-way
}

// One warp; every lane reads one word (after lane 0 wrote it): a broadcast.
__global__ void broadcast_kernel(float* out) {
    __shared__ float s[32];
    if (threadIdx.x == 0) s[5] = 1.5f;  // a store by one lane: 1 wavefront
    __syncthreads();
    out[threadIdx.x] = s[5];
}

// The CUDA samples' transpose through a 32 x 32 tile, blocks of 32 x 8 threads.
template <int Pad>
__global__ void transpose_kernel(const float* in, float* out, int n) {
    __shared__ float tile[32][32 + Pad];
    int x = blockIdx.x * 32 + threadIdx.x, y = blockIdx.y * 32 + threadIdx.y;
    for (int j = 0; j < 32; j += 8) tile[threadIdx.y + j][threadIdx.x] = in[(y + j) * n + x];
    __syncthreads();
    x = blockIdx.y * 32 + threadIdx.x;
    y = blockIdx.x * 32 + threadIdx.y;
    for (int j = 0; j < 32; j += 8) out[(y + j) * n + x] = tile[threadIdx.x][threadIdx.y + j];
}
using transpose_padded = decltype(&transpose_kernel<1>);
constexpr transpose_padded transpose_padded_kernel = &transpose_kernel<1>;
constexpr transpose_padded transpose_unpadded_kernel = &transpose_kernel<0>;

// One warp: 8-byte shared loads, consecutive (2 wavefronts: two half-warps of 128 bytes) and at
// a stride of 16 bytes (each half-warp's 16 doubles span 256 bytes: 2 words per bank, 4 in all).
__global__ void shared8_kernel(const double* in, double* out) {
    __shared__ double s[64];
    const int l = threadIdx.x;
    s[l] = in[l];
    s[l + 32] = in[l + 32];
    __syncthreads();
    out[l] = s[l];
    out[l + 32] = s[2 * l];
}

// One warp: 16-byte shared accesses (4 wavefronts: quarter-warps of 128 bytes; at a stride of 32
// bytes each quarter spans 256 bytes: 8).
__global__ void shared16_kernel(const __uint128_t* in, __uint128_t* out) {
    __shared__ __uint128_t s[64];
    const int l = threadIdx.x;
    s[l] = in[l];
    s[l + 32] = in[l + 32];
    __syncthreads();
    out[l] = s[l];
    out[l + 32] = s[2 * l];
}

// Blocks of 48 threads: warp 1 has 16 lanes. Then only even lanes store: 8-byte stride.
__global__ void partial_warp_kernel(const float* in, float* out) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    const float v = in[i];
    if (threadIdx.x % 2 == 0) out[i] = v;
}

// One warp, `rows` rows of 32 floats; in row r the lanes with (lane + r) % 4 == 0 skip the load
// (a predicated border). The loop is not unrolled (rows is not a constant): one instruction.
__global__ void predicated_rows_kernel(const float* in, float* out, int rows) {
    __shared__ float s[32 * 8];
    const int l = threadIdx.x;
    for (int r = 0; r < rows; ++r) {
        float v = 0.0f;
        if ((l + r) % 4 != 0) v = in[r * 32 + l];
        s[r * 32 + l] = v;
    }
    __syncthreads();
    for (int r = 0; r < rows; ++r) out[r * 32 + l] = s[r * 32 + l];
}

// ldmatrix .x4 from a tile of rows `row_bytes` apart, then one tf32 mma.
__global__ void ldmatrix_mma_kernel(float* out, int row_bytes) {
    __shared__ uint4 tile16[32 * 128 / 16];  // (16-byte aligned)
    unsigned char* tile = reinterpret_cast<unsigned char*>(tile16);
    const int l = threadIdx.x;
    for (int i = l; i < 32 * 128 / 4; i += 32) reinterpret_cast<uint32_t*>(tile)[i] = 0;
    __syncthreads();
    uint32_t r[4];
    ptx::ldmatrix_x4(r, tile + l * row_bytes);
    const uint32_t a[4] = {r[0], r[1], r[2], r[3]}, b[2] = {0, 0};
    const float c[4] = {1, 2, 3, 4};
    float d[4];
    ptx::mma_m16n8k8_tf32(d, a, b, c);
    out[l] = d[0] + float(r[0]);
}

// One warp: cp.async of 16 bytes per lane, the odd lanes with src-size 0 (zero fill).
__global__ void cp_async_kernel(const float* in, float* out, int zero_odd) {
    __shared__ float4 s4[32];
    float* s = &s4[0].x;
    const int l = threadIdx.x;
    ptx::cp_async_cg16(&s[l * 4], &in[l * 4], zero_odd && l % 2 ? 0 : 16);
    ptx::cp_async_wait_all();
    __syncthreads();
    for (int k = 0; k < 4; ++k) out[l * 4 + k] = s[l * 4 + k];
}

// ---- helpers ----
template <class T>
struct DeviceBuffer {
    T* ptr = nullptr;
    size_t n;
    explicit DeviceBuffer(size_t count, T fill = T{}) : n(count) {
        REQUIRE(cudaMalloc(&ptr, n * sizeof(T)) == cudaSuccess);
        std::vector<T> h(n, fill);
        REQUIRE(cudaMemcpy(ptr, h.data(), n * sizeof(T), cudaMemcpyHostToDevice) == cudaSuccess);
    }
    ~DeviceBuffer() { cudaFree(ptr); }
    std::vector<T> host() const {
        std::vector<T> h(n);
        REQUIRE(cudaMemcpy(h.data(), ptr, n * sizeof(T), cudaMemcpyDeviceToHost) == cudaSuccess);
        return h;
    }
};

// Profiles what `launch` runs and returns the record of `kernel`.
template <class Launch>
prof::KernelRecord profile_of(const std::string& kernel, Launch launch) {
    prof::start();
    launch();
    REQUIRE(cudaDeviceSynchronize() == cudaSuccess);
    prof::stop();
    for (const prof::KernelRecord& r : prof::report())
        if (r.kernel == kernel) return r;
    FAIL("no record of " << kernel << " in\n" << prof::markdown(prof::report()));
    return {};
}

}  // namespace

TEST_CASE("profiling is off until started, and stops") {
    REQUIRE(prof::available());
    DeviceBuffer<float> in(128, 1.0f), out(128);
    prof::start();
    prof::stop();
    GANOPS_LAUNCH(copy_kernel, 1, 128, 0, nullptr)(in.ptr, out.ptr);
    REQUIRE(cudaDeviceSynchronize() == cudaSuccess);
    CHECK(prof::report().empty());
}

TEST_CASE("scalar FLOPs are given, mma FLOPs counted") {
    prof::start();
    prof::add_flops("some_kernel", 1e6);
    prof::add_flops("some_kernel", 5e5);
    prof::stop();
    const auto records = prof::report();
    REQUIRE(records.size() == 1);
    CHECK(records[0].kernel == "some_kernel");
    CHECK(records[0].extra_flops == 1.5e6);
    CHECK(records[0].launches == 0);
}

TEST_CASE("a coalesced float copy: 4 sectors per warp access, 100%") {
    DeviceBuffer<float> in(512, 2.0f), out(512);
    const auto r = profile_of("copy_kernel", [&] { GANOPS_LAUNCH(copy_kernel, 4, 128, 0, nullptr)(in.ptr, out.ptr); });
    CHECK(out.host()[511] == 2.0f);
    CHECK(r.launches == 1);
    CHECK(r.blocks == 4);
    CHECK(r.global_load_instructions == 16);  // 4 blocks x 4 warps
    CHECK(r.global_load_sectors == 64);
    CHECK(r.global_load_requested_bytes == 16 * 128);
    CHECK(r.global_load_efficiency() == 1.0);
    CHECK(r.global_store_instructions == 16);
    CHECK(r.global_store_sectors == 64);
    CHECK(r.global_store_efficiency() == 1.0);
    CHECK(r.dram_read_bytes == 2048);
    CHECK(r.dram_write_bytes == 2048);
    CHECK(r.dram_read_bytes_per_block_sum == 2048);
    CHECK(r.shared_load_instructions + r.shared_store_instructions == 0);
    CHECK(r.barriers == 0);
    CHECK(r.mma_instructions == 0);
}

TEST_CASE("a stride-32 float read: 32 sectors per warp access, 12.5%") {
    DeviceBuffer<float> in(64 * 32, 3.0f), out(64);
    const auto r = profile_of("strided_read_kernel",
                              [&] { GANOPS_LAUNCH(strided_read_kernel, 2, 32, 0, nullptr)(in.ptr, out.ptr, 32); });
    CHECK(r.global_load_instructions == 2);
    CHECK(r.global_load_sectors == 64);
    CHECK(r.global_load_requested_bytes == 256);
    CHECK(r.global_load_efficiency() == 0.125);
    CHECK(r.dram_read_bytes == 64 * 32);  // each sector fetched once: 8x what was used
    CHECK(r.global_store_sectors == 8);
    // A stride of 2 floats: 8 sectors for 128 bytes, 50% (the Best Practices Guide's figure).
    const auto r2 = profile_of("strided_read_kernel",
                               [&] { GANOPS_LAUNCH(strided_read_kernel, 2, 32, 0, nullptr)(in.ptr, out.ptr, 2); });
    CHECK(r2.global_load_sectors == 16);
    CHECK(r2.global_load_efficiency() == 0.5);
}

TEST_CASE("a broadcast global read: 1 sector, efficient; a misaligned row: 5 sectors for 4") {
    DeviceBuffer<float> in(64, 1.0f), out(32);
    const auto r = profile_of("broadcast_read_kernel",
                              [&] { GANOPS_LAUNCH(broadcast_read_kernel, 1, 32, 0, nullptr)(in.ptr, out.ptr); });
    CHECK(r.global_load_instructions == 1);
    CHECK(r.global_load_sectors == 1);
    CHECK(r.global_load_ideal_sectors == 1);
    CHECK(r.global_load_requested_bytes == 128);
    CHECK(r.global_load_efficiency() == 1.0);
    // 32 floats from float 4 on: bytes 16-143 touch sectors 0-4.
    const auto m = profile_of("copy_kernel", [&] { GANOPS_LAUNCH(copy_kernel, 1, 32, 0, nullptr)(in.ptr + 4, out.ptr); });
    CHECK(m.global_load_sectors == 5);
    CHECK(m.global_load_ideal_sectors == 4);
    CHECK(m.global_load_efficiency() == 0.8);
}

TEST_CASE("DRAM bytes: once per launch, and once per block") {
    DeviceBuffer<float> in(128, 1.0f), out(4 * 128);
    const auto r = profile_of("same_data_kernel", [&] { GANOPS_LAUNCH(same_data_kernel, 4, 128, 0, nullptr)(in.ptr, out.ptr); });
    CHECK(r.global_load_sectors == 4 * 4 * 4);
    CHECK(r.dram_read_bytes == 512);
    CHECK(r.dram_read_bytes_per_block_sum == 4 * 512);
    CHECK(r.dram_write_bytes == 4 * 512);
    // Two launches (of one GANOPS_LAUNCH statement: one record): the per-launch figure adds up.
    const auto twice = profile_of("same_data_kernel", [&] {
        for (int i = 0; i < 2; ++i) GANOPS_LAUNCH(same_data_kernel, 4, 128, 0, nullptr)(in.ptr, out.ptr);
    });
    CHECK(twice.launches == 2);
    CHECK(twice.dram_read_bytes == 1024);
    // Another statement launching the same kernel: a record of its own.
    prof::start();
    GANOPS_LAUNCH(same_data_kernel, 4, 128, 0, nullptr)(in.ptr, out.ptr);
    GANOPS_LAUNCH(same_data_kernel, 2, 128, 0, nullptr)(in.ptr, out.ptr);
    REQUIRE(cudaDeviceSynchronize() == cudaSuccess);
    prof::stop();
    const auto records = prof::report();
    REQUIRE(records.size() == 2);
    CHECK(records[0].kernel == "same_data_kernel");
    CHECK(records[0].blocks == 4);
    CHECK(records[1].kernel == "same_data_kernel #2");
    CHECK(records[1].blocks == 2);
}

TEST_CASE("a 32-way bank conflict: 32 wavefronts, minimum 1") {
    DeviceBuffer<float> out(32);
    const auto r = profile_of("bank_conflict_kernel", [&] { GANOPS_LAUNCH(bank_conflict_kernel, 1, 32, 0, nullptr)(out.ptr); });
    CHECK(out.host()[7] == 7.0f);
    CHECK(r.shared_store_instructions == 1);
    CHECK(r.shared_store_wavefronts == 32);
    CHECK(r.shared_store_ideal_wavefronts == 1);
    CHECK(r.shared_load_instructions == 1);
    CHECK(r.shared_load_wavefronts == 32);
    CHECK(r.shared_load_ideal_wavefronts == 1);
    CHECK(r.barriers == 1);
    REQUIRE(!r.sites.empty());
    CHECK(r.sites[0].excess() == 31);
    CHECK(r.sites[0].space == "shared");
}

TEST_CASE("a broadcast: 1 wavefront") {
    DeviceBuffer<float> out(32);
    const auto r = profile_of("broadcast_kernel", [&] { GANOPS_LAUNCH(broadcast_kernel, 1, 32, 0, nullptr)(out.ptr); });
    CHECK(out.host()[31] == 1.5f);
    CHECK(r.shared_store_instructions == 1);  // lane 0 alone
    CHECK(r.shared_store_wavefronts == 1);
    CHECK(r.shared_load_instructions == 1);
    CHECK(r.shared_load_wavefronts == 1);
    CHECK(r.shared_load_ideal_wavefronts == 1);
    CHECK(r.global_store_sectors == 4);
}

TEST_CASE("a transpose through shared memory: tile[32][33] is conflict-free, tile[32][32] 32-way on the column read") {
    const int n = 64;
    std::vector<float> h(n * n);
    for (int i = 0; i < n * n; ++i) h[i] = float(i);
    DeviceBuffer<float> in(n * n), out(n * n);
    REQUIRE(cudaMemcpy(in.ptr, h.data(), h.size() * 4, cudaMemcpyHostToDevice) == cudaSuccess);
    const dim3 grid(2, 2), block(32, 8);
    const auto padded = profile_of("transpose_padded_kernel", [&] {
        GANOPS_LAUNCH(transpose_padded_kernel, grid, block, 0, nullptr)(in.ptr, out.ptr, n);
    });
    CHECK(out.host()[1 * n + 2] == h[2 * n + 1]);
    // 4 blocks x 8 warps x 4 rows each.
    CHECK(padded.global_load_instructions == 128);
    CHECK(padded.global_load_sectors == 128 * 4);
    CHECK(padded.global_store_instructions == 128);
    CHECK(padded.global_store_sectors == 128 * 4);
    CHECK(padded.shared_store_instructions == 128);
    CHECK(padded.shared_store_wavefronts == 128);
    CHECK(padded.shared_load_instructions == 128);
    CHECK(padded.shared_load_wavefronts == 128);
    CHECK(padded.shared_load_ideal_wavefronts == 128);
    CHECK(padded.barriers == 4);
    CHECK(padded.dram_read_bytes == n * n * 4);
    const auto unpadded = profile_of("transpose_unpadded_kernel", [&] {
        GANOPS_LAUNCH(transpose_unpadded_kernel, grid, block, 0, nullptr)(in.ptr, out.ptr, n);
    });
    CHECK(out.host()[1 * n + 2] == h[2 * n + 1]);
    CHECK(unpadded.shared_store_wavefronts == 128);       // rows: conflict-free
    CHECK(unpadded.shared_load_wavefronts == 128 * 32);   // columns: every lane in one bank
    CHECK(unpadded.shared_load_ideal_wavefronts == 128);
    CHECK(unpadded.global_load_sectors == 128 * 4);
}

TEST_CASE("8-byte shared accesses: half-warps") {
    DeviceBuffer<double> in(64, 1.0), out(64);
    const auto r = profile_of("shared8_kernel", [&] { GANOPS_LAUNCH(shared8_kernel, 1, 32, 0, nullptr)(in.ptr, out.ptr); });
    CHECK(r.shared_store_instructions == 2);
    CHECK(r.shared_store_wavefronts == 4);  // 2 + 2
    CHECK(r.shared_load_instructions == 2);
    CHECK(r.shared_load_wavefronts == 6);  // consecutive 2, stride 16 bytes 4
    CHECK(r.shared_load_ideal_wavefronts == 4);
    CHECK(r.shared_instructions_by_width[1] == 4);
    CHECK(r.global_load_sectors == 16);  // 2 x 256 bytes
}

TEST_CASE("16-byte shared accesses: quarter-warps") {
    DeviceBuffer<__uint128_t> in(64, 1), out(64);
    const auto r = profile_of("shared16_kernel", [&] { GANOPS_LAUNCH(shared16_kernel, 1, 32, 0, nullptr)(in.ptr, out.ptr); });
    CHECK(r.shared_store_instructions == 2);
    CHECK(r.shared_store_wavefronts == 8);
    CHECK(r.shared_load_instructions == 2);
    CHECK(r.shared_load_wavefronts == 12);  // consecutive 4, stride 32 bytes 8
    CHECK(r.shared_load_ideal_wavefronts == 8);
    CHECK(r.shared_instructions_by_width[2] == 4);
    CHECK(r.global_load_sectors == 32);  // 2 x 512 bytes
}

TEST_CASE("a partial warp and inactive lanes") {
    DeviceBuffer<float> in(96, 1.0f), out(96);
    const auto r = profile_of("partial_warp_kernel", [&] { GANOPS_LAUNCH(partial_warp_kernel, 2, 48, 0, nullptr)(in.ptr, out.ptr); });
    // Per block: warp 0 reads 128 bytes (4 sectors), warp 1 (16 lanes) 64 bytes (2 sectors).
    // Block 1 starts at float 48: its warp 0 covers floats 48-79 (sectors 6-9), warp 1 80-95.
    CHECK(r.global_load_instructions == 4);
    CHECK(r.global_load_sectors == 12);
    CHECK(r.global_load_requested_bytes == 96 * 4);
    CHECK(r.global_load_efficiency() == 1.0);
    // Even lanes store: 64 of the 128 bytes a full warp spans; 32 of 64 in warp 1.
    CHECK(r.global_store_instructions == 4);
    CHECK(r.global_store_sectors == 12);
    CHECK(r.global_store_requested_bytes == 48 * 4);
    CHECK(r.global_store_efficiency() == 0.5);
}

TEST_CASE("a load predicated off in different lanes in different iterations pairs up by iteration") {
    const int rows = 4;
    DeviceBuffer<float> in(rows * 32, 1.0f), out(rows * 32);
    const auto r = profile_of("predicated_rows_kernel",
                              [&] { GANOPS_LAUNCH(predicated_rows_kernel, 1, 32, 0, nullptr)(in.ptr, out.ptr, rows); });
    CHECK(out.host()[1] == 1.0f);
    CHECK(out.host()[0] == 0.0f);
    // Each row: 24 lanes read, every sector of the row is touched: 4 sectors for 96 bytes. Paired
    // by k-th execution instead, lane 0 (which skips row 0) would add row 1's sectors to row 0.
    CHECK(r.global_load_instructions == rows);
    CHECK(r.global_load_sectors == rows * 4);
    CHECK(r.global_load_requested_bytes == rows * 96);
}

TEST_CASE("ldmatrix phases and mma counts") {
    DeviceBuffer<float> out(32);
    // Rows 16 bytes apart: each 8x8 matrix is 128 contiguous bytes, one wavefront.
    const auto dense = profile_of("ldmatrix_mma_kernel", [&] { GANOPS_LAUNCH(ldmatrix_mma_kernel, 2, 32, 0, nullptr)(out.ptr, 16); });
    CHECK(out.host()[0] == 1.0f);
    CHECK(dense.ldmatrix_instructions == 2);
    CHECK(dense.ldmatrix_wavefronts == 8);
    CHECK(dense.ldmatrix_ideal_wavefronts == 8);
    CHECK(dense.mma_instructions == 2);
    CHECK(dense.mma_flops == 2 * 2.0 * 16 * 8 * 8);
    CHECK(dense.shared_load_instructions == 0);  // the emulation's own reads are not counted
    // Rows 128 bytes apart: the 8 rows of a matrix all in banks 0-3, 8 wavefronts each.
    const auto strided = profile_of("ldmatrix_mma_kernel", [&] { GANOPS_LAUNCH(ldmatrix_mma_kernel, 2, 32, 0, nullptr)(out.ptr, 128); });
    CHECK(strided.ldmatrix_wavefronts == 2 * 4 * 8);
    CHECK(strided.ldmatrix_ideal_wavefronts == 8);
}

TEST_CASE("cp.async: a global read and a shared write, zero fill reads nothing") {
    DeviceBuffer<float> in(128, 2.0f), out(128);
    const auto full = profile_of("cp_async_kernel", [&] { GANOPS_LAUNCH(cp_async_kernel, 1, 32, 0, nullptr)(in.ptr, out.ptr, 0); });
    CHECK(out.host()[127] == 2.0f);
    CHECK(full.cp_async_instructions == 1);
    CHECK(full.global_load_instructions == 1);
    CHECK(full.global_load_sectors == 16);
    CHECK(full.global_load_efficiency() == 1.0);
    CHECK(full.shared_store_instructions == 1);
    CHECK(full.shared_store_wavefronts == 4);
    CHECK(full.shared_store_ideal_wavefronts == 4);
    const auto half = profile_of("cp_async_kernel", [&] { GANOPS_LAUNCH(cp_async_kernel, 1, 32, 0, nullptr)(in.ptr, out.ptr, 1); });
    CHECK(out.host()[4] == 0.0f);
    // Even lanes only: 16 bytes each at a stride of 32, each in a sector of its own: 50%.
    CHECK(half.global_load_instructions == 1);
    CHECK(half.global_load_sectors == 16);
    CHECK(half.global_load_requested_bytes == 256);
    CHECK(half.global_load_efficiency() == 0.5);
    CHECK(half.dram_read_bytes == 512);
}

TEST_CASE("a DCGAN convolution through the library: every kernel is recorded") {
    using namespace ganops;
    Generator gen{7, 0};
    const Tensor x = Tensor::normal({2, 3, 16, 16}, 0.0, 1.0, gen).to(Device::CUDA);
    const Tensor w = Tensor::normal({8, 3, 4, 4}, 0.0, 0.1, gen).to(Device::CUDA);
    prof::start();
    const Tensor y = conv2d(x, w, Tensor(), Conv2dOptions::square(2, 1));
    REQUIRE(y.shape() == Shape{2, 8, 8, 8});
    REQUIRE(cudaDeviceSynchronize() == cudaSuccess);  // (with deferred streams, kernels run now)
    prof::stop();
    const auto records = prof::report();
    INFO(prof::markdown(records, 3));
    REQUIRE(!records.empty());
    uint64_t read = 0, written = 0;
    for (const auto& r : records) {
        CHECK(r.launches >= 1);
        CHECK(r.global_load_efficiency() > 0.0);
        read += r.dram_read_bytes;
        written += r.dram_write_bytes;
    }
    CHECK(read >= uint64_t(x.numel() + w.numel()) * 4);  // every input element read at least once
    CHECK(written >= uint64_t(y.numel()) * 4);
    CHECK(prof::markdown(records).find("| kernel |") == 0);
}

#endif  // GANOPS_EMU_PROFILE
