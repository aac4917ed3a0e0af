// The tensor-core GEMM's tile heuristic (kernels/cuda/mma_plan.h), on the CPU: which block
// tile each problem gets (register-staged and cp.async), and that the tile grid and the split-K ranges cover the problem
// exactly, for every DCGAN convolution pass at batch 1 and 128 and for edge sizes.
#include <vector>

#include "kernels/cuda/mma_plan.h"
#include "test_util.h"

using namespace ganops::cuda::mma;

namespace {

// Every (m, n) tile is some block's, every k in exactly one split, within launch limits.
void check_cover(int64_t M, int64_t N, int64_t K, bool async = false) {
    INFO("M " << M << " N " << N << " K " << K << (async ? " (cp.async)" : ""));
    const MmaPlan p = async ? mma_async_plan(M, N, K) : mma_plan(M, N, K);
    if (!async) CHECK(p.tile != TileConfig::Large);  // the register-staged loop has no Large tile
    const TileShape s = tile_shape(p.tile);
    CHECK(p.tiles_m * s.bm >= M);
    CHECK((p.tiles_m - 1) * s.bm < M);
    CHECK(p.tiles_n * s.bn >= N);
    CHECK((p.tiles_n - 1) * s.bn < N);
    CHECK(p.grid_m >= 1);
    CHECK(p.grid_m <= std::min(p.tiles_m, kMmaMaxGridX));
    CHECK(p.grid_n >= 1);
    CHECK(p.grid_n <= std::min(std::max<int64_t>(p.tiles_n, 1), kMmaMaxGridYZ));
    CHECK(p.splits >= 1);
    CHECK(p.splits <= kMmaMaxSplits);
    CHECK(p.k_chunk % kMmaBK == 0);
    CHECK(p.splits * p.k_chunk >= K);
    if (K > 0) CHECK((p.splits - 1) * p.k_chunk < K);  // no empty split
    // Split only where the tiles alone leave the GPU idle, and keep >= 4 stages per split.
    if (p.splits > 1) {
        CHECK(p.tiles_m * p.tiles_n < kMmaWantedBlocks);
        CHECK(p.k_chunk >= 4 * kMmaBK);
    }
}

struct Pass {
    int64_t M, N, K;
};

// Forward, grad-input and grad-weight GEMMs of the 64x64 DCGAN's convolutions (conv2d's view:
// x [n, c, h, w], w [k, c, 4, 4], y [n, k, p, q]).
std::vector<Pass> dcgan_passes(int64_t n) {
    struct L {
        int64_t c, h, k, p;
    };
    const L layers[] = {{512, 4, 100, 1},  {256, 8, 512, 4},   {128, 16, 256, 8}, {64, 32, 128, 16}, {3, 64, 64, 32},
                        {3, 64, 64, 32},   {64, 32, 128, 16},  {128, 16, 256, 8}, {256, 8, 512, 4},  {512, 4, 1, 1}};
    std::vector<Pass> out;
    for (const L& l : layers) {
        out.push_back({n * l.p * l.p, l.k, l.c * 16});
        out.push_back({n * l.h * l.h, l.c, l.k * 16});
        out.push_back({l.c * 16, l.k, n * l.p * l.p});
    }
    return out;
}

}  // namespace

TEST_CASE("mma_plan picks the narrow tile for few output columns, wide for big problems, square otherwise") {
    CHECK(mma_plan(1000, 1, 64).tile == TileConfig::Narrow);
    CHECK(mma_plan(1000, 16, 64).tile == TileConfig::Narrow);
    CHECK(mma_plan(1000, 17, 64).tile == TileConfig::Square);
    CHECK(mma_plan(128 * 2048, 128, 1024).tile == TileConfig::Wide);  // D2 forward at batch 128
    CHECK(mma_plan(2048, 128, 1024).tile == TileConfig::Square);       // ... at batch 1
    // The boundary: 264 wide tiles are enough, 263 are not.
    CHECK(mma_plan(128 * 132, 128, 64).tile == TileConfig::Wide);
    CHECK(mma_plan(128 * 131, 128, 64).tile == TileConfig::Square);
}

TEST_CASE("mma_plan splits K only when the tiles leave the GPU idle") {
    // D5 forward at batch 128: one narrow tile, K = 8192 -> 64 splits of 128.
    const MmaPlan d5 = mma_plan(128, 1, 8192);
    CHECK(d5.tiles_m * d5.tiles_n == 1);
    CHECK(d5.splits == 64);
    CHECK(d5.k_chunk == 128);
    // Plenty of tiles: no split.
    CHECK(mma_plan(128 * 4096, 64, 4096).splits == 1);
    // Short K: no split even for one tile.
    CHECK(mma_plan(64, 64, 8 * kMmaBK - 1).splits == 1);
    // grad-weight of D2 at batch 128: few tiles, K = 128 * 256 -> split.
    CHECK(mma_plan(64 * 16, 128, 128 * 256).splits > 1);
}

