// The PTX wrappers of kernels/cuda/ptx.cuh in real kernels, against plain loops on the host:
// mma m16n8k8 TF32 and m16n8k16 BF16 with fragments loaded by the ISA's tables, ldmatrix
// x1/x2/x4 and .trans from shared memory, cp.async 4/8/16 bytes with zero fill, commit and
// wait, and the conversions. Compiled by nvcc for the GPU (needs sm_80 or newer to run) and as
// C++ for the CPU execution mode (GANOPS_EMULATED), where a few more cases check what only the
// emulator can show: an unconverted TF32 operand, a missing cp.async wait, misaligned copies.
// Each output buffer starts as NaN (0xFF bytes), so an element no lane wrote fails.
#include <cuda_runtime.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "catch_compat.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/ptx.cuh"

#if defined(GANOPS_EMULATED)
#include "core/emu/runtime.h"
// The TF32 check mode is read from the environment once; switch it on before anything runs,
// unless the caller chose otherwise. Every mma below gets converted operands, so it must pass.
[[maybe_unused]] static const bool tf32_check_requested = [] { return setenv("GANOPS_EMU_CHECK_TF32", "1", 0) == 0; }();
#endif

using namespace ganops::cuda;

namespace {

// ---- host side: buffers, inputs, references ----
template <class T>
struct DeviceBuffer {
    T* ptr = nullptr;
    size_t n = 0;
    explicit DeviceBuffer(size_t count) : n(count) {
        REQUIRE(cudaMalloc(reinterpret_cast<void**>(&ptr), n * sizeof(T)) == cudaSuccess);
        REQUIRE(cudaMemset(ptr, 0xFF, n * sizeof(T)) == cudaSuccess);  // NaN until written
    }
    explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) {
        REQUIRE(cudaMemcpy(ptr, host.data(), n * sizeof(T), cudaMemcpyHostToDevice) == cudaSuccess);
    }
    ~DeviceBuffer() { cudaFree(ptr); }
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
    std::vector<T> download() const {
        std::vector<T> host(n);
        REQUIRE(cudaDeviceSynchronize() == cudaSuccess);
        REQUIRE(cudaMemcpy(host.data(), ptr, n * sizeof(T), cudaMemcpyDeviceToHost) == cudaSuccess);
        return host;
    }
};

// The tensor-core cases need sm_80; the emulator always has it.
bool have_sm80() {
#if defined(GANOPS_EMULATED)
    return true;
#else
    int count = 0, major = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) return false;
    if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0) != cudaSuccess) return false;
    return major >= 8;
#endif
}
#define REQUIRE_SM80()                                                     \
    do {                                                                   \
        if (!have_sm80()) {                                                \
            WARN("skipped: needs a GPU of compute capability 8.0 or newer"); \
            return;                                                        \
        }                                                                  \
    } while (0)

uint32_t bits_of(float x) {
    uint32_t u;
    std::memcpy(&u, &x, 4);
    return u;
}
float float_of(uint32_t u) {
    float x;
    std::memcpy(&x, &u, 4);
    return x;
}

std::mt19937& gen() {
    static std::mt19937 g{20261123};
    return g;
}
// Random values of varied magnitude with only the top `keep` mantissa bits (exactly
// representable in TF32 for keep = 10, in BF16 for keep = 7).
std::vector<float> random_values(size_t n, int keep) {
    std::normal_distribution<float> normal;
    std::uniform_int_distribution<int> scale(-6, 6);
    std::vector<float> v(n);
    const uint32_t mask = ~((1u << (23 - keep)) - 1u);
    for (float& x : v) x = float_of(bits_of(std::ldexp(normal(gen()), scale(gen()))) & mask);
    return v;
}
uint16_t bf16_of(float x) { return static_cast<uint16_t>(bits_of(x) >> 16); }  // x already bf16

