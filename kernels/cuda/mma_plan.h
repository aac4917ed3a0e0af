// How the tensor-core implicit GEMM (implicit_gemm_mma.cuh) covers a problem: which block
// tile it runs with, the tile grid, and how far a long K is split across blocks. Host code,
// so tests/test_mma_plan.cpp checks it without a GPU.
//
// Four block tiles, each warp computing a 64 x 32, 32 x 32 or 32 x 16 piece of C with m16n8 mma:
//   Wide    128 x 64, 8 warps (4 x 2): the most reuse per loaded element; for problems with
//           enough tiles to fill the GPU twice over (the batch-128 DCGAN forward passes).
//   Square   64 x 64, 4 warps (2 x 2): smaller problems, four times the tiles of Wide.
//   Narrow  128 x 16, 4 warps (4 x 1): N <= 16 (the 3-channel image, D5's single output
//           channel), where a 64-wide tile would compute mostly padding.
//   Large   128 x 128, 8 warps (2 x 4) of 64 x 32: the cp.async pipeline only
//           (choose_async_tile), for N > 64 with enough tiles or a K long enough to split.
// Whatever the tile, K is staged kMmaBK elements at a time, and when the tiles alone leave
// most of the GPU idle, K is split across blockIdx.z (split-K, reduced in a fixed order).
#pragma once
#include <algorithm>
#include <cstdint>

