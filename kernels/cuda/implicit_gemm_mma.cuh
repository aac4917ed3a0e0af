// The tensor-core implicit GEMM: C[m, n] = sum over k of A(m, k) * B(k, n) on mma.sync, over
// the same Problem functors as the SIMT loop (implicit_gemm.cuh: M, N, K, a(m, k), b(k, n),
// store(m, n, v)), so every convolution pass feeds it unchanged. Three modes:
//   TF32    mma.m16n8k8 .tf32, fp32 accumulation. Operands are rounded with cvt.rna.tf32 AT
//           LOAD (once per element, when the staged registers go to shared memory), so the
//           fragments need no conversion.
//   BF16    mma.m16n8k16 .bf16, fp32 accumulation; operands rounded to bf16 (cvt.rn) at load
//           and kept in shared memory as bf16, half the bytes of the other modes.
//   TF32x3  fp32-accurate (CUTLASS's 3xTF32): shared memory keeps the fp32 bits, and AT THE
//           FRAGMENT each operand splits into hi = tf32(x) and lo = tf32(x - hi) (x - hi is
//           exact in fp32); the block adds lo*hi + hi*lo + hi*hi into one accumulator, small
//           terms first. lo*lo (2^-22 relative) is dropped.
//
// Tiles (mma_plan.h): a block computes a BM x BN tile of C, kMmaBK deep per stage; warps tile
// it WM x WN, each warp MI x NI mma tiles of 16 x 8. Both operands sit in shared memory
// K-contiguous (As[m][k], Bs[n][k]): then one ldmatrix.x4 yields a whole A fragment (16 x 8
// tf32 or 16 x 16 bf16) or the B fragments of two n8 tiles, for both element types (a 16-byte
// ldmatrix row is 4 tf32 or 8 bf16, which is exactly the mma fragment's layout).
//
// Shared memory is conflict-free by PADDING: each row of kMmaBK elements is followed by 16
// bytes (row pitch 80 bytes in fp32, 48 bytes in bf16). 8 consecutive rows then start in 8
// different 16-byte bank groups (80 r mod 128 and 48 r mod 128 for r = 0..7 are distinct), so
// an ldmatrix phase (8 rows x 16 bytes) and a quarter-warp 16-byte store of 8 rows each take
// one wavefront; the scalar stores of the K-fast loader put a warp's two half-warps 4 rows
// apart, 64 bytes of bank offset, also one wavefront.
//
// Pipeline: register-staged double buffering. The functors compute their operands (gathers
// with padding), so the loads go through registers: while the warps run the mma of stage s
// from shared buffer s % 2, every thread's global loads of stage s + 1 are in flight into
// registers, which are stored into the other buffer after the math; one barrier per stage.
// (Global -> registers -> shared buffers = three stages of data in flight per block.)
//
// Loading (coalescing): each operand has a fast index in global memory, declared by
// OperandOrder<Problem> (default: A is M-fast, as the forward and grad-input gathers are
// along output/input pixels; B is K-fast, as the weights and grad-weight's dy are):
//  - M-fast: lane l loads row (m) l of the tile, kVec consecutive k (16 bytes of shared
//    memory: 4 fp32 or 8 bf16) into registers and stores them with one 16-byte store;
//    the warp's 32 lanes read 32 consecutive m for each k: coalesced.
//  - K-fast: a half-warp covers the 16 k of one row; the two halves take rows 4 apart.
// The kernel itself indexes its tile with 32-bit offsets from per-tile 64-bit bases; it
// divides nothing per element. What the functors do per element is theirs: the conv passes
// come here in the FastDivmod forms of conv_mma.h (4 to 6 multiply-high splits per element,
// no hardware division); other problems as they are (conv_problems.h's plain forms divide in
// 32 bits). The NCHW problems keep this register-staged path: their gathers are not contiguous
// along k.
//
// Second path, the cp.async pipeline (mma_gemm_async_kernel, run_async; described further
// down): for problems whose operand rows are contiguous along k in 16-byte chunks (the
// channels-last convolutions, conv_nhwc_problems.h), kAsyncStages = 3 shared buffers filled by
// cp.async with zero-fill, per-thread chunk cursors split once per tile and stepped per stage
// without division, and the operands rounded at the fragment (cp.async bypasses registers).
#pragma once
#include <cstdint>
#include <cstring>

#include "implicit_gemm.cuh"  // GANOPS_UNROLL, reduce_splits_kernel (the split-K reduction)
#include "launch.cuh"
#include "mma_plan.h"
#include "ptx.cuh"