// D = A B + C in double (A MxK, B KxN, C MxN row-major) and each element's sum of |terms|.
void reference_gemm(const std::vector<float>& A, const std::vector<float>& B, const std::vector<float>& C, int M,
                    int N, int K, std::vector<double>& D, std::vector<double>& scale) {
    D.assign(M * N, 0);
    scale.assign(M * N, 0);
    for (int m = 0; m < M; ++m)
        for (int n = 0; n < N; ++n) {
            double s = C[m * N + n], a = std::fabs(s);
            for (int k = 0; k < K; ++k) {
                const double t = double(A[m * K + k]) * double(B[k * N + n]);
                s += t;
                a += std::fabs(t);
            }
            D[m * N + n] = s;
            scale[m * N + n] = a;
        }
}

// Every element within 2^-17 of its sum of |terms|: holds for an exact dot product rounded
// once, for the truncating adder model and for the hardware (TF32/BF16 products are exact);
// a wrong fragment element is off by O(1).
void check_gemm(const std::vector<float>& got, const std::vector<float>& A, const std::vector<float>& B,
                const std::vector<float>& C, int M, int N, int K) {
    std::vector<double> D, scale;
    reference_gemm(A, B, C, M, N, K, D, scale);
    REQUIRE(got.size() == D.size());
    int bad = 0;
    for (size_t i = 0; i < D.size(); ++i) {
        const double err = std::fabs(double(got[i]) - D[i]);
        if (!(err <= std::ldexp(scale[i], -17))) {
            if (++bad <= 5) UNSCOPED_INFO("D[" << i / N << "][" << i % N << "] = " << got[i] << ", expected " << D[i]);
        }
    }
    CHECK(bad == 0);
}

// ---- device side ----
// The fragment coordinates as the PTX ISA states them (9.7.14.5.7 and .8), g = lane >> 2,
// t = lane % 4.
__device__ inline int frag_c_row(int lane, int i) { return (lane >> 2) + (i < 2 ? 0 : 8); }
__device__ inline int frag_c_col(int lane, int i) { return (lane % 4) * 2 + (i & 1); }

// One warp: A (16x8), B (8x8), C (16x8) fp32 row-major in global memory; D = A B + C.
__global__ void mma_tf32_kernel(const float* A, const float* B, const float* C, float* D) {
    const int lane = threadIdx.x % 32, g = lane >> 2, t = lane % 4;
    uint32_t a[4], b[2];
    float c[4], d[4];
    // a0 (g, t), a1 (g+8, t), a2 (g, t+4), a3 (g+8, t+4)
    a[0] = ptx::cvt_rna_tf32(A[g * 8 + t]);
    a[1] = ptx::cvt_rna_tf32(A[(g + 8) * 8 + t]);
    a[2] = ptx::cvt_rna_tf32(A[g * 8 + t + 4]);
    a[3] = ptx::cvt_rna_tf32(A[(g + 8) * 8 + t + 4]);
    // b0 (k = t, n = g), b1 (k = t+4, n = g)
    b[0] = ptx::cvt_rna_tf32(B[t * 8 + g]);
    b[1] = ptx::cvt_rna_tf32(B[(t + 4) * 8 + g]);
    for (int i = 0; i < 4; ++i) c[i] = C[frag_c_row(lane, i) * 8 + frag_c_col(lane, i)];
    ptx::mma_m16n8k8_tf32(d, a, b, c);
    for (int i = 0; i < 4; ++i) D[frag_c_row(lane, i) * 8 + frag_c_col(lane, i)] = d[i];
}

