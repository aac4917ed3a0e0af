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
// down): for problems whose operands come in 16-byte chunks, along k (forward, grad-input) or
// along m and n (grad-weight) (the channels-last convolutions, conv_nhwc_problems.h):
// kAsyncStages = 3 buffers of 32-deep stages in dynamic shared memory, filled by cp.async with
// zero-fill, per-thread chunk cursors split once per tile and stepped without division; TF32
// operands rounded once per block in shared memory, BF16 / fp32-accurate at the fragment; a
// fourth tile, 128 x 128 (mma_plan.h's Large), for the fewest instructions per mma.
#pragma once
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "implicit_gemm.cuh"  // GANOPS_UNROLL, reduce_splits_kernel (the split-K reduction)
#include "../../core/error.h"
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
// Problems whose cp.async chunks may be issued a stage at a time (ChunkLoader::issue_paired):
// p.stages_pair() says when at run time, a_step_stage / b_step_stage move kAsyncBK.
template <class P>
constexpr bool has_paired_stages = requires(const P& p) { p.stages_pair(); };
// Operands that arrive as TF32 values (mma_plan.h, OperandsTf32: the problem's `operands_tf32`,
// set by the dispatch from what produced them): the TF32 cp.async loop skips their rounding
// pass. A chunk prologue rewrites A in shared memory, so such a problem's A is rounded anyway.
// A problem whose operands never arrive rounded says `static constexpr bool kOperandsNeverTf32
// = true`: no branches compiled (the flags are then not even read; they cost registers where a
// loop is at its limit, e.g. D1's conv + LeakyReLU on the 128 x 128 tile spilled on sm_90).
template <class P>
GANOPS_HD OperandsTf32 operands_tf32(const P& p) {
    if constexpr (requires { requires P::kOperandsNeverTf32; }) {
        return {};
    } else if constexpr (requires { p.operands_tf32; }) {
        OperandsTf32 r = p.operands_tf32;
        if constexpr (has_chunk_prologue<P>) r.a = false;
        return r;
    } else {
        return {};
    }
}

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