namespace ganops::cuda::mma {

enum class Mode { TF32, BF16, TF32x3 };

// Fusions a problem may opt into (conv_nhwc_fusion.h): a prologue on the A chunks of the
// cp.async path (p.norm_act_chunk) and a statistics epilogue
// (p.store_tile_moments). Problems without them compile to the same code.
template <class P>
constexpr bool has_chunk_prologue = requires { requires P::kNormActOnChunks; };
template <class P>
constexpr bool has_moments_epilogue = requires { requires P::kMomentsEpilogue; };

// Which index of each operand is contiguous in global memory (see the header comment).
template <class Problem>
struct OperandOrder {
    static constexpr bool a_k_fast = false;
    static constexpr bool b_k_fast = true;
};

// What each mode keeps in shared memory and how a float becomes it.
template <Mode M>
struct ModeTraits;
template <>
struct ModeTraits<Mode::TF32> {
    using Elem = uint32_t;        // tf32 bits (low 13 zero)
    static constexpr int kKStep = 8;  // k per mma
    __device__ static Elem convert(float x) { return ptx::cvt_rna_tf32(x); }
};
template <>
struct ModeTraits<Mode::TF32x3> {
    using Elem = uint32_t;  // fp32 bits, split at the fragment
    static constexpr int kKStep = 8;
    __device__ static Elem convert(float x) { return __float_as_uint(x); }
};
template <>
struct ModeTraits<Mode::BF16> {
    using Elem = uint16_t;
    static constexpr int kKStep = 16;
    __device__ static Elem convert(float x) { return ptx::cvt_rn_bf16(x); }
};

// The compile-time shape of a block: tile, warps, mma tiles per warp, shared-memory rows.
template <TileConfig C, Mode Md>
struct BlockShape {
    static constexpr TileShape s = tile_shape(C);
    static constexpr int BM = s.bm, BN = s.bn, WARPS_M = s.warps_m, WARPS_N = s.warps_n;
    static constexpr int kThreads = s.threads();
    static constexpr int WM = BM / WARPS_M, WN = BN / WARPS_N;
    static constexpr int MI = WM / 16, NI = WN / 8;
    using Elem = typename ModeTraits<Md>::Elem;
    static constexpr int kVec = 16 / int(sizeof(Elem));  // elements per 16 bytes
    static constexpr int kPitch = kMmaBK + kVec;        // row pitch in elements: 16 bytes of padding
    static constexpr int kKStep = ModeTraits<Md>::kKStep;
    static_assert(WM % 16 == 0 && WN % 16 == 0, "a warp tile is whole m16 tiles and pairs of n8 tiles");
    static_assert(kMmaBK % kKStep == 0 && kMmaBK % kVec == 0);
    static_assert(kThreads % 128 == 0, "the K-fast loader's row permutation covers 8 rows per 128 threads");
};

// One 16-byte store to shared memory (st.shared.v4). The emulated build copies the bytes:
// the tile's element type is not uint4, and GCC's aliasing rules are not nvcc's.
__device__ inline void store_shared16(void* dst, const uint4& v) {
#if defined(GANOPS_EMULATED)
    std::memcpy(dst, &v, sizeof v);
#else
    *static_cast<uint4*>(dst) = v;
#endif
}

// One operand tile (ROWS x kMmaBK, rows = m for A, n for B) between global memory, the
// registers that stage it and shared memory. `get(row, k)` reads one element (zero outside).
template <class Sh, int ROWS, bool KFast>
struct TileLoader {
    using Elem = typename Sh::Elem;
    static constexpr int kThreads = Sh::kThreads, kVec = Sh::kVec;
    // M-fast: groups of kVec consecutive k for one row; K-fast: one k, rows kThreads/16 apart.
    static constexpr int kGroups = ROWS * kMmaBK / kVec;
    static constexpr int kPerThread = KFast ? (ROWS * kMmaBK + kThreads - 1) / kThreads
                                            : ((kGroups + kThreads - 1) / kThreads) * kVec;
    static constexpr int kRowsPerPass = kThreads / kMmaBK;
    float v[kPerThread];

    // K-fast: half-warp h of warp w takes row w % 4 + 4 h (+ 8 per further 4 warps): the
    // two halves of a warp store 4 rows apart (bank offset 64 bytes: no conflict).
    __device__ static int kfast_row(int tid, int pass) {
        const int slot = tid / kMmaBK, w = slot / 2, h = slot % 2;
        return (w % 4) + 4 * h + 8 * (w / 4) + pass * kRowsPerPass;
    }

    template <class Get>
    __device__ void load(const Get& get, int rows_left, int k_left) {
        const int tid = threadIdx.x;
        if constexpr (KFast) {
            const int k = tid % kMmaBK;
GANOPS_UNROLL
            for (int i = 0; i < kPerThread; ++i) {
                const int row = kfast_row(tid, i);
                v[i] = (row < ROWS && row < rows_left && k < k_left) ? get(row, k) : 0.0f;
            }
        } else {
GANOPS_UNROLL
            for (int g = 0; g < kPerThread / kVec; ++g) {
                const int idx = tid + g * kThreads, row = idx % ROWS, k0 = (idx / ROWS) * kVec;
                const bool row_ok = idx < kGroups && row < rows_left;
GANOPS_UNROLL
                for (int j = 0; j < kVec; ++j) v[g * kVec + j] = (row_ok && k0 + j < k_left) ? get(row, k0 + j) : 0.0f;
            }
        }
    }