// One warp: A (16x16 bf16, row-major) and B staged in shared memory with padded rows, then
// ldmatrix: A by .x4 (lane l addresses row l % 16 at column 8 (l / 16)); B either stored
// k-major ([k][n], 16x8) and loaded with .x2.trans, or n-major ([n][k], 8x16) with .x2.
template <bool BKMajor>
__global__ void mma_bf16_ldmatrix_kernel(const uint16_t* A, const uint16_t* B, const float* C, float* D) {
    constexpr int kAStride = 24, kBStride = BKMajor ? 16 : 24;  // b16 elements; rows 16-byte aligned
    alignas(16) __shared__ uint16_t As[16 * kAStride];
    alignas(16) __shared__ uint16_t Bs[16 * 24];
    const int lane = threadIdx.x % 32;
    for (int i = lane; i < 16 * 16; i += 32) As[(i / 16) * kAStride + i % 16] = A[i];
    for (int i = lane; i < 16 * 8; i += 32) {
        if (BKMajor)
            Bs[(i / 8) * kBStride + i % 8] = B[i];  // B[k][n]
        else
            Bs[(i % 8) * kBStride + i / 8] = B[i];  // stored transposed: Bs[n][k]
    }
    __syncthreads();
    uint32_t a[4], b[2];
    float c[4], d[4];
    ptx::ldmatrix_x4(a, &As[(lane % 16) * kAStride + 8 * (lane / 16)]);
    if (BKMajor)
        ptx::ldmatrix_x2_trans(b, &Bs[(lane % 16) * kBStride]);  // rows k = 0..15
    else
        ptx::ldmatrix_x2(b, &Bs[(lane % 8) * kBStride + 8 * ((lane / 8) % 2)]);  // n rows, k halves
    for (int i = 0; i < 4; ++i) c[i] = C[frag_c_row(lane, i) * 8 + frag_c_col(lane, i)];
    ptx::mma_m16n8k16_bf16(d, a, b, c);
    for (int i = 0; i < 4; ++i) D[frag_c_row(lane, i) * 8 + frag_c_col(lane, i)] = d[i];
}

// The same product with the A and B fragments built from floats by pack_bf16x2 (the ISA's
// bf16 table, element 2j low), no ldmatrix.
__global__ void mma_bf16_packed_kernel(const float* A, const float* B, const float* C, float* D) {
    const int lane = threadIdx.x % 32, g = lane >> 2, t = lane % 4;
    uint32_t a[4], b[2];
    float c[4], d[4];
    a[0] = ptx::pack_bf16x2(A[g * 16 + 2 * t], A[g * 16 + 2 * t + 1]);
    a[1] = ptx::pack_bf16x2(A[(g + 8) * 16 + 2 * t], A[(g + 8) * 16 + 2 * t + 1]);
    a[2] = ptx::pack_bf16x2(A[g * 16 + 2 * t + 8], A[g * 16 + 2 * t + 9]);
    a[3] = ptx::pack_bf16x2(A[(g + 8) * 16 + 2 * t + 8], A[(g + 8) * 16 + 2 * t + 9]);
    b[0] = ptx::pack_bf16x2(B[(2 * t) * 8 + g], B[(2 * t + 1) * 8 + g]);
    b[1] = ptx::pack_bf16x2(B[(2 * t + 8) * 8 + g], B[(2 * t + 9) * 8 + g]);
    for (int i = 0; i < 4; ++i) c[i] = C[frag_c_row(lane, i) * 8 + frag_c_col(lane, i)];
    ptx::mma_m16n8k16_bf16(d, a, b, c);
    for (int i = 0; i < 4; ++i) D[frag_c_row(lane, i) * 8 + frag_c_col(lane, i)] = d[i];
}

// Four 8x8 b16 matrices (32 rows of 8) copied into shared memory in a scrambled row order with
// padded rows; every ldmatrix variant loads them and writes its registers:
// out[variant][lane][register], variants x1, x2, x4, x1.trans, x2.trans, x4.trans.
__global__ void ldmatrix_kernel(const uint16_t* rows_in, uint32_t* out) {
    constexpr int kStride = 16;  // b16 elements per stored row: 32 bytes
    alignas(16) __shared__ uint16_t S[32 * kStride];
    const int lane = threadIdx.x % 32;
    const int slot = (lane * 13) % 32;  // where row `lane` lives
    for (int c = 0; c < 8; ++c) S[slot * kStride + c] = rows_in[lane * 8 + c];
    for (int c = 8; c < kStride; ++c) S[slot * kStride + c] = 0xdead;
    __syncthreads();
    const uint16_t* row = &S[slot * kStride];  // lane l supplies row l (matrix l / 8, row l % 8)
    uint32_t r1[1], r2[2], r4[4];
    uint32_t* o = out + lane * 4;
    ptx::ldmatrix_x1(r1, row);
    o[0 * 128] = r1[0];
    ptx::ldmatrix_x2(r2, row);
    for (int m = 0; m < 2; ++m) o[1 * 128 + m] = r2[m];
    ptx::ldmatrix_x4(r4, row);
    for (int m = 0; m < 4; ++m) o[2 * 128 + m] = r4[m];
    ptx::ldmatrix_x1_trans(r1, row);
    o[3 * 128] = r1[0];
    ptx::ldmatrix_x2_trans(r2, row);
    for (int m = 0; m < 2; ++m) o[4 * 128 + m] = r2[m];
    ptx::ldmatrix_x4_trans(r4, row);
    for (int m = 0; m < 4; ++m) o[5 * 128 + m] = r4[m];
}