__device__ inline uint4 load_shared16(const void* src) {
#if defined(GANOPS_EMULATED)
    uint4 v;
    std::memcpy(&v, src, sizeof v);
    return v;
#else
    return *static_cast<const uint4*>(src);
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
// problem's store or, under split-K, to this split's partial tile ([n][m] at `partial`: the
// kernel points it at its split's slice).
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
                    partial[n * p.M + m] = acc[mi][ni][i];
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
// The cp.async pipeline, for problems whose operands come in 16-byte chunks of 4 consecutive
// elements (the channels-last convolutions, conv_nhwc_problems.h). Such a problem offers, for A
// and for B, a cursor per chunk: a_cursor(m, k) / b_cursor(n, k) once per tile, a_chunk(cursor)
// -> the chunk's address or nullptr for zeros (padding), a_step(cursor) to move kMmaBK along k
// (no division). A chunk runs along k (4 consecutive k of one row; forward and grad-input), or,
// where the problem says `static constexpr bool kChunksAlongK = false`, along m for A and n for
// B (4 consecutive rows at one k; grad-weight, whose x and dy are channel-fast: m and n are
// channels, k is pixels). K (along-k chunks) or M and N (along-m/n chunks) must be multiples of
// 4, so that a chunk is all in or all out.
//
// A stage is kAsyncBK = 32 deep (mma_plan.h): two kMmaBK halves, each cursor issuing one chunk
// per half and stepping after each. Per barrier a warp then runs 4 tf32 (2 bf16) k-steps of
// mma: the barrier, the wait, the commit and the loop's own control are paid once per 32 k.
// Where a problem says a stage lies inside one filter tap of every row (p.stages_pair(): the
// channel count a multiple of kAsyncBK; every DCGAN layer but the 4-channel image) and the
// tile's K range starts at a multiple of kAsyncBK, the tile runs a second copy of the loop
// whose cursors step once per stage (a_step_stage / b_step_stage) and give one address and one
// bounds test for both halves' chunks (ChunkLoader::issue_paired; TapRowLoader: one tap per thread).
//
// Shared memory holds fp32 in every mode (cp.async copies bytes: it cannot convert),
// kAsyncStages buffers of A and B in dynamic shared memory (83 KiB on the 128 x 64 tile: more
// than the 48 KiB of static shared memory, so the launch raises the kernel's limit). Layouts
// (AsyncOperandLayout), both conflict-free:
//  - along-k chunks: [row][kAsyncBK + 4], 144-byte rows. 8 consecutive rows start in 8
//    different 16-byte bank groups (144 r mod 128 = 16 r), so an ldmatrix phase (8 rows x 16
//    bytes) and a quarter-warp's 16-byte copies into 8 rows each take one wavefront. Lane l of
//    warp w copies the chunk (row 8 (w + j * warps) + l % 8, k quad (l / 8) % 4): a warp reads
//    8 rows x 64 contiguous bytes of global memory per half.
//  - along-m/n chunks ("k-major"): [kAsyncBK][rows + 8]. ldmatrix cannot transpose 32-bit
//    elements, so the fragments come by 4-byte LDS: lane (g, t) reads word t * pitch + g (+ a
//    constant), and a pitch of 8 mod 32 words (rows a multiple of 32; 16 rows: 24, which works
//    too) puts the 32 lanes in 32 different banks. Lanes copy consecutive 4-row quads of one k:
//    a warp reads 512 (128-row tile) or 2 x 256 contiguous bytes; a quarter-warp's 8 copies are
//    128 contiguous bytes of one shared row (one wavefront). Restating grad-weight so that k is
//    contiguous instead would need x and dy transposed to pixel-fast layouts first: a pass over
//    both tensors per step, for what the 4-byte fragment loads cost (on the 128 x 64 tile 6 LDS
//    per k8 step and warp instead of 4 ldmatrix).
// Padding and the tile's edges are cp.async with src-size 0: zeros, no read.
//
// Rounding (cp.async copies bytes, so the operands land as fp32). TF32: after the wait for a
// stage, each thread rounds the chunks it copied itself, in shared memory (cvt.rna per element,
// LDS.128/STS.128 per chunk), before the barrier that publishes the stage; every element is
// rounded once per block. Rounding at the fragment instead (after ldmatrix) costs a cvt per
// fragment register per warp (ptxas makes cvt.rna.tf32 an FSETP and a predicated IADD: 128
// instructions per stage and warp on the 128 x 64 tile against 32 HMMA; in shared memory 6
// chunks x ~15, 89 in the sm_90 SASS). An operand that arrives as TF32 values (the problem's operands_tf32, mma_plan.h's
// OperandsTf32: grad-input's CRSK weight copy in TF32, or an output a producer rounded when
// asked) skips its pass: one uniform branch per operand and stage; the pass is 57 instructions
// per stage and thread on the 128 x 128 tile (sm_90: 4 chunks x (LDS.128, 4 x (FSETP, IADD,
// LOP3), STS.128)). BF16 packs two fp32 fragment registers to a bf16x2 at the fragment, one
// instruction for two (the k order inside an m16n8k16 is permuted alike for A and B, which the
// sum does not see, see mma_stage_async); fp32-accurate splits at the fragment, which needs
// both parts. Same rounding as the register-staged path.
//
// Pipeline: stage s's copies are committed as one group; kAsyncStages - 1 groups are in flight
// while the warps compute. Per stage: wait until stage s has landed (this thread's copies),
// one barrier (everyone's copies visible; everyone done with the buffer about to be refilled),
// issue stage s + kAsyncStages - 1 into that buffer, then the mma of stage s.

// Whether a problem's chunks run along k (the default) or along m / n (kChunksAlongK = false).
template <class Problem>
constexpr bool chunks_along_k() {
    if constexpr (requires { Problem::kChunksAlongK; })
        return Problem::kChunksAlongK;
    else
        return true;
}

// One operand's tile of ROWS rows (m for A, n for B) x kAsyncBK k in shared memory, as words.
template <int ROWS, bool KMajor>
struct AsyncOperandLayout {
    static constexpr bool kKMajor = KMajor;
    static constexpr int kRows = ROWS;
    static constexpr int kPitch = KMajor ? ROWS + 8 : kAsyncBK + 4;
    static constexpr int kWords = KMajor ? kAsyncBK * kPitch : ROWS * kPitch;
    __device__ static int at(int row, int k) { return KMajor ? k * kPitch + row : row * kPitch + k; }
    static_assert(4 * kWords <= async_operand_bytes(ROWS), "mma_plan.h's shared-memory size covers this layout");
};

// The fp32 shape of a block: 4 elements per 16 bytes, k-steps of 8.
template <TileConfig C>
using AsyncShape = BlockShape<C, Mode::TF32x3>;

// One 16-byte chunk in shared memory rounded to TF32 in place (cvt.rna per element).
__device__ inline void round_chunk_tf32(uint32_t* chunk) {
    uint4 v = load_shared16(chunk);
    v.x = ptx::cvt_rna_tf32(__uint_as_float(v.x));
    v.y = ptx::cvt_rna_tf32(__uint_as_float(v.y));
    v.z = ptx::cvt_rna_tf32(__uint_as_float(v.z));
    v.w = ptx::cvt_rna_tf32(__uint_as_float(v.w));
    store_shared16(chunk, v);
}

// One operand's chunks for this thread: their cursors, stepped each half-stage, and which of
// them lie inside the problem's rows. Cursor c (of ROWS * kMmaBK / 4 per half) sits at
//   along k:   row c % 8 + 8 (c / 32), k 4 ((c / 8) % 4) of the half;
//   k-major:   rows 4 (c % (ROWS / 4)) .. + 3, k c / (ROWS / 4) of the half.
template <class Sh, class Layout, class Cursor>
struct ChunkLoader {
    static constexpr int ROWS = Layout::kRows;
    static constexpr int kCursors = ROWS * (kMmaBK / 4);
    static constexpr int kPerThread = (kCursors + Sh::kThreads - 1) / Sh::kThreads;
    static_assert(ROWS % 8 == 0 && kPerThread <= 32);
    Cursor cur[kPerThread];
    uint32_t row_ok = 0;  // bit i: cursor i exists and its row (quad of rows) is inside the problem

    __device__ static int cursor(int i) { return int(threadIdx.x) + i * Sh::kThreads; }
    __device__ static int row_of(int c) { return Layout::kKMajor ? 4 * (c % (ROWS / 4)) : c % 8 + 8 * (c / 32); }
    __device__ static int k_of(int c) { return Layout::kKMajor ? c / (ROWS / 4) : 4 * ((c / 8) % 4); }

    // Once per tile: each cursor at its row and k = k0 + its offset in the half.
    template <class Make>
    __device__ void start(const Make& make, int rows_left, int64_t k0) {
        row_ok = 0;
GANOPS_UNROLL
        for (int i = 0; i < kPerThread; ++i) {
            const int c = cursor(i), row = row_of(c);
            if ((kCursors % Sh::kThreads == 0 || c < kCursors) && row < rows_left) {
                row_ok |= 1u << i;
                cur[i] = make(row, k0 + k_of(c));
            }
        }
    }

    // One stage: per half, a 16-byte cp.async per cursor (zero-filled where the chunk is
    // padding, past the tile's rows or past K), then every cursor kMmaBK on. Returns which
    // chunks were copied (bit h * kPerThread + i), for a prologue that must leave the
    // zero-filled ones alone (dead code without one).
    static constexpr int kChunkBits = (kAsyncBK / kMmaBK) * kPerThread;
    static_assert(kChunkBits <= 32);
    template <class Src, class Step>
    __device__ uint32_t issue(uint32_t* s, int k_left, const float* any_valid, const Src& src, const Step& step) {
        uint32_t copied = 0;
GANOPS_UNROLL
        for (int h = 0; h < kAsyncBK / kMmaBK; ++h)
GANOPS_UNROLL
            for (int i = 0; i < kPerThread; ++i) {
                const int c = cursor(i);
                if (kCursors % Sh::kThreads != 0 && c >= kCursors) continue;
                const int k = h * kMmaBK + k_of(c);
                const bool ok = (row_ok >> i) & 1u;
                const float* from = ok && k < k_left ? src(cur[i]) : nullptr;
                ptx::cp_async_cg16(&s[Layout::at(row_of(c), k)], from ? from : any_valid, from ? 16 : 0);
                if (from) copied |= 1u << (h * kPerThread + i);
                if (ok) step(cur[i]);
            }
        return copied;
    }

    // issue() for a stage inside one filter tap of every row (the problem's stages_pair(), the
    // stage starting at a multiple of kAsyncBK): a cursor's chunk of the second half is its
    // first one's address + kMmaBK floats, in or out of the image alike, so each cursor gives
    // one address, one bounds test and one step_stage (kAsyncBK) per stage instead of two of
    // each. Copies, zero-fills and the returned bits are issue()'s.
    template <class Src, class Step>
    __device__ uint32_t issue_paired(uint32_t* s, int k_left, const float* any_valid, const Src& src,
                                     const Step& step_stage) {
        uint32_t copied = 0;
GANOPS_UNROLL
        for (int i = 0; i < kPerThread; ++i) {
            const int c = cursor(i);
            if (kCursors % Sh::kThreads != 0 && c >= kCursors) continue;
            const int k = k_of(c);
            const bool ok = (row_ok >> i) & 1u;
            const float* const from = ok && k < k_left ? src(cur[i]) : nullptr;
            uint32_t* const dst = &s[Layout::at(row_of(c), k)];
GANOPS_UNROLL
            for (int h = 0; h < kAsyncBK / kMmaBK; ++h) {
                const bool copy = from != nullptr && h * kMmaBK + k < k_left;
                ptx::cp_async_cg16(dst + h * kMmaBK, copy ? from + h * kMmaBK : any_valid, copy ? 16 : 0);
                if (copy) copied |= 1u << (h * kPerThread + i);
            }
            if (ok) step_stage(cur[i]);
        }
        static_assert(!Layout::kKMajor, "paired chunks run along k");
        return copied;
    }

    // f(chunk in shared memory, its k within the stage) for each chunk in `copied` (as issue()
    // returned it for that stage's buffer s).
    template <class F>
    __device__ static void for_each_copied(uint32_t* s, uint32_t copied, const F& f) {
GANOPS_UNROLL
        for (int h = 0; h < kAsyncBK / kMmaBK; ++h)
GANOPS_UNROLL
            for (int i = 0; i < kPerThread; ++i)
                if ((copied >> (h * kPerThread + i)) & 1u) {
                    const int c = cursor(i), k = h * kMmaBK + k_of(c);
                    f(&s[Layout::at(row_of(c), k)], k);
                }
    }

    // TF32: after the wait for a stage, round this thread's own chunks of it in place (its
    // copies are visible to it without a barrier): each element is rounded once per block
    // instead of once per warp that reads it, and the fragments go to the mma as loaded.
    __device__ void round_tf32(uint32_t* s) const {
GANOPS_UNROLL
        for (int h = 0; h < kAsyncBK / kMmaBK; ++h)
GANOPS_UNROLL
            for (int i = 0; i < kPerThread; ++i) {
                const int c = cursor(i);
                if (kCursors % Sh::kThreads != 0 && c >= kCursors) continue;
                uint32_t* const chunk = &s[Layout::at(row_of(c), h * kMmaBK + k_of(c))];
                round_chunk_tf32(chunk);
            }
    }
};

// issue_paired() for problems whose rows and filter tap are kept apart (conv_nhwc_problems.h's
// TapOffset / TapWalk / WindowRow: p.a_row, p.a_tap, p.a_inside, ...; offsets in elements from
// p.a_any() / p.b_any(), the operands' base pointers). Every chunk of this
// thread sits at the same k of its stage (cursor c + kThreads is 8 rows further at the same k
// quad), so one TapOffset serves all its rows and steps once per stage; a row adds its offset
// to the tap's and, for an image operand, tests its window origin against the tap's
// displacement. A chunk outside (the padding, a row past the problem, past K) is a copy with
// src-size 0 from the operand's base (nothing read; no 64-bit pointer compare and select). The
// chunks, their zero fills and the returned bits are issue_paired()'s.
template <class P>
constexpr bool has_tap_rows = requires(const P& p) {
    p.a_row(0);
    p.b_row(0);
    p.a_tap(0);
    p.b_tap(0);
};
// The row and tap types of a problem's operands (placeholders where it has none: unused).
template <class P>
struct TapRowTypes {
    using ARow = int;
    using BRow = int;
    using ATap = int;
    using BTap = int;
};
template <class P>
    requires has_tap_rows<P>
struct TapRowTypes<P> {
    using ARow = decltype(std::declval<const P&>().a_row(0));
    using BRow = decltype(std::declval<const P&>().b_row(0));
    using ATap = decltype(std::declval<const P&>().a_tap(0));
    using BTap = decltype(std::declval<const P&>().b_tap(0));
};
template <class Sh, class Layout, class Row, class Tap>
struct TapRowLoader : ChunkLoader<Sh, Layout, Row> {
    using Base = ChunkLoader<Sh, Layout, Row>;
    using Base::cursor, Base::row_of, Base::k_of, Base::kCursors, Base::kPerThread;
    Tap tap;
    // Rows whose bounds test also rejects the rows past the problem (Row::outside()).
    static constexpr bool kBoundsCoverRows = requires { requires Row::kBoundsCoverRows; };

    // Once per tile: the rows (make_row(row)) and the thread's tap at k0 + its k quad.
    template <class MakeRow, class MakeTap>
    __device__ void start(const MakeRow& make_row, const MakeTap& make_tap, int rows_left, int64_t k0) {
        this->row_ok = 0;
        tap = make_tap(k0 + k_of(cursor(0)));
GANOPS_UNROLL
        for (int i = 0; i < kPerThread; ++i) {
            const int c = cursor(i), row = row_of(c);
            if ((kCursors % Sh::kThreads == 0 || c < kCursors) && row < rows_left) {
                this->row_ok |= 1u << i;
                this->cur[i] = make_row(row);
            } else if constexpr (kBoundsCoverRows) {
                this->cur[i] = Row::outside();
            }
        }
    }

    // One stage: base (the operand's pointer; a paired operand holds at least kAsyncBK floats,
    // so base + kMmaBK + 4 lies inside it), inside(row, tap): the chunk is not padding.
    template <class Inside, class Step>
    __device__ uint32_t issue(uint32_t* s, int k_left, const float* base, const Inside& inside, const Step& step_stage) {
        static_assert(Sh::kThreads % 32 == 0, "every chunk of a thread at one k quad");
        static_assert(!Layout::kKMajor, "paired chunks run along k");
        uint32_t copied = 0;
        const int k = k_of(cursor(0));
        bool half_ok[kAsyncBK / kMmaBK];
GANOPS_UNROLL
        for (int h = 0; h < kAsyncBK / kMmaBK; ++h) half_ok[h] = h * kMmaBK + k < k_left;
GANOPS_UNROLL
        for (int i = 0; i < kPerThread; ++i) {
            const int c = cursor(i);
            if (kCursors % Sh::kThreads != 0 && c >= kCursors) continue;
            const bool ok = (kBoundsCoverRows || ((this->row_ok >> i) & 1u)) && inside(this->cur[i], tap);
            // Unsigned: an inside chunk's offset is not negative, and a zero-extended offset is
            // one IMAD.WIDE.U32 from base (a signed one costs a sign extension and a select).
            const float* const from = base + unsigned(ok ? this->cur[i].base + tap.offset : 0);
            // Cursor i's row: cursor 0's + i * kThreads / 4 (written so, the shared address is
            // one register and a constant offset per chunk).
            uint32_t* const dst = &s[Layout::at(row_of(cursor(0)), k)] + i * (Sh::kThreads / 4) * Layout::kPitch;
GANOPS_UNROLL
            for (int h = 0; h < kAsyncBK / kMmaBK; ++h) {
                const bool copy = ok && half_ok[h];
                ptx::cp_async_cg16(dst + h * kMmaBK, from + h * kMmaBK, copy ? 16 : 0);
                if (copy) copied |= 1u << (h * kPerThread + i);
            }
        }
        step_stage(tap);
        return copied;
    }
};

// The k-major tiles' loader for problems that offer pixel runs (conv_nhwc_problems.h's
// BackwardWeightNhwc: p.pixel_runs(run), a_run_row / a_run_pixel / a_run_step / a_run_chunks /
// a_run_inside / a_run_offset, and b_ alike). Thread t copies, per stage, row quad t % kQuads at
// the kRun consecutive k (pixels) kRun * (t / kQuads) + j of the stage: the same shared-memory
// rows and global bytes per warp instruction as ChunkLoader's k-major cursors (a warp's lanes
// cover consecutive quads of one k; the chunks are only dealt out to threads in another
// order), so the copies land where they did and the sums are unchanged. One row per thread and
// tile, one pixel state per thread stepped once per stage (the problem keeps the run's pixels
// in one output row), and per chunk a bounds test and an offset: ChunkLoader's k-major cursors
// instead step and re-address every chunk twice per stage.
template <class P>
constexpr bool has_pixel_runs = requires(const P& p) {
    p.pixel_runs(1);
    p.a_run_row(0);
    p.b_run_row(0);
};
template <class Sh, class Layout, class Row, class Pixel>
struct PixelRunLoader {
    static_assert(Layout::kKMajor, "pixel runs fill k-major tiles");
    static constexpr int kQuads = Layout::kRows / 4;
    static constexpr int kGroups = Sh::kThreads / kQuads;
    static constexpr int kRun = kAsyncBK / kGroups;  // chunks per thread and stage
    static_assert(Sh::kThreads % kQuads == 0 && kAsyncBK % kGroups == 0 && kRun <= 16);
    Row row;
    Pixel px;
    int k_limit = 0;  // chunk j is copied where j < k_left - k_limit: first_k(), or far past K for a row past the problem

    __device__ static int quad() { return int(threadIdx.x) % kQuads; }
    __device__ static int first_k() { return (int(threadIdx.x) / kQuads) * kRun; }

    // Once per tile: the thread's row quad (a default Row past the problem's rows, whose chunks
    // the k limit rejects) and its first pixel at k0 + first_k().
    template <class MakeRow, class MakePixel>
    __device__ void start(const MakeRow& make_row, const MakePixel& make_pixel, int rows_left, int64_t k0) {
        const bool inside = 4 * quad() < rows_left;
        row = inside ? make_row(4 * quad()) : Row{};
        k_limit = first_k() + (inside ? 0 : 2 * kAsyncBK);
        px = make_pixel(k0 + first_k());
    }

    // One stage: chunks(row, px) once, then per chunk j inside(chunks, j) (the padding test,
    // where the operand has padding) and offset(chunks, j) (elements from base); outside chunks
    // (padding, rows past the problem, past K) are copies with src-size 0 from base. Returns no
    // chunk bits (no prologue runs on k-major tiles).
    template <class Chunks, class Inside, class Offset, class Step>
    __device__ void issue(uint32_t* s, int k_left, const float* base, const Chunks& chunks, const Inside& inside,
                          const Offset& offset, const Step& step) {
        const int left = k_left - k_limit;
        const auto c = chunks(row, px);
        uint32_t* const dst = &s[Layout::at(4 * quad(), first_k())];
GANOPS_UNROLL
        for (int j = 0; j < kRun; ++j) {
            // Both tests evaluated (no short circuit): one predicate per chunk, which ptxas then
            // puts on the copy itself instead of computing a zero-fill size.
            const bool ok = (j < left) & inside(c, j);
            const float* const from = base + unsigned(ok ? offset(c, j) : 0);
            ptx::cp_async_cg16(dst + j * Layout::kPitch, from, ok ? 16 : 0);
        }
        step(px);
    }

    // TF32: this thread's own chunks of a landed stage, rounded in place (ChunkLoader::round_tf32).
    __device__ void round_tf32(uint32_t* s) const {
        uint32_t* const first = &s[Layout::at(4 * quad(), first_k())];
GANOPS_UNROLL
        for (int j = 0; j < kRun; ++j) {
            uint32_t* const chunk = first + j * Layout::kPitch;
            round_chunk_tf32(chunk);
        }
    }
};
// The run types of a problem's operands. A problem without pixel runs still declares the
// loaders in mma_tile_async (never started or issued there: kRuns is false), so it gets int.
template <class P>
struct PixelRunTypes {
    using ARow = int;
    using APixel = int;
    using BRow = int;
    using BPixel = int;
};
template <class P>
    requires has_pixel_runs<P>
struct PixelRunTypes<P> {
    using ARow = typename P::ARunRow;
    using APixel = typename P::ARunPixel;
    using BRow = typename P::BRunRow;
    using BPixel = typename P::BRunPixel;
};

// The mma of one stage from fp32 shared memory, operands rounded at the fragment. Fragments
// in the tf32 layout (ptx.cuh: a0 (g, t) a1 (g+8, t) a2 (g, t+4) a3 (g+8, t+4); b0 (k=t, n=g)
// b1 (k=t+4, n=g)): by ldmatrix.x4 from k-contiguous rows (a whole A fragment, or the B
// fragments of two n8 tiles), by 4-byte LDS from k-major tiles. BF16 takes two such k8
// steps (k 0-7 and 8-15 of a 16-wide mma) and packs lane (g, t)'s pairs: A's (k = t, t + 4)
// into the bf16 slot (2t, 2t + 1) and (8 + t, 12 + t) into (2t + 8, 2t + 9), and B's alike.
// That is one permutation of the 16 k for both operands, so the dot product is unchanged.
template <class Sh, Mode Md, class LA, class LB>
__device__ void mma_stage_async(const uint32_t* as, const uint32_t* bs, int wm0, int wn0, float (&acc)[Sh::MI][Sh::NI][4]) {
    const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    const int a_row = lane % 8 + ((lane / 8) % 2) * 8, a_k = (lane / 16) * 4;
    const int b_row = lane % 8 + (lane / 16) * 8, b_k = ((lane / 8) % 2) * 4;
    const auto load_a = [&](int ks, uint32_t (&f)[Sh::MI][4]) {
GANOPS_UNROLL
        for (int mi = 0; mi < Sh::MI; ++mi) {
            if constexpr (LA::kKMajor) {
                const uint32_t* p = &as[LA::at(wm0 + mi * 16 + g, ks + t)];
                f[mi][0] = p[0];
                f[mi][1] = p[8];
                f[mi][2] = p[4 * LA::kPitch];
                f[mi][3] = p[4 * LA::kPitch + 8];
            } else {
                ptx::ldmatrix_x4(f[mi], &as[LA::at(wm0 + mi * 16 + a_row, ks + a_k)]);
            }
        }
    };
    const auto load_b = [&](int ks, uint32_t (&f)[Sh::NI][2]) {
        if constexpr (LB::kKMajor) {
GANOPS_UNROLL
            for (int ni = 0; ni < Sh::NI; ++ni) {
                const uint32_t* p = &bs[LB::at(wn0 + ni * 8 + g, ks + t)];
                f[ni][0] = p[0];
                f[ni][1] = p[4 * LB::kPitch];
            }
        } else {
GANOPS_UNROLL
            for (int nj = 0; nj < Sh::NI / 2; ++nj) {
                uint32_t r[4];
                ptx::ldmatrix_x4(r, &bs[LB::at(wn0 + nj * 16 + b_row, ks + b_k)]);
                f[2 * nj][0] = r[0];
                f[2 * nj][1] = r[1];
                f[2 * nj + 1][0] = r[2];
                f[2 * nj + 1][1] = r[3];
            }
        }
    };
    if constexpr (Md == Mode::BF16) {
        const auto f = [](uint32_t bits) { return __uint_as_float(bits); };
GANOPS_UNROLL
        for (int ks = 0; ks < kAsyncBK; ks += 16) {
            // Each k8 half packed as soon as it is loaded: fewer fp32 registers live at once.
            uint32_t a16[Sh::MI][4], b16[Sh::NI][2];
GANOPS_UNROLL
            for (int h = 0; h < 2; ++h) {
                uint32_t af[Sh::MI][4], bf[Sh::NI][2];
                load_a(ks + 8 * h, af);
                load_b(ks + 8 * h, bf);
GANOPS_UNROLL
                for (int mi = 0; mi < Sh::MI; ++mi) {
                    a16[mi][2 * h] = ptx::pack_bf16x2(f(af[mi][0]), f(af[mi][2]));
                    a16[mi][2 * h + 1] = ptx::pack_bf16x2(f(af[mi][1]), f(af[mi][3]));
                }
GANOPS_UNROLL
                for (int ni = 0; ni < Sh::NI; ++ni) b16[ni][h] = ptx::pack_bf16x2(f(bf[ni][0]), f(bf[ni][1]));
            }
GANOPS_UNROLL
            for (int mi = 0; mi < Sh::MI; ++mi)
GANOPS_UNROLL
                for (int ni = 0; ni < Sh::NI; ++ni) ptx::mma_m16n8k16_bf16(acc[mi][ni], a16[mi], b16[ni], acc[mi][ni]);
        }
    } else {
GANOPS_UNROLL
        for (int ks = 0; ks < kAsyncBK; ks += 8) {
            uint32_t af[Sh::MI][4], bf[Sh::NI][2];
            load_a(ks, af);
            load_b(ks, bf);
            if constexpr (Md == Mode::TF32) {
                // Rounded in shared memory already (ChunkLoader::round_tf32).
GANOPS_UNROLL
                for (int mi = 0; mi < Sh::MI; ++mi)
GANOPS_UNROLL
                    for (int ni = 0; ni < Sh::NI; ++ni) ptx::mma_m16n8k8_tf32(acc[mi][ni], af[mi], bf[ni], acc[mi][ni]);
            } else {
                // fp32-accurate: split both operands, then lo*hi + hi*lo + hi*hi, small terms first.
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
}

// One BM x BN tile of C at (m0, n0) over [k_begin, k_end), operands through the cp.async
// pipeline. smem: the block's dynamic shared memory, kAsyncStages A buffers then the B ones.
template <class Sh, Mode Md, class Problem>
__device__ void mma_tile_async(const Problem& p, const float* a_any, const float* b_any, int64_t m0, int64_t n0,
                               int64_t k_begin, int64_t k_end, float* partial, uint32_t* smem) {
    constexpr bool kMajor = !chunks_along_k<Problem>();
    using LA = AsyncOperandLayout<Sh::BM, kMajor>;
    using LB = AsyncOperandLayout<Sh::BN, kMajor>;
    uint32_t* const a_buf = smem;
    uint32_t* const b_buf = smem + kAsyncStages * LA::kWords;
    const int warp = threadIdx.x / 32;
    const int wm0 = (warp % Sh::WARPS_M) * Sh::WM, wn0 = (warp / Sh::WARPS_M) * Sh::WN;
    const int m_left = int(min(int64_t(Sh::BM), p.M - m0)), n_left = int(min(int64_t(Sh::BN), p.N - n0));

    ChunkLoader<Sh, LA, typename Problem::ACursor> a_load;
    ChunkLoader<Sh, LB, typename Problem::BCursor> b_load;
    // The paired loop's loaders where the problem keeps rows and tap apart (has_tap_rows).
    using Rows = TapRowTypes<Problem>;
    TapRowLoader<Sh, LA, typename Rows::ARow, typename Rows::ATap> a_rows;
    TapRowLoader<Sh, LB, typename Rows::BRow, typename Rows::BTap> b_rows;
    // The k-major tiles' pixel-run loaders where the problem offers them (has_pixel_runs).
    using Runs = PixelRunTypes<Problem>;
    using ARuns = PixelRunLoader<Sh, AsyncOperandLayout<Sh::BM, true>, typename Runs::ARow, typename Runs::APixel>;
    using BRuns = PixelRunLoader<Sh, AsyncOperandLayout<Sh::BN, true>, typename Runs::BRow, typename Runs::BPixel>;
    ARuns a_runs;
    BRuns b_runs;
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

    const int k_span = int(k_end - k_begin);  // < 2^31, as every offset of the problems' cursors
    const int stages = (k_span + kAsyncBK - 1) / kAsyncBK;
    [[maybe_unused]] const OperandsTf32 pre_rounded = operands_tf32(p);
    // The buffers may still be read by a warp finishing this block's previous tile.
    __syncthreads();
    // Which A chunks each buffer's copies filled, kChunkBits per buffer in one register (an
    // array indexed by the stage would live in local memory). Dead code without a prologue.
    constexpr int kCopiedBits = decltype(a_load)::kChunkBits;
    static_assert(kCopiedBits * kAsyncStages <= 64);
    constexpr uint64_t kCopiedMask = (uint64_t{1} << kCopiedBits) - 1;
    [[maybe_unused]] uint64_t a_copied = 0;
    // The pipeline, with the chunks issued per half-stage (issue) or, where every stage of this
    // tile lies inside one filter tap, per stage (issue_paired): two copies of the loop, chosen
    // once per tile, so that neither carries the other's cursor work.
    // (prob is p, taken as a parameter so that the paired branch is only compiled where used.)
    const auto pipeline = [&](auto paired, const auto& prob) {
        constexpr bool kTapRows = decltype(paired)::value && has_tap_rows<Problem>;
        constexpr bool kRuns = decltype(paired)::value && has_pixel_runs<Problem>;
        if (stages > 0) {
            if constexpr (kRuns) {
                a_runs.start([&](int row) { return prob.a_run_row(m0 + row); }, [&](int64_t k) { return prob.a_run_pixel(k); },
                             m_left, k_begin);
                b_runs.start([&](int row) { return prob.b_run_row(n0 + row); }, [&](int64_t k) { return prob.b_run_pixel(k); },
                             n_left, k_begin);
            } else if constexpr (kTapRows) {
                a_rows.start([&](int row) { return prob.a_row(m0 + row); }, [&](int64_t k) { return prob.a_tap(k); }, m_left,
                             k_begin);
                b_rows.start([&](int row) { return prob.b_row(n0 + row); }, [&](int64_t k) { return prob.b_tap(k); }, n_left,
                             k_begin);
            } else {
                a_load.start([&](int row, int64_t k) { return prob.a_cursor(m0 + row, k); }, m_left, k_begin);
                b_load.start([&](int row, int64_t k) { return prob.b_cursor(n0 + row, k); }, n_left, k_begin);
            }
        }
        // Stages are issued in order 0, 1, 2, ...: each issue steps the cursors by one stage.
        const auto issue = [&](int s) {
            const int buf = s % kAsyncStages;
            const int k_left = min(kAsyncBK, k_span - s * kAsyncBK);  // 32-bit: fewer instructions per stage
            uint32_t* const a_dst = a_buf + buf * LA::kWords;
            uint32_t* const b_dst = b_buf + buf * LB::kWords;
            [[maybe_unused]] uint64_t copied = 0;
            if constexpr (kRuns) {
                a_runs.issue(
                    a_dst, k_left, a_any, [&](const auto& row, const auto& px) { return prob.a_run_chunks(row, px); },
                    [&](const auto& c, int j) { return prob.a_run_inside(c, j); },
                    [&](const auto& c, int j) { return prob.a_run_offset(c, j); }, [&](auto& px) { prob.a_run_step(px); });
                b_runs.issue(
                    b_dst, k_left, b_any, [&](const auto& row, const auto& px) { return prob.b_run_chunks(row, px); },
                    [&](const auto& c, int j) { return prob.b_run_inside(c, j); },
                    [&](const auto& c, int j) { return prob.b_run_offset(c, j); }, [&](auto& px) { prob.b_run_step(px); });
            } else if constexpr (kTapRows) {
                copied = a_rows.issue(
                    a_dst, k_left, a_any, [&](const auto& row, const auto& tap) { return prob.a_inside(row, tap); },
                    [&](auto& tap) { prob.a_tap_step(tap); });
                b_rows.issue(
                    b_dst, k_left, b_any, [&](const auto& row, const auto& tap) { return prob.b_inside(row, tap); },
                    [&](auto& tap) { prob.b_tap_step(tap); });
            } else if constexpr (decltype(paired)::value) {
                copied = a_load.issue_paired(a_dst, k_left, a_any, a_src, [&](auto& c) { prob.a_step_stage(c); });
                b_load.issue_paired(b_dst, k_left, b_any, b_src, [&](auto& c) { prob.b_step_stage(c); });
            } else {
                copied = a_load.issue(a_dst, k_left, a_any, a_src, a_step);
                b_load.issue(b_dst, k_left, b_any, b_src, b_step);
            }
            if constexpr (has_chunk_prologue<Problem>)
                a_copied = (a_copied & ~(kCopiedMask << (buf * kCopiedBits))) | (copied << (buf * kCopiedBits));
        };
GANOPS_UNROLL
        for (int s = 0; s < kAsyncStages - 1; ++s) {
            if (s < stages) issue(s);
            ptx::cp_async_commit_group();  // empty groups too: the wait below counts groups
        }
        for (int s = 0; s < stages; ++s) {
            ptx::cp_async_wait_group<kAsyncStages - 2>();  // stage s has landed (this thread's part)
            const int buf = s % kAsyncStages;
            if constexpr (has_chunk_prologue<Problem>) {
                // Normalise-on-load: this thread's own copied A chunks, before the barrier publishes
                // them (and before TF32 rounds them).
                static_assert(!LA::kKMajor, "the prologue transforms 4 channels along k per chunk");
                const int64_t k_stage = k_begin + int64_t(s) * kAsyncBK;
                const uint32_t copied = uint32_t((a_copied >> (buf * kCopiedBits)) & kCopiedMask);
                decltype(a_load)::for_each_copied(a_buf + buf * LA::kWords, copied,
                                                  [&](uint32_t* chunk, int k) { p.norm_act_chunk(chunk, k_stage + k); });
            }
            if constexpr (Md == Mode::TF32) {
                // Uniform branches (the flags are the problem's): no pass for an operand that
                // arrives rounded.
                if constexpr (kRuns) {
                    if (!pre_rounded.a) a_runs.round_tf32(a_buf + buf * LA::kWords);
                    if (!pre_rounded.b) b_runs.round_tf32(b_buf + buf * LB::kWords);
                } else {
                    if (!pre_rounded.a) a_load.round_tf32(a_buf + buf * LA::kWords);
                    if (!pre_rounded.b) b_load.round_tf32(b_buf + buf * LB::kWords);
                }
            }
            __syncthreads();  // ... everyone's; and buffer (s - 1) % kAsyncStages is read by nobody now
            if (s + kAsyncStages - 1 < stages) issue(s + kAsyncStages - 1);
            ptx::cp_async_commit_group();
            mma_stage_async<Sh, Md, LA, LB>(a_buf + buf * LA::kWords, b_buf + buf * LB::kWords, wm0, wn0, acc);
        }
    };
    if constexpr (has_paired_stages<Problem> && !kMajor) {
        if (p.stages_pair() && k_begin % kAsyncBK == 0)
            pipeline(std::true_type{}, p);
        else
            pipeline(std::false_type{}, p);
    } else if constexpr (has_pixel_runs<Problem> && kMajor) {
        // The pixel runs where each of A's runs lies in one output row (B's rows are pixel-major:
        // any run is one stride).
        if (p.pixel_runs(ARuns::kRun) && k_begin % kAsyncBK == 0)
            pipeline(std::true_type{}, p);
        else
            pipeline(std::false_type{}, p);
    } else {
        pipeline(std::false_type{}, p);
    }
    store_accumulators<Sh>(p, acc, m0, n0, wm0, wn0, m_left, n_left, partial);
}

// TF32: two blocks per SM (sm_90: 128 registers a thread at 256 threads, 2 x 108 KiB of shared
// memory on Large). BF16's packed and fp32-accurate's split fragments do not fit 128
// registers on the 256-thread tiles without spilling (ptxas, nvcc 13): one block of 8 warps.
// A problem whose TF32 loop spills at 128 registers says `static constexpr int kAsyncMinBlocks = 1`.
// A batch (Capacity > 1: the grad-input's phases) on the 128 x 128 tile gets one block too: with
// the batch's per-block split and partial-tile bookkeeping live across the loop, its paired TF32
// loop spilled 5 local-memory accesses per stage at 128 registers (sm_90, nvcc 13), where the
// same problem alone fits exactly.
template <Mode Md, class Problem, TileConfig C = TileConfig::Wide, int Capacity = 1>
constexpr int async_min_blocks() {
    if constexpr (requires { Problem::kAsyncMinBlocks; })
        return Md == Mode::TF32 ? Problem::kAsyncMinBlocks : 1;
    else
        return Md == Mode::TF32 && !(C == TileConfig::Large && Capacity > 1) ? 2 : 1;
}

// ---- Entry points: a batch of problems per launch ---------------------------------------
// Every launch runs a ProblemBatch: one problem, or up to kMmaMaxBatch of one type (the
// grad-input's stride phases, conv_nhwc_problems.h), planned together (mma_plan.h,
// mma_batch_plan). blockIdx.z runs over the first problem's splits, then the second's, ...;
// a block finds its problem and split from z_begin, so no tile crosses problems (their B
// differ). The grid is the largest problem's; a block whose tile lies beyond its own
// problem's M or N skips the tile loops, uniformly across the block, so the barriers inside
// hold. Under split-K, problem i's split z writes its [n][m] partial tile at
// partial + partial_offset[i] + z * M * N.
template <class Problem, int Capacity = kMmaMaxBatch>
struct ProblemBatch {
    static_assert(std::is_trivially_copyable_v<Problem>, "make_batch copies the problems' bytes");
    // The problems have no default constructor: slots of raw storage, copied in by make_batch.
    union Slot {
        Problem p;
        Slot() {}
    };
    Slot slot[Capacity];
    int64_t k_chunk[Capacity];
    int64_t partial_offset[Capacity];
    int z_begin[Capacity + 1];
    int count;

    GANOPS_HD const Problem& problem(int i) const { return slot[i].p; }
    // The problem of split blockIdx.z (uniform across the block).
    GANOPS_HD int problem_of(int z) const {
        if constexpr (Capacity == 1) return 0;
        int i = 0;
        while (i + 1 < count && z >= z_begin[i + 1]) ++i;
        return i;
    }
};
// Kernel parameters are limited to 4 KiB.
template <class Problem, int Capacity>
constexpr bool kBatchFitsParameters = sizeof(ProblemBatch<Problem, Capacity>) + sizeof(float*) <= 4096;

template <int Capacity, class Problem>
ProblemBatch<Problem, Capacity> make_batch(const Problem* const* problems, int count, const BatchPlan& plan) {
    static_assert(kBatchFitsParameters<Problem, Capacity>, "a ProblemBatch is a kernel parameter: at most 4 KiB");
    ProblemBatch<Problem, Capacity> b;
    for (int i = 0; i < count; ++i) std::memcpy(static_cast<void*>(&b.slot[i]), static_cast<const void*>(problems[i]), sizeof(Problem));
    b.count = count;
    b.z_begin[0] = 0;
    int64_t offset = 0;
    for (int i = 0; i < count; ++i) {
        b.k_chunk[i] = plan.plans[i].k_chunk;
        b.partial_offset[i] = offset;
        b.z_begin[i + 1] = b.z_begin[i] + int(plan.plans[i].splits);
        offset += plan.plans[i].splits * problems[i]->M * problems[i]->N;
    }
    return b;
}

// The slice of the partial sums that split z of problem i writes, or null without split-K.
template <class Problem, int Capacity>
GANOPS_HD float* split_partial(const ProblemBatch<Problem, Capacity>& b, int i, int split, float* partial) {
    if (!partial) return nullptr;
    const Problem& p = b.problem(i);
    return partial + b.partial_offset[i] + int64_t(split) * p.M * p.N;
}

// Runs f(problem, i) for the block's problem i = problem_of(blockIdx.z), with i a compile-time
// constant (std::integral_constant): each problem's code then reads its fields at fixed offsets
// of the parameter space, as a launch of one problem does. Indexed by a run-time i, every field
// access in the main loop was a computed parameter load (sm_90: 58 more instructions per stage
// on the 128 x 128 tile; sm_80: spills). The price is one copy of the loop per slot.
template <int I = 0, class Problem, int Capacity, class F>
__device__ void with_block_problem(const ProblemBatch<Problem, Capacity>& batch, const F& f, int i = -1) {
    if constexpr (I + 1 < Capacity) {
        if (i < 0) i = batch.problem_of(int(blockIdx.z));
        if (i != I) {
            with_block_problem<I + 1>(batch, f, i);
            return;
        }
    }
    f(batch.problem(I), std::integral_constant<int, I>{});
}

// As mma_gemm_kernel, through the cp.async pipeline, with async_shared_bytes(C) of dynamic
// shared memory. a_any / b_any (the problem's): a valid 16-byte-aligned address of each
// operand, the source of the zero-filling copies (which read nothing).
template <TileConfig C, Mode Md, class Problem, int Capacity>
__global__ void __launch_bounds__(AsyncShape<C>::kThreads, async_min_blocks<Md, Problem, C, Capacity>())
    mma_gemm_async_kernel(ProblemBatch<Problem, Capacity> batch, float* partial) {
    using Sh = AsyncShape<C>;
    GANOPS_DYNAMIC_SHARED(uint32_t, smem);
    with_block_problem(batch, [&](const Problem& p, auto i) {
        const int split = int(blockIdx.z) - batch.z_begin[i];
        const int64_t k_begin = int64_t(split) * batch.k_chunk[i];
        const int64_t k_end = min(p.K, k_begin + batch.k_chunk[i]);
        float* const out = split_partial(batch, i, split, partial);
        for (int64_t n0 = int64_t(blockIdx.y) * Sh::BN; n0 < p.N; n0 += int64_t(gridDim.y) * Sh::BN)
            for (int64_t m0 = int64_t(blockIdx.x) * Sh::BM; m0 < p.M; m0 += int64_t(gridDim.x) * Sh::BM)
                mma_tile_async<Sh, Md>(p, p.a_any(), p.b_any(), m0, n0, k_begin, k_end, out, smem);
    });
}

// A block computes tile (blockIdx.x, blockIdx.y) of its problem's split (blockIdx.z, see
// above), and the tiles a whole grid further on where the problem has more than a grid
// dimension allows (mma_plan.h). The loops are uniform across the block, so the barriers inside hold.
template <TileConfig C, Mode Md, class Problem, int Capacity>
__global__ void __launch_bounds__(BlockShape<C, Md>::kThreads)
    mma_gemm_kernel(ProblemBatch<Problem, Capacity> batch, float* partial) {
    using Sh = BlockShape<C, Md>;
    __shared__ SharedTiles<Sh> sm;
    (void)sm;  // the emulated build's __shared__ is a static the lambda reads without capturing
    with_block_problem(batch, [&](const Problem& p, auto i) {
        const int split = int(blockIdx.z) - batch.z_begin[i];
        const int64_t k_begin = int64_t(split) * batch.k_chunk[i];
        const int64_t k_end = min(p.K, k_begin + batch.k_chunk[i]);
        float* const out = split_partial(batch, i, split, partial);
        for (int64_t n0 = int64_t(blockIdx.y) * Sh::BN; n0 < p.N; n0 += int64_t(gridDim.y) * Sh::BN)
            for (int64_t m0 = int64_t(blockIdx.x) * Sh::BM; m0 < p.M; m0 += int64_t(gridDim.x) * Sh::BM)
                mma_tile<Sh, Md>(p, m0, n0, k_begin, k_end, out, sm);
    });
}

// The split-K reduction: problem blockIdx.z's splits added in z order (s = z0 + z1, then + z2,
// ...: deterministic, and the order gemm::reduce_splits_kernel adds in), one output (m, n) per
// thread, m along x (the partial tiles are [n][m]: coalesced reads), n along y. No division:
// 32-bit m and n, the one 64-bit step a pointer increment per split.
template <class Problem, int Capacity>
__global__ void reduce_batch_splits_kernel(ProblemBatch<Problem, Capacity> batch, const float* partial) {
    const int i = int(blockIdx.z);
    const Problem& p = batch.problem(i);
    const int splits = batch.z_begin[i + 1] - batch.z_begin[i];
    const int rows = int(p.M), cols = int(p.N);
    const int64_t split_stride = p.M * p.N;
    const float* const base = partial + batch.partial_offset[i];
    for (int n = int(blockIdx.y); n < cols; n += int(gridDim.y))
        for (int m = int(blockIdx.x * blockDim.x + threadIdx.x); m < rows; m += int(gridDim.x * blockDim.x)) {
            const float* src = base + int64_t(n) * rows + m;
            float s = *src;
            for (int z = 1; z < splits; ++z) {
                src += split_stride;
                s = __fadd_rn(s, *src);
            }
            p.store(m, n, s);
        }
}

template <TileConfig C, Mode Md, class Problem, int Capacity>
void launch(const ProblemBatch<Problem, Capacity>& batch, const BatchPlan& plan, float* partial) {
    const dim3 grid{unsigned(plan.grid_m), unsigned(plan.grid_n), unsigned(plan.grid_z)};
    // Aliases: GANOPS_LAUNCH takes no commas in the kernel's name (launch.cuh), and
    // tools/sass_report reads the block size's name (kMmaThreads: 256 Wide, 128 otherwise).
    [[maybe_unused]] constexpr auto mma_gemm = &mma_gemm_kernel<C, Md, Problem, Capacity>;
    constexpr int kMmaThreads = BlockShape<C, Md>::kThreads;
    GANOPS_LAUNCH(mma_gemm, grid, kMmaThreads, 0, current_stream())(batch, partial);
}

template <TileConfig C, Mode Md, class Problem, int Capacity>
void launch_async(const ProblemBatch<Problem, Capacity>& batch, const BatchPlan& plan, float* partial) {
    const dim3 grid{unsigned(plan.grid_m), unsigned(plan.grid_n), unsigned(plan.grid_z)};
    [[maybe_unused]] constexpr auto mma_gemm_async = &mma_gemm_async_kernel<C, Md, Problem, Capacity>;
    constexpr int kMmaThreads = AsyncShape<C>::kThreads;
    constexpr int kSharedBytes = async_shared_bytes(C);
    // Above 48 KiB of dynamic shared memory a kernel must ask first; asked at every launch, as
    // the attribute is per device and cheap next to the launch.
    GANOPS_SET_MAX_DYNAMIC_SHARED(mma_gemm_async, kSharedBytes);
    GANOPS_LAUNCH(mma_gemm_async, grid, kMmaThreads, kSharedBytes, current_stream())(batch, partial);
}

// Async: the cp.async pipeline (the problem has chunk cursors), else the register-staged loop.
template <Mode Md, bool Async, class Problem, int Capacity>
void launch_tile(const ProblemBatch<Problem, Capacity>& batch, const BatchPlan& plan, float* partial) {
    switch (plan.tile) {
        case TileConfig::Wide:
            if constexpr (Async) launch_async<TileConfig::Wide, Md>(batch, plan, partial);
            else launch<TileConfig::Wide, Md>(batch, plan, partial);
            break;
        case TileConfig::Square:
            if constexpr (Async) launch_async<TileConfig::Square, Md>(batch, plan, partial);
            else launch<TileConfig::Square, Md>(batch, plan, partial);
            break;
        case TileConfig::Narrow:
            if constexpr (Async) launch_async<TileConfig::Narrow, Md>(batch, plan, partial);
            else launch<TileConfig::Narrow, Md>(batch, plan, partial);
            break;
        case TileConfig::Large:
            // The register-staged loop has no 128 x 128 tile (mma_plan never picks it there).
            if constexpr (Async) launch_async<TileConfig::Large, Md>(batch, plan, partial);
            else fail("tensor-core GEMM: the 128 x 128 tile runs on the cp.async pipeline only");
            break;
    }
}

// Runs a planned batch (its problems non-empty) on the tensor cores in mode Md: one GEMM
// launch and, where any problem splits K, one reduction launch adding its partial tiles in
// a fixed order (reduce_batch_splits_kernel): deterministic.
// Capacity: kMmaMaxBatch, or 1 for a problem that always runs alone (its kernels as they were
// before batches: no problem to look up).
template <Mode Md, bool Async, int Capacity, class Problem>
void run_batch_with_plan(const Problem* const* problems, const BatchPlan& plan) {
    const ProblemBatch<Problem, Capacity> batch = make_batch<Capacity>(problems, plan.count, plan);
    if (batch.z_begin[plan.count] <= plan.count) {
        launch_tile<Md, Async>(batch, plan, nullptr);
        return;
    }
    int64_t partial_size = 0, m_max = 0, n_max = 0;
    for (int i = 0; i < plan.count; ++i) {
        partial_size += plan.plans[i].splits * problems[i]->M * problems[i]->N;
        m_max = std::max(m_max, problems[i]->M);
        n_max = std::max(n_max, problems[i]->N);
    }
    Tensor partial = Tensor::empty(ganops::Shape{partial_size}, DType::F32, Device::CUDA);
    launch_tile<Md, Async>(batch, plan, partial.data<float>());
    const dim3 grid{unsigned(std::min<int64_t>(ceil_div(m_max, kThreads), 1024)), unsigned(std::min<int64_t>(n_max, 65535)),
                    unsigned(plan.count)};
    [[maybe_unused]] constexpr auto reduce_batch_splits = &reduce_batch_splits_kernel<Problem, Capacity>;
    GANOPS_LAUNCH(reduce_batch_splits, grid, kThreads, 0, current_stream())(batch, partial.data<float>());
}

// Runs the problem on the tensor cores in mode Md with the given plan (a batch of one, alone).
template <Mode Md, bool Async = false, class Problem>
void run_with_plan(const Problem& p, const MmaPlan& plan) {
    if (p.M == 0 || p.N == 0) return;
    BatchPlan batch{};
    batch.tile = plan.tile;
    batch.count = 1;
    batch.plans[0] = plan;
    batch.grid_m = plan.grid_m;
    batch.grid_n = plan.grid_n;
    batch.grid_z = plan.splits;
    const Problem* one = &p;
    run_batch_with_plan<Md, Async, 1>(&one, batch);
}

// Runs `count` problems of one type, kMmaMaxBatch per launch, each batch planned together
// (mma_batch_plan). Empty problems launch nothing.
template <Mode Md, bool Async = false, class Problem>
void run_batch(const Problem* problems, int count) {
    int next = 0;
    while (next < count) {
        const Problem* group[kMmaMaxBatch];
        GemmSize sizes[kMmaMaxBatch];
        int n = 0;
        for (; next < count && n < kMmaMaxBatch; ++next)
            if (problems[next].M > 0 && problems[next].N > 0) {
                group[n] = &problems[next];
                sizes[n++] = {problems[next].M, problems[next].N, problems[next].K};
            }
        if (n > 0) run_batch_with_plan<Md, Async, kMmaMaxBatch>(group, mma_batch_plan(sizes, n, Async));
    }
}

template <Mode Md, class Problem>
void run(const Problem& p) {
    run_with_plan<Md>(p, mma_plan(p.M, p.N, p.K));
}

// The cp.async pipeline; the problem must have chunk cursors, and K % 4 == 0 for chunks along
// k, M % 4 == 0 and N % 4 == 0 for chunks along m and n (see above).
template <Mode Md, class Problem>
void run_async(const Problem& p) {
    run_with_plan<Md, true>(p, mma_async_plan(p.M, p.N, p.K));
}

}  // namespace ganops::cuda::mma