TEST_CASE("mma_async_plan adds the 128 x 128 tile for wide problems with many tiles or a long K") {
    // D2 forward at batch 128 (M = 128 * 16 * 16, N = 128): 256 large tiles, 97% of two waves.
    CHECK(mma_async_plan(128 * 256, 128, 1024).tile == TileConfig::Large);
    CHECK(mma_async_plan(128 * 256, 128, 1024).splits == 1);
    // The boundary: 198 large tiles (3/4 of 264) are enough with a short K, 197 are not.
    CHECK(mma_async_plan(128 * 198, 128, 64).tile == TileConfig::Large);
    CHECK(mma_async_plan(128 * 197, 128, 64).tile == TileConfig::Wide);  // 394 wide tiles
    // D2 grad-weight at batch 128 (M = 16 * 64, N = 128, K = 128 * 16 * 16): 8 large tiles and
    // K long enough for 33 splits of >= 8 stages: Large, split.
    const MmaPlan d2w = mma_async_plan(16 * 64, 128, 128 * 256);
    CHECK(d2w.tile == TileConfig::Large);
    // 33 splits asked for; the chunks rounded up to whole 32-deep stages (1024) leave 32: 256
    // blocks, 97% of the two waves.
    CHECK(d2w.splits == 32);
    CHECK(d2w.splits * d2w.tiles_m * d2w.tiles_n * 100 >= 96 * kMmaWantedBlocks);
    CHECK(d2w.k_chunk >= 8 * kAsyncBK);
    // ... at batch 1 (K = 256): too short to split into 33: the register-staged choice.
    CHECK(mma_async_plan(16 * 64, 128, 256).tile == TileConfig::Square);
    // N <= 64: Large would compute half padding; N <= 16: Narrow as before.
    CHECK(mma_async_plan(128 * 4096, 64, 1024).tile == TileConfig::Wide);
    CHECK(mma_async_plan(128 * 4096, 16, 1024).tile == TileConfig::Narrow);
}

TEST_CASE("split-K picks the split count that leaves the SMs least idle") {
    // Rounds of 132 blocks: 288 = 3 rounds, the last 24 blocks alone.
    CHECK(mma_wave_efficiency(288) == Approx(288.0 / 396));
    CHECK(mma_wave_efficiency(256) == Approx(256.0 / 264));
    CHECK(mma_wave_efficiency(132) == Approx(1.0));
    // D3's grad-weight at batch 128 (M = 16 * 128, N = 256, K = 128 * 8 * 8): 32 large tiles.
    // Rounding 264 / 32 up gave 9 splits, 288 blocks (73%); 8 give 256 (97%).
    const MmaPlan d3w = mma_async_plan(16 * 128, 256, 128 * 64);
    CHECK(d3w.tile == TileConfig::Large);
    CHECK(d3w.splits == 8);
    // D4's forward (M = 128 * 4 * 4, N = 512, K = 256 * 16): 64 large tiles, 4 splits (256
    // blocks, 97%) rather than 5 (320, 81%).
    const MmaPlan d4f = mma_async_plan(128 * 16, 512, 256 * 16);
    CHECK(d4f.tile == TileConfig::Large);
    CHECK(d4f.splits == 4);
    // Where rounding up leaves fewer SMs idle it still wins: 150 tiles alone are 57%, two
    // splits' 300 blocks 76%.
    CHECK(mma_split_count(150) == 2);
    CHECK(mma_split_count(100) == 2);  // 200 blocks against 300: 76% both, a tie keeps the fewer splits
}

TEST_CASE("the cp.async pipeline's shared memory fits an SM twice (sm_90) and covers both layouts") {
    for (TileConfig t : {TileConfig::Wide, TileConfig::Square, TileConfig::Narrow, TileConfig::Large}) {
        const TileShape s = tile_shape(t);
        const int bytes = async_shared_bytes(t);
        CHECK(bytes >= kAsyncStages * 4 * (s.bm + s.bn) * (kAsyncBK + 4));  // rows of k, padded
        CHECK(bytes >= kAsyncStages * 4 * kAsyncBK * (s.bm + 8 + s.bn + 8));  // k-major, padded
        CHECK(2 * (bytes + 1024) <= 228 * 1024);  // H100: 228 KiB per SM, 1 KiB reserved per block
    }
    CHECK(async_shared_bytes(TileConfig::Large) == 110592);
}