// cp.async with 64 threads. Group 1: 4-byte .ca, 8-byte .ca and 16-byte .ca copies; group 2:
// 16-byte .cg copies that read only (t % 5) * 4 bytes and zero-fill the rest. wait_group 1
// retires group 1 only; after a barrier each thread reads another thread's part of it; then
// wait_group 0 and a barrier for group 2.
constexpr int kCopyThreads = 64;
constexpr int kCopyFloats = kCopyThreads * (1 + 2 + 4 + 4);
__global__ void cp_async_kernel(const float* src, float* out) {
    alignas(16) __shared__ float S[kCopyFloats];
    const int t = threadIdx.x;
    float* s1 = S;                          // 64 floats, 4-byte copies
    float* s2 = s1 + kCopyThreads;          // 128 floats, 8-byte copies
    float* s4 = s2 + 2 * kCopyThreads;      // 256 floats, 16-byte copies
    float* sz = s4 + 4 * kCopyThreads;      // 256 floats, 16-byte copies with zero fill
    const float* g1 = src;
    const float* g2 = g1 + kCopyThreads;
    const float* g4 = g2 + 2 * kCopyThreads;
    const float* gz = g4 + 4 * kCopyThreads;
    ptx::cp_async_ca4(s1 + t, g1 + t);
    ptx::cp_async_ca8(s2 + 2 * t, g2 + 2 * t);
    ptx::cp_async_ca16(s4 + 4 * t, g4 + 4 * t);
    ptx::cp_async_commit_group();
    ptx::cp_async_cg16(sz + 4 * t, gz + 4 * t, (t % 5) * 4);
    ptx::cp_async_commit_group();
    ptx::cp_async_wait_group<1>();
    __syncthreads();
    const int u = kCopyThreads - 1 - t;  // read another thread's copies
    out[u] = s1[u];
    for (int i = 0; i < 2; ++i) out[kCopyThreads + 2 * u + i] = s2[2 * u + i];
    for (int i = 0; i < 4; ++i) out[3 * kCopyThreads + 4 * u + i] = s4[4 * u + i];
    ptx::cp_async_wait_group<0>();
    __syncthreads();
    for (int i = 0; i < 4; ++i) out[7 * kCopyThreads + 4 * u + i] = sz[4 * u + i];
}

// cp.async.wait_all commits the open group itself: no commit_group here.
__global__ void cp_async_wait_all_kernel(const float* src, float* out) {
    alignas(16) __shared__ float S[4 * kCopyThreads];
    const int t = threadIdx.x;
    ptx::cp_async_cg16(S + 4 * t, src + 4 * t);
    ptx::cp_async_wait_all();
    __syncthreads();
    const int u = kCopyThreads - 1 - t;
    for (int i = 0; i < 4; ++i) out[4 * u + i] = S[4 * u + i];
}

// wait_group counts committed groups, empty ones too (a pipeline's tail commits empty groups):
// with three groups committed after the copy, wait_group 2 must retire the copy.
__global__ void cp_async_empty_groups_kernel(const float* src, float* out) {
    alignas(16) __shared__ float S[4 * kCopyThreads];
    const int t = threadIdx.x;
    ptx::cp_async_commit_group();  // an empty group first
    ptx::cp_async_ca16(S + 4 * t, src + 4 * t);
    ptx::cp_async_commit_group();
    ptx::cp_async_commit_group();
    ptx::cp_async_commit_group();
    ptx::cp_async_wait_group<2>();
    __syncthreads();
    const int u = kCopyThreads - 1 - t;
    for (int i = 0; i < 4; ++i) out[4 * u + i] = S[4 * u + i];
}

