// How the fused batchnorm + activation kernels (batchnorm2d_activation.cu) cut a tensor x
// [n, c, hw] into blocks: host code, shared with the roofline model (benchmarks/roofline.cpp),
// which must launch what the library launches.
#pragma once
#include <algorithm>
#include <cstdint>

namespace ganops::cuda {

struct BnActPlan {
    int V = 1;             // floats per vector: 4 when the runs (NCHW) or rows (channels-last) allow
    bool rows = false;     // channels-last (hw == 1): [n rows, c]
    int64_t vectors = 0;   // n * c * hw / V
    int64_t per_split = 0; // vectors of a channel (planes) or rows (rows) per split
    int splits = 1;
    int chunk = 0;         // rows: vector columns per block
    int64_t grid_x = 0;    // planes: c; rows: blocks across the columns
};

// About 1024 blocks of 256 threads (8 per SM of an H100: full occupancy), each thread with at
// least 4 vectors, at most 256 splits (the partials, 16 bytes per channel and split, stay a
// few percent of the data).
constexpr int64_t kBnActTargetBlocks = 1024;
constexpr int kBnActThreads = 256;

// `aligned`: every pointer the kernels read or write is 16-byte aligned.
inline BnActPlan bn_act_plan(int64_t n, int64_t c, int64_t hw, bool aligned) {
    BnActPlan p;
    p.rows = hw == 1;
    p.V = aligned && (p.rows ? c : hw) % 4 == 0 ? 4 : 1;
    p.vectors = n * c * hw / p.V;
    if (p.rows) {
        const int64_t cols = c / p.V;
        p.chunk = static_cast<int>(std::min<int64_t>(cols, kBnActThreads));
        p.grid_x = (cols + p.chunk - 1) / p.chunk;
        const int64_t row_lanes = kBnActThreads / p.chunk;
        const int64_t by_work = std::max<int64_t>(1, n / (4 * row_lanes));
        const int64_t by_fill = (kBnActTargetBlocks + p.grid_x - 1) / p.grid_x;
        const int64_t splits = std::clamp<int64_t>(std::min(by_work, by_fill), 1, 256);
        p.per_split = (n + splits - 1) / splits;
        p.splits = static_cast<int>((n + p.per_split - 1) / p.per_split);  // none empty
    } else {
        const int64_t channel_vectors = n * hw / p.V;
        p.grid_x = c;
        const int64_t by_work = std::max<int64_t>(1, channel_vectors / (4 * kBnActThreads));
        const int64_t by_fill = (kBnActTargetBlocks + c - 1) / c;
        const int64_t splits = std::clamp<int64_t>(std::min(by_work, by_fill), 1, 256);
        p.per_split = (channel_vectors + splits - 1) / splits;
        p.splits = static_cast<int>((channel_vectors + p.per_split - 1) / p.per_split);
    }
    return p;
}

}  // namespace ganops::cuda