TEST_CASE("mma_plan covers every problem exactly") {
    for (int64_t n : {1, 2, 64, 128})
        for (const Pass& p : dcgan_passes(n)) {
            check_cover(p.M, p.N, p.K);
            check_cover(p.M, p.N, p.K, true);
        }
    for (int64_t M : {1, 15, 16, 17, 63, 64, 65, 127, 128, 129, 100000})
        for (int64_t N : {1, 7, 8, 9, 16, 17, 63, 64, 65, 1000})
            for (int64_t K : {0, 1, 7, 8, 9, 16, 17, 127, 128, 129, 4096, 1 << 20}) {
                check_cover(M, N, K);
                check_cover(M, N, K, true);
            }
    // More column tiles than grid.y allows: the grid is capped, blocks stride.
    const MmaPlan huge = mma_plan(64, int64_t{64} * 70000, 64);
    CHECK(huge.tiles_n == 70000);
    CHECK(huge.grid_n == kMmaMaxGridYZ);
}

namespace {

// A batch's plan: one tile for all, each problem covered by its own plan (as check_cover), the
// launch's grid the largest problem's and its z every problem's splits.
void check_batch_cover(const std::vector<GemmSize>& sizes, bool async) {
    const BatchPlan b = mma_batch_plan(sizes.data(), int(sizes.size()), async);
    INFO("batch of " << sizes.size() << (async ? " (cp.async)" : ""));
    CHECK(b.count == int(sizes.size()));
    if (!async) CHECK(b.tile != TileConfig::Large);
    const TileShape s = tile_shape(b.tile);
    int64_t z = 0;
    for (int i = 0; i < b.count; ++i) {
        const MmaPlan& p = b.plans[i];
        const GemmSize& g = sizes[size_t(i)];
        INFO("problem " << i << ": M " << g.M << " N " << g.N << " K " << g.K);
        CHECK(p.tile == b.tile);
        CHECK(p.tiles_m * s.bm >= g.M);
        CHECK(p.tiles_n * s.bn >= g.N);
        CHECK(p.grid_m <= b.grid_m);
        CHECK(p.grid_n <= b.grid_n);
        CHECK(p.splits >= 1);
        CHECK(p.k_chunk % kMmaBK == 0);
        CHECK(p.splits * p.k_chunk >= g.K);
        if (g.K > 0) CHECK((p.splits - 1) * p.k_chunk < g.K);  // no empty split
        if (p.splits > 1) CHECK(p.k_chunk >= 4 * kMmaBK);
        z += p.splits;
    }
    CHECK(b.grid_z == z);
    CHECK(b.grid_z <= kMmaMaxGridYZ);
}

// The stride x stride phases of a grad-input (conv_problems.h's Phase1D, counted by hand):
// rows h of residue r mod stride, taps of the kernel that reach them.
std::vector<GemmSize> phases(int64_t n, int64_t c, int64_t h, int64_t k, int64_t kernel, int64_t stride) {
    std::vector<GemmSize> out;
    for (int64_t rh = 0; rh < stride; ++rh)
        for (int64_t rw = 0; rw < stride; ++rw) {
            const int64_t rows = (h - rh + stride - 1) / stride, cols = rows;  // square images
            const int64_t taps_h = (kernel - rh + stride - 1) / stride, taps_w = (kernel - rw + stride - 1) / stride;
            out.push_back({n * rows * cols, c, k * taps_h * taps_w});
        }
    return out;
}

}  // namespace

TEST_CASE("a batch of one problem is planned as the problem alone") {
    for (int64_t M : {1, 17, 64, 129, 2048, 100000})
        for (int64_t N : {1, 16, 17, 64, 65, 256, 1000})
            for (int64_t K : {0, 17, 128, 2048, 1 << 20})
                for (bool async : {false, true}) {
                    INFO("M " << M << " N " << N << " K " << K << (async ? " (cp.async)" : ""));
                    const GemmSize one{M, N, K};
                    const BatchPlan b = mma_batch_plan(&one, 1, async);
                    const MmaPlan p = async ? mma_async_plan(M, N, K) : mma_plan(M, N, K);
                    CHECK(b.tile == p.tile);
                    CHECK(b.plans[0].splits == p.splits);
                    CHECK(b.plans[0].k_chunk == p.k_chunk);
                    CHECK(b.grid_m == p.grid_m);
                    CHECK(b.grid_n == p.grid_n);
                    CHECK(b.grid_z == p.splits);
                }
}