// cvt: out_tf32[i] = cvt.rna.tf32(in[i]), out_bf16[i] = cvt.rn.bf16(in[i]),
// out_bf16x2[i] = cvt.rn.bf16x2(in[i], in[n - 1 - i]).
__global__ void cvt_kernel(const float* in, int n, uint32_t* out_tf32, uint16_t* out_bf16, uint32_t* out_bf16x2) {
    const int i = threadIdx.x;
    if (i >= n) return;
    out_tf32[i] = ptx::cvt_rna_tf32(in[i]);
    out_bf16[i] = ptx::cvt_rn_bf16(in[i]);
    out_bf16x2[i] = ptx::cvt_rn_bf16x2(in[i], in[n - 1 - i]);
}

#if defined(GANOPS_EMULATED)
// As above, but the A operands go in as raw fp32 bits (no cvt): wrong on purpose.
__global__ void mma_tf32_unconverted_kernel(const float* A, const float* B, const float* C, float* D) {
    const int lane = threadIdx.x % 32, g = lane >> 2, t = lane % 4;
    uint32_t a[4], b[2];
    float c[4], d[4];
    const int rows[4] = {g, g + 8, g, g + 8}, cols[4] = {t, t, t + 4, t + 4};
    const uint32_t* A_bits = reinterpret_cast<const uint32_t*>(A);
    for (int i = 0; i < 4; ++i) a[i] = A_bits[rows[i] * 8 + cols[i]];
    b[0] = ptx::cvt_rna_tf32(B[t * 8 + g]);
    b[1] = ptx::cvt_rna_tf32(B[(t + 4) * 8 + g]);
    for (int i = 0; i < 4; ++i) c[i] = C[frag_c_row(lane, i) * 8 + frag_c_col(lane, i)];
    ptx::mma_m16n8k8_tf32(d, a, b, c);
    for (int i = 0; i < 4; ++i) D[frag_c_row(lane, i) * 8 + frag_c_col(lane, i)] = d[i];
}

// A missing wait: the copy is issued and committed, never waited for; after the barrier every
// thread reads another thread's destination. On a GPU this is a race that usually passes;
// the emulator copies only at the wait, so the read sees the poison (NaN) every time.
__global__ void cp_async_missing_wait_kernel(const float* src, float* out) {
    alignas(16) __shared__ float S[4 * kCopyThreads];
    const int t = threadIdx.x;
    ptx::cp_async_cg16(S + 4 * t, src + 4 * t);
    ptx::cp_async_commit_group();
    __syncthreads();
    const int u = kCopyThreads - 1 - t;
    for (int i = 0; i < 4; ++i) out[4 * u + i] = S[4 * u + i];
    __syncthreads();  // every read above happens before any thread's wait below
    ptx::cp_async_wait_all();  // retire it before the thread ends
}

// A 16-byte copy to a destination only 4-byte aligned.
__global__ void cp_async_misaligned_kernel(const float* src, float* out) {
    alignas(16) __shared__ float S[4 * kCopyThreads + 4];
    const int t = threadIdx.x;
    ptx::cp_async_ca16(S + 1 + 4 * t, src + 4 * t);
    ptx::cp_async_wait_all();
    __syncthreads();
    out[t] = S[t];
}

// ldmatrix with row addresses 8 bytes off 16-byte alignment.
__global__ void ldmatrix_misaligned_kernel(uint32_t* out) {
    alignas(16) __shared__ uint16_t S[32 * 8 + 4];
    const int lane = threadIdx.x % 32;
    for (int i = lane; i < 32 * 8 + 4; i += 32) S[i] = static_cast<uint16_t>(i);
    __syncthreads();
    uint32_t r[4];
    ptx::ldmatrix_x4(r, &S[4 + lane * 8]);
    for (int m = 0; m < 4; ++m) out[lane * 4 + m] = r[m];
}
#endif

}  // namespace

TEST_CASE("mma.sync m16n8k8 tf32: fragments by the ISA's table, against a double GEMM") {
    REQUIRE_SM80();
    for (int trial = 0; trial < 5; ++trial) {
        INFO("trial " << trial);
        const std::vector<float> A = random_values(16 * 8, 10), B = random_values(8 * 8, 10),
                                 C = random_values(16 * 8, 23);
        DeviceBuffer<float> dA(A), dB(B), dC(C), dD(16 * 8);
        GANOPS_LAUNCH(mma_tf32_kernel, dim3(1), dim3(32), 0, nullptr)(dA.ptr, dB.ptr, dC.ptr, dD.ptr);
        check_gemm(dD.download(), A, B, C, 16, 8, 8);
    }
}

