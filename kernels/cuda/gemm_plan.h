// How the implicit GEMM (implicit_gemm.cuh) covers a problem: the tile grid, and how far a
// long K is split across blocks (split-K) when the tiles alone would leave most of the GPU
// idle. Host code, so tests/test_conv_problems.cpp can check it without a GPU.
#pragma once
#include <algorithm>
#include <cstdint>

namespace ganops::cuda::gemm {

constexpr int BM = 64, BN = 64, BK = 16, TM = 4, TN = 4;
constexpr int64_t kWantedBlocks = 2 * 132;  // two waves' worth of H100 SMs

// What a launch may ask for: grid.x up to 2^31 - 1 blocks, grid.y and grid.z up to 65535.
constexpr int64_t kMaxGridX = (int64_t{1} << 31) - 1, kMaxGridYZ = 65535;

struct Plan {
    int64_t tiles_m, tiles_n;
    int64_t splits;   // >= 1; every split gets a non-empty K range when K > 0
    int64_t k_chunk;  // a multiple of BK; split z covers [z * k_chunk, min(K, (z + 1) * k_chunk))
    // The launch grid: (grid_m, grid_n, splits). A block takes tiles blockIdx.x, +grid_m,
    // ... along m and blockIdx.y, +grid_n, ... along n, so a problem with more tiles than
    // a grid dimension allows (a linear layer over more than 65535 * BN = 4.2M rows puts
    // its rows on n) is still covered, each tile by exactly one block.
    int64_t grid_m, grid_n;
};

inline Plan plan(int64_t M, int64_t N, int64_t K) {
    Plan p{(M + BM - 1) / BM, (N + BN - 1) / BN, 1, BK, 0, 0};
    p.grid_m = std::clamp<int64_t>(p.tiles_m, 1, kMaxGridX);
    p.grid_n = std::clamp<int64_t>(p.tiles_n, 1, kMaxGridYZ);
    const int64_t tiles = p.tiles_m * p.tiles_n;
    if (tiles > 0 && tiles < kWantedBlocks && K >= 8 * BK)
        p.splits = std::min<int64_t>((kWantedBlocks + tiles - 1) / tiles, K / (4 * BK));
    p.splits = std::clamp<int64_t>(p.splits, 1, 64);
    p.k_chunk = std::max<int64_t>(BK, ((K + p.splits - 1) / p.splits + BK - 1) / BK * BK);
    p.splits = std::max<int64_t>(1, (K + p.k_chunk - 1) / p.k_chunk);
    return p;
}

}  // namespace ganops::cuda::gemm