    template <class Convert>
    __device__ void store(Elem (*s)[Sh::kPitch], const Convert& convert) const {
        const int tid = threadIdx.x;
        if constexpr (KFast) {
            const int k = tid % kMmaBK;
GANOPS_UNROLL
            for (int i = 0; i < kPerThread; ++i) {
                const int row = kfast_row(tid, i);
                if (row < ROWS) s[row][k] = convert(v[i]);
            }
        } else {
GANOPS_UNROLL
            for (int g = 0; g < kPerThread / kVec; ++g) {
                const int idx = tid + g * kThreads, row = idx % ROWS, k0 = (idx / ROWS) * kVec;
                if (idx >= kGroups) continue;
                // One 16-byte store of kVec converted elements.
                uint32_t w[4];
GANOPS_UNROLL
                for (int j = 0; j < 4; ++j) {
                    if constexpr (sizeof(Elem) == 4)
                        w[j] = convert(v[g * kVec + j]);
                    else
                        w[j] = uint32_t(convert(v[g * kVec + 2 * j])) | (uint32_t(convert(v[g * kVec + 2 * j + 1])) << 16);
                }
                store_shared16(&s[row][k0], make_uint4(w[0], w[1], w[2], w[3]));
            }
        }
    }
};

// The shared buffers of one block: two stages of A and B.
template <class Sh>
struct SharedTiles {
    alignas(16) typename Sh::Elem a[2][Sh::BM][Sh::kPitch];
    alignas(16) typename Sh::Elem b[2][Sh::BN][Sh::kPitch];
};

// 3xTF32's operand split: hi = tf32(x), lo = tf32(x - hi), so hi + lo carries x to about
// 2^-22 relative (the two-term representation CUTLASS's 3xTF32 uses).
__device__ inline void split_tf32(uint32_t bits, uint32_t& hi, uint32_t& lo) {
    const float x = __uint_as_float(bits);
    hi = ptx::cvt_rna_tf32(x);
    lo = ptx::cvt_rna_tf32(__fsub_rn(x, __uint_as_float(hi)));
}

// The mma of one stage: every k-step of kMmaBK, every (mi, ni) of this warp's tile.
template <class Sh, Mode Md>
__device__ void mma_stage(const typename Sh::Elem (*as)[Sh::kPitch], const typename Sh::Elem (*bs)[Sh::kPitch], int wm0,
                          int wn0, float (&acc)[Sh::MI][Sh::NI][4]) {
    const int lane = threadIdx.x % 32;
    // ldmatrix.x4 row addresses: lane l names row l % 8 of matrix l / 8. For A the four
    // matrices are (rows 0-7 | 8-15) x (k half 0 | 1) in the order a0..a3; for B, two n8 tiles
    // x (k half 0 | 1) in the order b0, b1 of tile ni, then of ni + 1.
    const int a_row = lane % 8 + ((lane / 8) % 2) * 8, a_khalf = lane / 16;
    const int b_row = lane % 8 + (lane / 16) * 8, b_khalf = (lane / 8) % 2;
    constexpr int kHalf = Sh::kKStep / 2;
GANOPS_UNROLL
    for (int ks = 0; ks < kMmaBK; ks += Sh::kKStep) {
        uint32_t af[Sh::MI][4], bf[Sh::NI][2];
GANOPS_UNROLL
        for (int mi = 0; mi < Sh::MI; ++mi) ptx::ldmatrix_x4(af[mi], &as[wm0 + mi * 16 + a_row][ks + a_khalf * kHalf]);
GANOPS_UNROLL
        for (int nj = 0; nj < Sh::NI / 2; ++nj) {
            uint32_t r[4];
            ptx::ldmatrix_x4(r, &bs[wn0 + nj * 16 + b_row][ks + b_khalf * kHalf]);
            bf[2 * nj][0] = r[0];
            bf[2 * nj][1] = r[1];
            bf[2 * nj + 1][0] = r[2];
            bf[2 * nj + 1][1] = r[3];
        }
        if constexpr (Md == Mode::TF32) {
GANOPS_UNROLL
            for (int mi = 0; mi < Sh::MI; ++mi)
GANOPS_UNROLL
                for (int ni = 0; ni < Sh::NI; ++ni) ptx::mma_m16n8k8_tf32(acc[mi][ni], af[mi], bf[ni], acc[mi][ni]);
        } else if constexpr (Md == Mode::BF16) {
GANOPS_UNROLL
            for (int mi = 0; mi < Sh::MI; ++mi)
GANOPS_UNROLL
                for (int ni = 0; ni < Sh::NI; ++ni) ptx::mma_m16n8k16_bf16(acc[mi][ni], af[mi], bf[ni], acc[mi][ni]);
        } else {
            // 3xTF32: split both operands, then lo*hi + hi*lo + hi*hi, small terms first.
            uint32_t a_hi[Sh::MI][4], a_lo[Sh::MI][4], b_hi[Sh::NI][2], b_lo[Sh::NI][2];
GANOPS_UNROLL
            for (int mi = 0; mi < Sh::MI; ++mi)
GANOPS_UNROLL
                for (int i = 0; i < 4; ++i) split_tf32(af[mi][i], a_hi[mi][i], a_lo[mi][i]);
GANOPS_UNROLL
            for (int ni = 0; ni < Sh::NI; ++ni)
GANOPS_UNROLL
                for (int i = 0; i < 2; ++i) split_tf32(bf[ni][i], b_hi[ni][i], b_lo[ni][i]);
GANOPS_UNROLL
            for (int mi = 0; mi < Sh::MI; ++mi)
GANOPS_UNROLL
                for (int ni = 0; ni < Sh::NI; ++ni) {
                    ptx::mma_m16n8k8_tf32(acc[mi][ni], a_lo[mi], b_hi[ni], acc[mi][ni]);
                    ptx::mma_m16n8k8_tf32(acc[mi][ni], a_hi[mi], b_lo[ni], acc[mi][ni]);
                    ptx::mma_m16n8k8_tf32(acc[mi][ni], a_hi[mi], b_hi[ni], acc[mi][ni]);
                }
        }
    }
}

// Epilogue: c0 (g, 2t) c1 (g, 2t+1) c2 (g+8, 2t) c3 (g+8, 2t+1) of each m16n8 tile, to the
// problem's store or, under split-K, to this split's partial tile.
template <class Sh, class Problem>
__device__ void store_accumulators(const Problem& p, const float (&acc)[Sh::MI][Sh::NI][4], int64_t m0, int64_t n0, int wm0,
                                   int wn0, int m_left, int n_left, float* partial) {
    const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
GANOPS_UNROLL
    for (int mi = 0; mi < Sh::MI; ++mi)
GANOPS_UNROLL
        for (int ni = 0; ni < Sh::NI; ++ni)
GANOPS_UNROLL
            for (int i = 0; i < 4; ++i) {
                const int row = wm0 + mi * 16 + g + (i / 2) * 8, col = wn0 + ni * 8 + 2 * t + i % 2;
                if (row >= m_left || col >= n_left) continue;
                const int64_t m = m0 + row, n = n0 + col;
                if (partial)
                    partial[(int64_t(blockIdx.z) * p.N + n) * p.M + m] = acc[mi][ni][i];
                else
                    p.store(m, n, acc[mi][ni][i]);
            }
    // Split-K tiles are partial sums: their statistics come after the reduction (conv2d_nhwc.cu).
    if constexpr (has_moments_epilogue<Problem>)
        if (!partial) p.template store_tile_moments<Sh>(acc, m0, n0, wm0, wn0, m_left, n_left);
}

// One BM x BN tile of C at (m0, n0) over the K range [k_begin, k_end).
template <class Sh, Mode Md, class Problem>
__device__ void mma_tile(const Problem& p, int64_t m0, int64_t n0, int64_t k_begin, int64_t k_end, float* partial,
                         SharedTiles<Sh>& sm) {
    using Traits = ModeTraits<Md>;
    const int warp = threadIdx.x / 32;
    const int wm0 = (warp % Sh::WARPS_M) * Sh::WM, wn0 = (warp / Sh::WARPS_M) * Sh::WN;
    // 32-bit tile extents: rows of A and B that exist (the tile may hang over M or N).
    const int m_left = int(min(int64_t(Sh::BM), p.M - m0)), n_left = int(min(int64_t(Sh::BN), p.N - n0));
    const auto convert = [](float x) { return Traits::convert(x); };

    TileLoader<Sh, Sh::BM, OperandOrder<Problem>::a_k_fast> a_stage;
    TileLoader<Sh, Sh::BN, OperandOrder<Problem>::b_k_fast> b_stage;
    const auto load = [&](int64_t k0) {
        const int k_left = int(min(int64_t(kMmaBK), k_end - k0));
        a_stage.load([&](int row, int k) { return p.a(m0 + row, k0 + k); }, m_left, k_left);
        b_stage.load([&](int row, int k) { return p.b(k0 + k, n0 + row); }, n_left, k_left);
    };

    float acc[Sh::MI][Sh::NI][4];
GANOPS_UNROLL
    for (int mi = 0; mi < Sh::MI; ++mi)
GANOPS_UNROLL
        for (int ni = 0; ni < Sh::NI; ++ni)
GANOPS_UNROLL
            for (int i = 0; i < 4; ++i) acc[mi][ni][i] = 0.0f;

    const int stages = int((k_end - k_begin + kMmaBK - 1) / kMmaBK);
    if (stages > 0) {
        load(k_begin);
        a_stage.store(sm.a[0], convert);
        b_stage.store(sm.b[0], convert);
        __syncthreads();
        for (int s = 0; s < stages; ++s) {
            const int cur = s % 2;
            const bool more = s + 1 < stages;
            if (more) load(k_begin + int64_t(s + 1) * kMmaBK);  // in flight during the math
            mma_stage<Sh, Md>(sm.a[cur], sm.b[cur], wm0, wn0, acc);
            if (more) {
                a_stage.store(sm.a[cur ^ 1], convert);
                b_stage.store(sm.b[cur ^ 1], convert);
            }
            // The other buffer is complete, and every warp is done reading this one.
            __syncthreads();
        }
    }

    store_accumulators<Sh>(p, acc, m0, n0, wm0, wn0, m_left, n_left, partial);
}

// ---------------------------------------------------------------------------------------------
// The cp.async pipeline, for problems whose operand rows are contiguous along k in 16-byte
// chunks (the channels-last convolutions, conv_nhwc_problems.h). Such a problem offers, for A
// and for B, a cursor per (row, chunk of 4 k): a_cursor(m, k) / b_cursor(n, k) once per tile,
// a_chunk(cursor) -> the chunk's address or nullptr for zeros (padding), a_step(cursor) to move
// kMmaBK along k (no division). K must be a multiple of 4 (a chunk is all in or all out).
//
// Shared memory holds fp32 in every mode (cp.async copies bytes: it cannot convert), kAsyncStages
// buffers of A and B with the padded 80-byte rows above. The loader gives lane l of warp w the
// chunk (row 8 (w + j * warps) + l % 8, k quad (l / 8) % 4): a quarter-warp stores 8 rows of one
// quad (one wavefront, as ldmatrix reads them), and a warp reads 8 rows x 64 contiguous bytes
// of global memory (whole 32-byte sectors when the rows are 64-byte aligned, as with 16-channel
// multiples). Padding and the tile's edges are cp.async with src-size 0: zeros, no read.
//
// The operands are rounded AT THE FRAGMENT (after ldmatrix, before the mma), since the copy
// never passes through registers: TF32 cvt.rna each register; BF16 packs two fp32 registers to
// a bf16x2 (the k order inside an m16n8k16 is permuted alike for A and B, which the sum does
// not see, see mma_stage_fp32); fp32-accurate splits as above. Same rounding as the
// register-staged path, applied once per use of an element instead of once per load (a warp
// tile reads each element WN/8 or WM/16 times): more cvt, fewer bytes moved.
//
// Pipeline: stage s's copies are committed as one group; kAsyncStages - 1 groups are in flight
// while the warps compute. Per stage: wait until stage s has landed (this thread's copies),
// one barrier (everyone's copies visible; everyone done with the buffer about to be refilled),
// issue stage s + kAsyncStages - 1 into that buffer, then the mma of stage s.
constexpr int kAsyncStages = 3;  // Wide: 3 x (128 + 64) rows x 80 bytes = 45 KiB of static shared memory

template <class Sh>
struct AsyncSharedTiles {
    alignas(16) uint32_t a[kAsyncStages][Sh::BM][Sh::kPitch];
    alignas(16) uint32_t b[kAsyncStages][Sh::BN][Sh::kPitch];
};

// The fp32 shape of a block: 4 elements per 16 bytes, 80-byte rows, k-steps of 8.
template <TileConfig C>
using AsyncShape = BlockShape<C, Mode::TF32x3>;

// One operand's chunks (ROWS rows x kMmaBK k, 4 k per chunk) for this thread: their cursors,
// stepped each stage, and which of them have a row inside the problem.
template <class Sh, int ROWS, class Cursor>
struct ChunkLoader {
    static constexpr int kChunks = ROWS * (kMmaBK / 4);
    static constexpr int kPerThread = (kChunks + Sh::kThreads - 1) / Sh::kThreads;
    static_assert(ROWS % 8 == 0 && kPerThread <= 32);
    Cursor cur[kPerThread];
    uint32_t row_ok = 0;  // bit i: chunk i exists and its row is inside the problem