TEST_CASE("mma.sync m16n8k16 bf16: fragments by ldmatrix (.x4, .x2, .x2.trans) and by packing") {
    REQUIRE_SM80();
    for (int trial = 0; trial < 5; ++trial) {
        INFO("trial " << trial);
        const std::vector<float> A = random_values(16 * 16, 7), B = random_values(16 * 8, 7),
                                 C = random_values(16 * 8, 23);
        std::vector<uint16_t> A16(A.size()), B16(B.size());
        for (size_t i = 0; i < A.size(); ++i) A16[i] = bf16_of(A[i]);
        for (size_t i = 0; i < B.size(); ++i) B16[i] = bf16_of(B[i]);
        DeviceBuffer<uint16_t> dA16(A16), dB16(B16);
        DeviceBuffer<float> dA(A), dB(B), dC(C);
        {
            INFO("B k-major through ldmatrix.x2.trans");
            DeviceBuffer<float> dD(16 * 8);
            GANOPS_LAUNCH(mma_bf16_ldmatrix_kernel<true>, dim3(1), dim3(32), 0, nullptr)(dA16.ptr, dB16.ptr, dC.ptr, dD.ptr);
            check_gemm(dD.download(), A, B, C, 16, 8, 16);
        }
        {
            INFO("B n-major through ldmatrix.x2");
            DeviceBuffer<float> dD(16 * 8);
            GANOPS_LAUNCH(mma_bf16_ldmatrix_kernel<false>, dim3(1), dim3(32), 0, nullptr)(dA16.ptr, dB16.ptr, dC.ptr, dD.ptr);
            check_gemm(dD.download(), A, B, C, 16, 8, 16);
        }
        {
            INFO("fragments packed with cvt.rn.bf16x2");
            DeviceBuffer<float> dD(16 * 8);
            GANOPS_LAUNCH(mma_bf16_packed_kernel, dim3(1), dim3(32), 0, nullptr)(dA.ptr, dB.ptr, dC.ptr, dD.ptr);
            check_gemm(dD.download(), A, B, C, 16, 8, 16);
        }
    }
}

TEST_CASE("ldmatrix m8n8 .x1/.x2/.x4 and .trans from shared memory") {
    REQUIRE_SM80();
    // Row r of matrix m holds value(m, r, c) = 0x1000 (m + 1) + 16 r + c.
    std::vector<uint16_t> rows(32 * 8);
    for (int m = 0; m < 4; ++m)
        for (int r = 0; r < 8; ++r)
            for (int c = 0; c < 8; ++c) rows[(m * 8 + r) * 8 + c] = static_cast<uint16_t>(0x1000 * (m + 1) + 16 * r + c);
    DeviceBuffer<uint16_t> dRows(rows);
    DeviceBuffer<uint32_t> dOut(6 * 32 * 4);
    GANOPS_LAUNCH(ldmatrix_kernel, dim3(1), dim3(32), 0, nullptr)(dRows.ptr, dOut.ptr);
    const std::vector<uint32_t> out = dOut.download();
    const int nums[6] = {1, 2, 4, 1, 2, 4};
    for (int v = 0; v < 6; ++v) {
        const bool trans = v >= 3;
        INFO("x" << nums[v] << (trans ? ".trans" : ""));
        int bad = 0;
        // Lane l receives elements 2l (bits 15:0) and 2l + 1 (bits 31:16) of each matrix,
        // counted row by row (column by column with .trans).
        for (int l = 0; l < 32; ++l)
            for (int m = 0; m < nums[v]; ++m)
                for (int h = 0; h < 2; ++h) {
                    const int e = 2 * l + h, r = trans ? e % 8 : e / 8, c = trans ? e / 8 : e % 8;
                    const uint16_t expect = static_cast<uint16_t>(0x1000 * (m + 1) + 16 * r + c);
                    bad += static_cast<uint16_t>(out[(v * 32 + l) * 4 + m] >> (16 * h)) != expect;
                }
        CHECK(bad == 0);
    }
}