namespace ganops::cuda::mma {

enum class TileConfig { Wide, Square, Narrow, Large };

// Which operands of a problem already hold TF32 values (low 13 bits zero, rounded with
// cvt.rna by whoever produced them): the TF32 cp.async loop then skips that operand's rounding
// pass in shared memory (implicit_gemm_mma.cuh). Rounding a TF32 value is the identity, so the
// result is the same bits either way; a flag set on an operand that is NOT rounded only turns
// the loop's round-to-nearest into the tensor core's truncation of the low bits (never
// garbage). Read by the TF32 mode only: BF16 and fp32-accurate ignore it.
struct OperandsTf32 {
    bool a = false, b = false;
};

struct TileShape {
    int bm, bn, warps_m, warps_n;
    constexpr int threads() const { return 32 * warps_m * warps_n; }
};

constexpr TileShape tile_shape(TileConfig c) {
    return c == TileConfig::Wide     ? TileShape{128, 64, 4, 2}
           : c == TileConfig::Square ? TileShape{64, 64, 2, 2}
           : c == TileConfig::Narrow ? TileShape{128, 16, 4, 1}
                                     : TileShape{128, 128, 2, 4};
}

constexpr int kMmaBK = 16;                    // K per pipeline stage (2 tf32 or 1 bf16 mma k-steps)
constexpr int kAsyncBK = 2 * kMmaBK;          // K per stage of the cp.async pipeline: two cursor steps
constexpr int kAsyncStages = 3;               // shared buffers of the cp.async pipeline

// The cp.async pipeline's shared memory (implicit_gemm_mma.cuh, AsyncOperandLayout): one
// operand tile of `rows` rows x kAsyncBK fp32, the larger of its two layouts (rows of k padded
// by 4 words, or k-major rows of `rows` padded by 8), and the whole block's kAsyncStages
// buffers of A and B. Dynamic shared memory: 81 KiB on Wide, 54 on Square, 63 on Narrow.
constexpr int async_operand_bytes(int rows) {
    return 4 * std::max(rows * (kAsyncBK + 4), kAsyncBK * (rows + 8));
}
constexpr int64_t kMmaSms = 132;                     // H100 SXM's SMs, what the plans are tuned for
constexpr int64_t kMmaWantedBlocks = 2 * kMmaSms;  // two waves' worth of H100 SMs

// The fraction of the SMs' time a grid of `blocks` equal blocks keeps busy: each SM runs its
// share of the blocks at its own rate, so a last partial round leaves the other SMs idle (the
// roofline's wave_efficiency, benchmarks/roofline.cpp, is this on each GPU's SM count). 288
// blocks on 132 SMs: 3 rounds, 73%; 256: 97%.
constexpr double mma_wave_efficiency(int64_t blocks, int64_t sms = kMmaSms) {
    if (blocks <= 0 || sms <= 0) return 1.0;
    const int64_t rounds = (blocks + sms - 1) / sms;
    return double(blocks) / double(sms * rounds);
}
// Split-K's count for `tiles` tiles short of the two waves: the split count just below or just
// above kMmaWantedBlocks / tiles, whichever leaves the SMs less idle (ties: the fewer splits,
// whose partial sums cost the reduction less). Rounding up alone gave D3's grad-weight 9 x 32 =
// 288 blocks (73%) where 8 give 256 (97%).
constexpr int64_t mma_split_count(int64_t tiles) {
    const int64_t below = std::max<int64_t>(1, kMmaWantedBlocks / tiles), above = (kMmaWantedBlocks + tiles - 1) / tiles;
    return mma_wave_efficiency(tiles * above) > mma_wave_efficiency(tiles * below) ? above : below;
}
constexpr int64_t kMmaMaxSplits = 64;
constexpr int64_t kMmaMaxGridX = (int64_t{1} << 31) - 1, kMmaMaxGridYZ = 65535;

constexpr int async_shared_bytes(TileConfig c) {
    return kAsyncStages * (async_operand_bytes(tile_shape(c).bm) + async_operand_bytes(tile_shape(c).bn));
}

struct MmaPlan {
    TileConfig tile;
    int64_t tiles_m, tiles_n;
    int64_t splits;   // >= 1; every split gets a non-empty K range when K > 0
    int64_t k_chunk;  // a multiple of kMmaBK (kAsyncBK on the cp.async pipeline); split z covers [z * k_chunk, min(K, (z + 1) * k_chunk))
    int64_t grid_m, grid_n;  // launch grid (grid_m, grid_n, splits); blocks stride over extra tiles
};

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// The grid and split-K of a given tile (mma_plan's choice, or a test's), for a problem that
// runs alongside others in one launch whose tiles number `batch_tiles` in all (mma_batch_plan;
// the problem's own tiles when it runs alone). k_align: what k_chunk is a multiple of, kAsyncBK
// on the cp.async pipeline, so that every split starts a whole stage into K and the paired loop
// (implicit_gemm_mma.cuh, one cursor step per stage) runs on every split, not on the first only.
inline MmaPlan mma_plan_in_batch(TileConfig tile, int64_t M, int64_t N, int64_t K, int64_t batch_tiles,
                                 int64_t k_align = kMmaBK) {
    const TileShape s = tile_shape(tile);
    MmaPlan p{tile, ceil_div(M, s.bm), ceil_div(N, s.bn), 1, kMmaBK, 0, 0};
    p.grid_m = std::clamp<int64_t>(p.tiles_m, 1, kMmaMaxGridX);
    p.grid_n = std::clamp<int64_t>(p.tiles_n, 1, kMmaMaxGridYZ);
    // Split-K only where each split keeps at least 4 stages of K, so the pipeline has
    // something to overlap and the partial sums stay few.
    // Large's tiles count as enough from three quarters of the two waves on (choose_async_tile).
    const int64_t tiles = batch_tiles;
    const bool enough = tile == TileConfig::Large ? 4 * tiles >= 3 * kMmaWantedBlocks : tiles >= kMmaWantedBlocks;
    if (tiles > 0 && !enough && K >= 8 * kMmaBK)
        p.splits = std::min<int64_t>(mma_split_count(tiles), K / (4 * kMmaBK));
    p.splits = std::clamp<int64_t>(p.splits, 1, kMmaMaxSplits);
    p.k_chunk = std::max<int64_t>(k_align, ceil_div(ceil_div(K, p.splits), k_align) * k_align);
    p.splits = std::max<int64_t>(1, ceil_div(K, p.k_chunk));
    return p;
}

inline MmaPlan mma_plan_for(TileConfig tile, int64_t M, int64_t N, int64_t K, int64_t k_align = kMmaBK) {
    const TileShape s = tile_shape(tile);
    return mma_plan_in_batch(tile, M, N, K, ceil_div(M, s.bm) * ceil_div(N, s.bn), k_align);
}

inline int64_t tiles_of(TileConfig c, int64_t M, int64_t N) {
    const TileShape s = tile_shape(c);
    return ceil_div(M, s.bm) * ceil_div(N, s.bn);
}

// The register-staged loop: Wide when its tiles fill the GPU twice over, else Square.
inline TileConfig choose_tile(int64_t M, int64_t N) {
    if (N <= 16) return TileConfig::Narrow;
    return tiles_of(TileConfig::Wide, M, N) >= kMmaWantedBlocks ? TileConfig::Wide : TileConfig::Square;
}

// The cp.async pipeline adds Large (128 x 128, 8 warps of 64 x 32: each fragment feeds 4 mma,
// the fewest instructions per mma) where N > 64 keeps its columns busy and either its tiles
// fill three quarters of the two waves, or K is long enough for split-K to make up the rest
// with at least 8 cp.async stages per split (grad-weight, K = batch pixels).
inline TileConfig choose_async_tile(int64_t M, int64_t N, int64_t K) {
    if (N <= 16) return TileConfig::Narrow;
    if (N > 64) {
        const int64_t large = tiles_of(TileConfig::Large, M, N);
        const int64_t splits = ceil_div(kMmaWantedBlocks, large);
        if (4 * large >= 3 * kMmaWantedBlocks || (splits <= kMmaMaxSplits && K >= splits * 8 * kAsyncBK))
            return TileConfig::Large;
    }
    return choose_tile(M, N);
}

inline MmaPlan mma_plan(int64_t M, int64_t N, int64_t K) { return mma_plan_for(choose_tile(M, N), M, N, K); }
inline MmaPlan mma_async_plan(int64_t M, int64_t N, int64_t K) {
    return mma_plan_for(choose_async_tile(M, N, K), M, N, K, kAsyncBK);
}

// ---- A batch of problems in one launch (the grad-input's stride phases) -------------------
// The problems share a tile (they run one kernel); each has its own tile grid and split-K,
// and the launch's blockIdx.z runs over every problem's splits in turn (implicit_gemm_mma.cuh,
// ProblemBatch). The tile and the splits are chosen as for one problem of all the batch's
// tiles together: four quarter-size phases get the tile and splits of their whole, not of a
// quarter. A batch of one is planned exactly as mma_plan / mma_async_plan.
constexpr int kMmaMaxBatch = 4;  // a stride-2 layer's phases; more run as several batches

struct GemmSize {
    int64_t M, N, K;
};

struct BatchPlan {
    TileConfig tile;
    int count;
    MmaPlan plans[kMmaMaxBatch];  // each problem's tile grid, splits and k_chunk
    int64_t grid_m, grid_n, grid_z;  // the launch: the largest grids, every problem's splits
};

inline int64_t batch_tiles(TileConfig c, const GemmSize* s, int count) {
    int64_t t = 0;
    for (int i = 0; i < count; ++i) t += tiles_of(c, s[i].M, s[i].N);
    return t;
}

// choose_tile / choose_async_tile over the batch's tiles together; K the shortest problem's
// (each split of every problem keeps its stages), N the batch's widest and narrowest.
inline TileConfig choose_batch_tile(const GemmSize* s, int count, bool async) {
    int64_t n_max = 0, n_min = INT64_MAX, k_min = INT64_MAX;
    for (int i = 0; i < count; ++i) {
        n_max = std::max(n_max, s[i].N);
        n_min = std::min(n_min, s[i].N);
        k_min = std::min(k_min, s[i].K);
    }
    if (n_max <= 16) return TileConfig::Narrow;
    if (async && n_min > 64) {
        const int64_t large = batch_tiles(TileConfig::Large, s, count);
        const int64_t splits = ceil_div(kMmaWantedBlocks, large);
        if (4 * large >= 3 * kMmaWantedBlocks || (splits <= kMmaMaxSplits && k_min >= splits * 8 * kAsyncBK))
            return TileConfig::Large;
    }
    return batch_tiles(TileConfig::Wide, s, count) >= kMmaWantedBlocks ? TileConfig::Wide : TileConfig::Square;
}

// count in 1..kMmaMaxBatch; async: the cp.async pipeline's tiles (Large), else the register-staged loop's.
inline BatchPlan mma_batch_plan(const GemmSize* s, int count, bool async) {
    BatchPlan b{};
    b.count = count;
    b.tile = choose_batch_tile(s, count, async);
    const int64_t tiles = batch_tiles(b.tile, s, count);
    b.grid_m = b.grid_n = 1;
    for (int i = 0; i < count; ++i) {
        b.plans[i] = mma_plan_in_batch(b.tile, s[i].M, s[i].N, s[i].K, tiles, async ? kAsyncBK : kMmaBK);
        b.grid_m = std::max(b.grid_m, b.plans[i].grid_m);
        b.grid_n = std::max(b.grid_n, b.plans[i].grid_n);
        b.grid_z += b.plans[i].splits;
    }
    return b;
}

}  // namespace ganops::cuda::mma