    __device__ static int chunk(int i) { return int(threadIdx.x) + i * Sh::kThreads; }
    __device__ static int row_of(int c) { return c % 8 + 8 * (c / 32); }
    __device__ static int quad_of(int c) { return (c / 8) % 4; }

    // Once per tile: each chunk's cursor at k = k0 + its quad's offset.
    template <class Make>
    __device__ void start(const Make& make, int rows_left, int64_t k0) {
        row_ok = 0;
GANOPS_UNROLL
        for (int i = 0; i < kPerThread; ++i) {
            const int c = chunk(i), row = row_of(c);
            if (c < kChunks && row < rows_left) {
                row_ok |= 1u << i;
                cur[i] = make(row, k0 + 4 * quad_of(c));
            }
        }
    }

    // One stage: a 16-byte cp.async per chunk (zero-filled where the chunk is padding, past
    // the tile's rows or past K), then every cursor one stage on. Returns which chunks were
    // copied (bit i: chunk i), for a prologue that must leave the zero-filled ones alone.
    template <class Src, class Step>
    __device__ uint32_t issue(uint32_t (*s)[Sh::kPitch], int k_left, const float* any_valid, const Src& src, const Step& step) {
        uint32_t copied = 0;
GANOPS_UNROLL
        for (int i = 0; i < kPerThread; ++i) {
            const int c = chunk(i);
            if (c >= kChunks) continue;
            const int row = row_of(c), k = 4 * quad_of(c);
            const bool ok = (row_ok >> i) & 1u;
            const float* from = ok && k < k_left ? src(cur[i]) : nullptr;
            ptx::cp_async_cg16(&s[row][k], from ? from : any_valid, from ? 16 : 0);
            if (from) copied |= 1u << i;
            if (ok) step(cur[i]);
        }
        return copied;
    }