TEST_CASE("cp.async 4/8/16 bytes, .ca and .cg, zero fill, commit, wait_group and wait_all") {
    REQUIRE_SM80();
    std::vector<float> src(kCopyFloats);
    for (size_t i = 0; i < src.size(); ++i) src[i] = 1.0f + float(i);
    DeviceBuffer<float> dSrc(src), dOut(kCopyFloats);
    GANOPS_LAUNCH(cp_async_kernel, dim3(1), dim3(kCopyThreads), 0, nullptr)(dSrc.ptr, dOut.ptr);
    const std::vector<float> out = dOut.download();
    const int zero_fill_start = 7 * kCopyThreads;
    int bad = 0;
    for (int i = 0; i < kCopyFloats; ++i) {
        float expect = src[i];
        if (i >= zero_fill_start) {
            const int t = (i - zero_fill_start) / 4, j = (i - zero_fill_start) % 4;
            if (j >= t % 5) expect = 0.0f;  // beyond src-size: zero filled
        }
        if (out[i] != expect && ++bad <= 5) UNSCOPED_INFO("out[" << i << "] = " << out[i] << ", expected " << expect);
    }
    CHECK(bad == 0);

    DeviceBuffer<float> dOut2(4 * kCopyThreads);
    GANOPS_LAUNCH(cp_async_wait_all_kernel, dim3(1), dim3(kCopyThreads), 0, nullptr)(dSrc.ptr, dOut2.ptr);
    const std::vector<float> out2 = dOut2.download();
    for (int i = 0; i < 4 * kCopyThreads; ++i) bad += out2[i] != src[i];
    CHECK(bad == 0);

    DeviceBuffer<float> dOut3(4 * kCopyThreads);
    GANOPS_LAUNCH(cp_async_empty_groups_kernel, dim3(1), dim3(kCopyThreads), 0, nullptr)(dSrc.ptr, dOut3.ptr);
    const std::vector<float> out3 = dOut3.download();
    for (int i = 0; i < 4 * kCopyThreads; ++i) bad += out3[i] != src[i];
    CHECK(bad == 0);
}

TEST_CASE("cvt.rna.tf32.f32, cvt.rn.bf16.f32 and cvt.rn.bf16x2.f32 on hand-picked values") {
    REQUIRE_SM80();
    struct Case {
        uint32_t in, tf32;
        uint16_t bf16;
    };
    const Case cases[] = {
        {0x3f800000u, 0x3f800000u, 0x3f80},  // 1
        {0x3f801000u, 0x3f802000u, 0x3f80},  // tf32 tie: away from zero
        {0x3f800fffu, 0x3f800000u, 0x3f80},
        {0xbf801000u, 0xbf802000u, 0xbf80},
        {0x3f808000u, 0x3f808000u, 0x3f80},  // bf16 tie, even: stays
        {0x3f818000u, 0x3f818000u, 0x3f82},  // bf16 tie, odd: to even
        {0x3f808001u, 0x3f808000u, 0x3f81},
        {0x7f7fffffu, 0x7f800000u, 0x7f80},  // FLT_MAX: both round to Inf
        {0x7f800000u, 0x7f800000u, 0x7f80},
        {0xff800000u, 0xff800000u, 0xff80},
        {0x80000000u, 0x80000000u, 0x8000},
        {0x00001000u, 0x00002000u, 0x0000},  // subnormal, no flush
        {0x7fc00000u, 0, 0},                 // NaN: checked as NaN below
        {0x7f800001u, 0, 0},
    };
    const int n = sizeof cases / sizeof cases[0];
    std::vector<float> in(n);
    for (int i = 0; i < n; ++i) in[i] = float_of(cases[i].in);
    DeviceBuffer<float> dIn(in);
    DeviceBuffer<uint32_t> dTf32(n), dX2(n);
    DeviceBuffer<uint16_t> dBf16(n);
    GANOPS_LAUNCH(cvt_kernel, dim3(1), dim3(32), 0, nullptr)(dIn.ptr, n, dTf32.ptr, dBf16.ptr, dX2.ptr);
    const std::vector<uint32_t> tf32 = dTf32.download(), x2 = dX2.download();
    const std::vector<uint16_t> bf16 = dBf16.download();
    for (int i = 0; i < n; ++i) {
        INFO(std::hex << "in 0x" << cases[i].in << " tf32 0x" << tf32[i] << " bf16 0x" << bf16[i]);
        if (std::isnan(in[i])) {
            CHECK(std::isnan(float_of(tf32[i])));
            CHECK((tf32[i] & 0x1fffu) == 0);
            CHECK(std::isnan(float_of(uint32_t(bf16[i]) << 16)));
        } else {
            CHECK(tf32[i] == cases[i].tf32);
            CHECK(bf16[i] == cases[i].bf16);
            // .bf16x2: the first source in the high half, the second in the low half.
            CHECK((x2[i] >> 16) == cases[i].bf16);
            if (!std::isnan(in[n - 1 - i])) CHECK((x2[i] & 0xffffu) == cases[n - 1 - i].bf16);
        }
    }
}