TEST_CASE("the grad-input's stride phases are planned together: the tile and splits of their whole") {
    // D3's grad-input at batch 128 (conv2d view: c 128, h 16, k_out 256, 4x4, stride 2): four
    // phases of M = 128 * 8 * 8, N = 128, K = 256 * 4. Alone each gets the 64 x 64 tile; together
    // their 4 x 64 large tiles fill the GPU: Large, no split.
    const std::vector<GemmSize> d3 = phases(128, 128, 16, 256, 4, 2);
    REQUIRE(d3.size() == 4);
    CHECK(d3[0].M == 128 * 64);
    CHECK(d3[0].K == 256 * 4);
    CHECK(mma_async_plan(d3[0].M, d3[0].N, d3[0].K).tile != TileConfig::Large);
    const BatchPlan b3 = mma_batch_plan(d3.data(), 4, true);
    CHECK(b3.tile == TileConfig::Large);
    CHECK(b3.grid_z == 4);  // one split each
    check_batch_cover(d3, true);
    // D4's (c 256, h 8, k_out 512): M = 128 * 4 * 4 = 2048 per phase, N = 256, K = 2048. Alone:
    // the 64 x 64 tile and 3 splits, 4 launches; together: Large, 128 tiles, 2 splits each
    // (256 blocks: 97% of the SMs' time, as 3 splits' 384 blocks, with fewer partial sums).
    const std::vector<GemmSize> d4 = phases(128, 256, 8, 512, 4, 2);
    const MmaPlan alone = mma_async_plan(d4[0].M, d4[0].N, d4[0].K);
    CHECK(alone.tile == TileConfig::Square);
    const BatchPlan b4 = mma_batch_plan(d4.data(), 4, true);
    CHECK(b4.tile == TileConfig::Large);
    for (int i = 0; i < 4; ++i) CHECK(b4.plans[i].splits <= alone.splits);
    CHECK(b4.plans[0].splits == 2);
    CHECK(mma_wave_efficiency(b4.grid_z * b4.plans[0].tiles_m * b4.plans[0].tiles_n) > 0.96);
    check_batch_cover(d4, true);
}

TEST_CASE("batches of phases of different sizes are covered problem by problem") {
    // Odd images and kernels: the phases' M and K differ (3x3 kernel, stride 2: 4, 2, 2 and 1 taps).
    for (int64_t n : {1, 3, 128})
        for (int64_t h : {5, 7, 16, 33})
            for (int64_t kernel : {1, 3, 4, 5})
                for (int64_t c : {3, 16, 64, 200}) {
                    std::vector<GemmSize> all = phases(n, c, h, 96, kernel, 2);
                    for (bool async : {false, true}) {
                        check_batch_cover(all, async);
                        check_batch_cover({all.begin(), all.begin() + 2}, async);
                    }
                }
    const std::vector<GemmSize> odd = {{100, 64, 4 * 96}, {90, 64, 2 * 96}, {90, 64, 2 * 96}, {81, 64, 96}};
    check_batch_cover(odd, false);
    check_batch_cover(odd, true);
}

TEST_CASE("the cp.async plans split K at whole 32-deep stages, so every split runs the paired loop") {
    for (int64_t M : {128, 2048, 8192})
        for (int64_t N : {64, 128, 256})
            for (int64_t K : {96, 1000, 2048, 8192, 1 << 20}) {
                INFO("M " << M << " N " << N << " K " << K);
                const MmaPlan p = mma_async_plan(M, N, K);
                CHECK(p.k_chunk % kAsyncBK == 0);
                CHECK(p.splits * p.k_chunk >= K);
                CHECK((p.splits - 1) * p.k_chunk < K);  // no empty split
                const GemmSize phases[4] = {{M, N, K}, {M, N, K}, {M, N, K}, {M, N, K}};
                const BatchPlan b = mma_batch_plan(phases, 4, true);
                for (int i = 0; i < 4; ++i) CHECK(b.plans[i].k_chunk % kAsyncBK == 0);
            }
    // Four phases of M 1408, N 256, K 2048 (88 large tiles together): Large, 3 splits of 704
    // (22 stages), not 688, whose second and third splits would start half a stage into a
    // filter tap.
    const GemmSize odd[4] = {{1408, 256, 2048}, {1408, 256, 2048}, {1408, 256, 2048}, {1408, 256, 2048}};
    const BatchPlan b = mma_batch_plan(odd, 4, true);
    CHECK(b.tile == TileConfig::Large);
    CHECK(b.plans[0].splits == 3);
    CHECK(b.plans[0].k_chunk == 704);
}