    // f(row, k) for each chunk in `copied` (as issue() returned it), in the stage's buffer.
    template <class F>
    __device__ static void for_each_copied(uint32_t copied, const F& f) {
GANOPS_UNROLL
        for (int i = 0; i < kPerThread; ++i)
            if ((copied >> i) & 1u) f(row_of(chunk(i)), 4 * quad_of(chunk(i)));
    }
};

// The mma of one stage from fp32 shared memory, operands rounded at the fragment. The
// fragments are loaded as for tf32 (ldmatrix.x4 of 8 k per matrix pair). BF16 takes two such
// k-steps (k 0-7 and 8-15 of a 16-wide mma) and packs lane (g, t)'s pairs: A's (k = t, t + 4)
// into the bf16 slot (2t, 2t + 1) and (8 + t, 12 + t) into (2t + 8, 2t + 9), and B's alike.
// That is one permutation of the 16 k for both operands, so the dot product is unchanged.
template <class Sh, Mode Md>
__device__ void mma_stage_fp32(const uint32_t (*as)[Sh::kPitch], const uint32_t (*bs)[Sh::kPitch], int wm0, int wn0,
                               float (&acc)[Sh::MI][Sh::NI][4]) {
    if constexpr (Md == Mode::TF32x3) {
        mma_stage<Sh, Md>(as, bs, wm0, wn0, acc);  // shared memory already holds fp32 bits there
    } else {
        const int lane = threadIdx.x % 32;
        const int a_row = lane % 8 + ((lane / 8) % 2) * 8, a_k = (lane / 16) * 4;
        const int b_row = lane % 8 + (lane / 16) * 8, b_k = ((lane / 8) % 2) * 4;
        constexpr int kSteps = Md == Mode::BF16 ? 2 : 1;  // tf32 k-steps of 8 per mma
GANOPS_UNROLL
        for (int ks = 0; ks < kMmaBK; ks += 8 * kSteps) {
            uint32_t af[kSteps][Sh::MI][4], bf[kSteps][Sh::NI][2];
GANOPS_UNROLL
            for (int h = 0; h < kSteps; ++h) {
GANOPS_UNROLL
                for (int mi = 0; mi < Sh::MI; ++mi) ptx::ldmatrix_x4(af[h][mi], &as[wm0 + mi * 16 + a_row][ks + 8 * h + a_k]);
GANOPS_UNROLL
                for (int nj = 0; nj < Sh::NI / 2; ++nj) {
                    uint32_t r[4];
                    ptx::ldmatrix_x4(r, &bs[wn0 + nj * 16 + b_row][ks + 8 * h + b_k]);
                    bf[h][2 * nj][0] = r[0];
                    bf[h][2 * nj][1] = r[1];
                    bf[h][2 * nj + 1][0] = r[2];
                    bf[h][2 * nj + 1][1] = r[3];
                }
            }
            if constexpr (Md == Mode::TF32) {
GANOPS_UNROLL
                for (int mi = 0; mi < Sh::MI; ++mi)
GANOPS_UNROLL
                    for (int i = 0; i < 4; ++i) af[0][mi][i] = ptx::cvt_rna_tf32(__uint_as_float(af[0][mi][i]));
GANOPS_UNROLL
                for (int ni = 0; ni < Sh::NI; ++ni)
GANOPS_UNROLL
                    for (int i = 0; i < 2; ++i) bf[0][ni][i] = ptx::cvt_rna_tf32(__uint_as_float(bf[0][ni][i]));
GANOPS_UNROLL
                for (int mi = 0; mi < Sh::MI; ++mi)
GANOPS_UNROLL
                    for (int ni = 0; ni < Sh::NI; ++ni) ptx::mma_m16n8k8_tf32(acc[mi][ni], af[0][mi], bf[0][ni], acc[mi][ni]);
            } else {
                const auto f = [](uint32_t bits) { return __uint_as_float(bits); };
                uint32_t a16[Sh::MI][4], b16[Sh::NI][2];
GANOPS_UNROLL
                for (int mi = 0; mi < Sh::MI; ++mi) {
                    a16[mi][0] = ptx::pack_bf16x2(f(af[0][mi][0]), f(af[0][mi][2]));
                    a16[mi][1] = ptx::pack_bf16x2(f(af[0][mi][1]), f(af[0][mi][3]));
                    a16[mi][2] = ptx::pack_bf16x2(f(af[1][mi][0]), f(af[1][mi][2]));
                    a16[mi][3] = ptx::pack_bf16x2(f(af[1][mi][1]), f(af[1][mi][3]));
                }
GANOPS_UNROLL
                for (int ni = 0; ni < Sh::NI; ++ni) {
                    b16[ni][0] = ptx::pack_bf16x2(f(bf[0][ni][0]), f(bf[0][ni][1]));
                    b16[ni][1] = ptx::pack_bf16x2(f(bf[1][ni][0]), f(bf[1][ni][1]));
                }
GANOPS_UNROLL
                for (int mi = 0; mi < Sh::MI; ++mi)
GANOPS_UNROLL
                    for (int ni = 0; ni < Sh::NI; ++ni) ptx::mma_m16n8k16_bf16(acc[mi][ni], a16[mi], b16[ni], acc[mi][ni]);
            }
        }
    }
}

// One BM x BN tile of C at (m0, n0) over [k_begin, k_end), operands through the cp.async pipeline.
template <class Sh, Mode Md, class Problem>
__device__ void mma_tile_async(const Problem& p, const float* a_any, const float* b_any, int64_t m0, int64_t n0,
                               int64_t k_begin, int64_t k_end, float* partial, AsyncSharedTiles<Sh>& sm) {
    const int warp = threadIdx.x / 32;
    const int wm0 = (warp % Sh::WARPS_M) * Sh::WM, wn0 = (warp / Sh::WARPS_M) * Sh::WN;
    const int m_left = int(min(int64_t(Sh::BM), p.M - m0)), n_left = int(min(int64_t(Sh::BN), p.N - n0));

    ChunkLoader<Sh, Sh::BM, typename Problem::ACursor> a_load;
    ChunkLoader<Sh, Sh::BN, typename Problem::BCursor> b_load;
    const auto a_src = [&](const typename Problem::ACursor& c) { return p.a_chunk(c); };
    const auto b_src = [&](const typename Problem::BCursor& c) { return p.b_chunk(c); };
    const auto a_step = [&](typename Problem::ACursor& c) { p.a_step(c); };
    const auto b_step = [&](typename Problem::BCursor& c) { p.b_step(c); };

    float acc[Sh::MI][Sh::NI][4];
GANOPS_UNROLL
    for (int mi = 0; mi < Sh::MI; ++mi)
GANOPS_UNROLL
        for (int ni = 0; ni < Sh::NI; ++ni)
GANOPS_UNROLL
            for (int i = 0; i < 4; ++i) acc[mi][ni][i] = 0.0f;

    const int stages = int((k_end - k_begin + kMmaBK - 1) / kMmaBK);
    // The buffers may still be read by a warp finishing this block's previous tile.
    __syncthreads();
    if (stages > 0) {
        a_load.start([&](int row, int64_t k) { return p.a_cursor(m0 + row, k); }, m_left, k_begin);
        b_load.start([&](int row, int64_t k) { return p.b_cursor(n0 + row, k); }, n_left, k_begin);
    }
    // Which A chunks each buffer's copies filled, kPerThread bits per buffer in one register
    // (an array indexed by the stage would live in local memory). Dead code without a prologue.
    constexpr int kCopiedBits = decltype(a_load)::kPerThread;
    static_assert(kCopiedBits * kAsyncStages <= 64);
    constexpr uint64_t kCopiedMask = (uint64_t{1} << kCopiedBits) - 1;
    [[maybe_unused]] uint64_t a_copied = 0;
    // Stages are issued in order 0, 1, 2, ...: each issue steps the cursors once.
    const auto issue = [&](int s) {
        const int buf = s % kAsyncStages;
        const int k_left = int(min(int64_t(kMmaBK), k_end - (k_begin + int64_t(s) * kMmaBK)));
        const uint64_t copied = a_load.issue(sm.a[buf], k_left, a_any, a_src, a_step);
        a_copied = (a_copied & ~(kCopiedMask << (buf * kCopiedBits))) | (copied << (buf * kCopiedBits));
        b_load.issue(sm.b[buf], k_left, b_any, b_src, b_step);
    };
GANOPS_UNROLL
    for (int s = 0; s < kAsyncStages - 1; ++s) {
        if (s < stages) issue(s);
        ptx::cp_async_commit_group();  // empty groups too: the wait below counts groups
    }
    for (int s = 0; s < stages; ++s) {
        ptx::cp_async_wait_group<kAsyncStages - 2>();  // stage s has landed (this thread's part)
        if constexpr (has_chunk_prologue<Problem>) {
            // Normalise-on-load: this thread's own copied chunks, before the barrier publishes them.
            const int buf = s % kAsyncStages;
            const int64_t k_stage = k_begin + int64_t(s) * kMmaBK;
            const uint32_t copied = uint32_t((a_copied >> (buf * kCopiedBits)) & kCopiedMask);
            decltype(a_load)::for_each_copied(copied, [&](int row, int k) { p.norm_act_chunk(&sm.a[buf][row][k], k_stage + k); });
        }
        __syncthreads();  // ... everyone's; and buffer (s - 1) % kAsyncStages is read by nobody now
        if (s + kAsyncStages - 1 < stages) issue(s + kAsyncStages - 1);
        ptx::cp_async_commit_group();
        const int buf = s % kAsyncStages;
        mma_stage_fp32<Sh, Md>(sm.a[buf], sm.b[buf], wm0, wn0, acc);
    }
    store_accumulators<Sh>(p, acc, m0, n0, wm0, wn0, m_left, n_left, partial);
}

// As mma_gemm_kernel, through the cp.async pipeline. a_any / b_any: a valid 16-byte-aligned
// address of each operand, the source of the zero-filling copies (which read nothing).
template <TileConfig C, Mode Md, class Problem>
__global__ void __launch_bounds__(AsyncShape<C>::kThreads)
    mma_gemm_async_kernel(Problem p, const float* a_any, const float* b_any, int64_t k_chunk, float* partial) {
    using Sh = AsyncShape<C>;
    __shared__ AsyncSharedTiles<Sh> sm;
    const int64_t k_begin = int64_t(blockIdx.z) * k_chunk;
    const int64_t k_end = min(p.K, k_begin + k_chunk);
    for (int64_t n0 = int64_t(blockIdx.y) * Sh::BN; n0 < p.N; n0 += int64_t(gridDim.y) * Sh::BN)
        for (int64_t m0 = int64_t(blockIdx.x) * Sh::BM; m0 < p.M; m0 += int64_t(gridDim.x) * Sh::BM)
            mma_tile_async<Sh, Md>(p, a_any, b_any, m0, n0, k_begin, k_end, partial, sm);
}

// A block computes tile (blockIdx.x, blockIdx.y) of split blockIdx.z, and the tiles a whole
// grid further on where the problem has more than a grid dimension allows (mma_plan.h). The
// loops are uniform across the block, so the barriers inside hold.
template <TileConfig C, Mode Md, class Problem>
__global__ void __launch_bounds__(BlockShape<C, Md>::kThreads) mma_gemm_kernel(Problem p, int64_t k_chunk, float* partial) {
    using Sh = BlockShape<C, Md>;
    __shared__ SharedTiles<Sh> sm;
    const int64_t k_begin = int64_t(blockIdx.z) * k_chunk;
    const int64_t k_end = min(p.K, k_begin + k_chunk);
    for (int64_t n0 = int64_t(blockIdx.y) * Sh::BN; n0 < p.N; n0 += int64_t(gridDim.y) * Sh::BN)
        for (int64_t m0 = int64_t(blockIdx.x) * Sh::BM; m0 < p.M; m0 += int64_t(gridDim.x) * Sh::BM)
            mma_tile<Sh, Md>(p, m0, n0, k_begin, k_end, partial, sm);
}

template <TileConfig C, Mode Md, class Problem>
void launch(const Problem& p, const MmaPlan& plan, float* partial) {
    const dim3 grid{unsigned(plan.grid_m), unsigned(plan.grid_n), unsigned(plan.splits)};
    // Aliases: GANOPS_LAUNCH takes no commas in the kernel's name (launch.cuh), and
    // tools/sass_report reads the block size's name (kMmaThreads: 256 Wide, 128 otherwise).
    [[maybe_unused]] constexpr auto mma_gemm = &mma_gemm_kernel<C, Md, Problem>;
    constexpr int kMmaThreads = BlockShape<C, Md>::kThreads;
    GANOPS_LAUNCH(mma_gemm, grid, kMmaThreads, 0, current_stream())(p, plan.k_chunk, partial);
}

template <TileConfig C, Mode Md, class Problem>
void launch_async(const Problem& p, const MmaPlan& plan, float* partial) {
    const dim3 grid{unsigned(plan.grid_m), unsigned(plan.grid_n), unsigned(plan.splits)};
    [[maybe_unused]] constexpr auto mma_gemm_async = &mma_gemm_async_kernel<C, Md, Problem>;
    constexpr int kMmaThreads = AsyncShape<C>::kThreads;
    GANOPS_LAUNCH(mma_gemm_async, grid, kMmaThreads, 0, current_stream())(p, p.a_any(), p.b_any(), plan.k_chunk, partial);
}

// Async: the cp.async pipeline (the problem has chunk cursors), else the register-staged loop.
template <Mode Md, bool Async, class Problem>
void launch_tile(const Problem& p, const MmaPlan& plan, float* partial) {
    switch (plan.tile) {
        case TileConfig::Wide:
            if constexpr (Async) launch_async<TileConfig::Wide, Md>(p, plan, partial);
            else launch<TileConfig::Wide, Md>(p, plan, partial);
            break;
        case TileConfig::Square:
            if constexpr (Async) launch_async<TileConfig::Square, Md>(p, plan, partial);
            else launch<TileConfig::Square, Md>(p, plan, partial);
            break;
        case TileConfig::Narrow:
            if constexpr (Async) launch_async<TileConfig::Narrow, Md>(p, plan, partial);
            else launch<TileConfig::Narrow, Md>(p, plan, partial);
            break;
    }
}

// Runs the problem on the tensor cores in mode Md, split-K as mma_plan() says; the splits'
// partial tiles are added in a fixed order (gemm::reduce_splits_kernel): deterministic.
template <Mode Md, bool Async = false, class Problem>
void run_with_plan(const Problem& p, const MmaPlan& plan) {
    if (p.M == 0 || p.N == 0) return;
    if (plan.splits <= 1) {
        launch_tile<Md, Async>(p, plan, nullptr);
        return;
    }
    Tensor partial = Tensor::empty(ganops::Shape{plan.splits * p.M * p.N}, DType::F32, Device::CUDA);
    launch_tile<Md, Async>(p, plan, partial.data<float>());
    GANOPS_LAUNCH(gemm::reduce_splits_kernel<Problem>, grid_for(p.M * p.N), kThreads, 0, current_stream())(
        p, partial.data<float>(), int(plan.splits));
}

template <Mode Md, class Problem>
void run(const Problem& p) {
    run_with_plan<Md>(p, mma_plan(p.M, p.N, p.K));
}

// The cp.async pipeline; the problem must have chunk cursors and K % 4 == 0 (see above).
template <Mode Md, class Problem>
void run_async(const Problem& p) {
    run_with_plan<Md, true>(p, mma_plan(p.M, p.N, p.K));
}

}  // namespace ganops::cuda::mma