#if defined(GANOPS_EMULATED)
// Faults stop a launch; these cases come last so that nothing after them depends on a
// runtime that has just reported one.
namespace {
bool diagnostics_mention(const std::string& text) {
    for (const std::string& d : ganops_emu::diagnostics())
        if (d.find(text) != std::string::npos) return true;
    return false;
}
}  // namespace

TEST_CASE("Emulated cp.async: a missing wait reads the poison") {
    std::vector<float> src(4 * kCopyThreads, 1.0f);
    DeviceBuffer<float> dSrc(src), dOut(4 * kCopyThreads);
    REQUIRE(cudaMemset(dOut.ptr, 0, dOut.n * sizeof(float)) == cudaSuccess);  // NaN must come from the copy
    GANOPS_LAUNCH(cp_async_missing_wait_kernel, dim3(1), dim3(kCopyThreads), 0, nullptr)(dSrc.ptr, dOut.ptr);
    int nan = 0;
    for (float v : dOut.download()) nan += std::isnan(v);
    CHECK(nan == 4 * kCopyThreads);
}

TEST_CASE("Emulated mma: a TF32 operand that skipped cvt.rna.tf32 is reported") {
    if (!ganops_emu::check_tf32()) {
        WARN("skipped: GANOPS_EMU_CHECK_TF32 is off in this run");
        return;
    }
    std::vector<float> A = random_values(16 * 8, 23);
    A[5] = 1.1f;  // 0x3f8ccccd: low 13 bits set
    const std::vector<float> B = random_values(8 * 8, 10), C = random_values(16 * 8, 23);
    DeviceBuffer<float> dA(A), dB(B), dC(C), dD(16 * 8);
    ganops_emu::clear_diagnostics();
    CHECK_THROWS(GANOPS_LAUNCH(mma_tf32_unconverted_kernel, dim3(1), dim3(32), 0, nullptr)(dA.ptr, dB.ptr, dC.ptr, dD.ptr));
    CHECK(diagnostics_mention("non-zero low 13 bits"));
    CHECK(diagnostics_mention("operand a["));
}

TEST_CASE("Emulated cp.async and ldmatrix: misaligned addresses are reported") {
    std::vector<float> src(4 * kCopyThreads, 1.0f);
    DeviceBuffer<float> dSrc(src), dOut(kCopyThreads);
    ganops_emu::clear_diagnostics();
    CHECK_THROWS(GANOPS_LAUNCH(cp_async_misaligned_kernel, dim3(1), dim3(kCopyThreads), 0, nullptr)(dSrc.ptr, dOut.ptr));
    CHECK(diagnostics_mention("not 16-byte aligned"));

    DeviceBuffer<uint32_t> dR(32 * 4);
    ganops_emu::clear_diagnostics();
    CHECK_THROWS(GANOPS_LAUNCH(ldmatrix_misaligned_kernel, dim3(1), dim3(32), 0, nullptr)(dR.ptr));
    CHECK(diagnostics_mention("ldmatrix"));
    CHECK(diagnostics_mention("not 16-byte aligned"));
}
#endif
