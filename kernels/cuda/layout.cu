// Batched transpose, the one kernel behind every memory-format conversion (layout.h).
// Reading rows and writing columns straight from global memory would make one side of the
// copy strided: 32 sectors per warp access instead of 4. So each block stages a 32x32 tile
// in shared memory: the warp that loads row k of the tile reads 32 consecutive floats of
// `in` (128 bytes, coalesced), and the warp that stores row k of the transposed tile
// writes 32 consecutive floats of `out`. The tile row is padded to 33 floats so that a
// warp reading a tile column touches 32 different banks instead of one (32-way conflict).
// Memory-bound: 8 bytes of DRAM traffic per element, about 2.4 us per MiB converted at an
// H100's 3.35 TB/s.
// A thin matrix (fewer than 32 rows or columns: a KCRS weight's 16 taps, a 3-channel image)
// leaves most of each 32x32 tile empty while every warp still runs the whole tile loop (and
// its 64-bit divisions): the 3-channel image of a 128-batch took ~16k tiles of 3 rows. Those
// take thin_transpose_kernel instead: one thread per output element, writes coalesced, reads
// strided by the thin side's width, which the warps of the neighbouring outputs read too (in
// L1/L2: DRAM reads each line once).
#include "fast_divmod.h"
#include "launch.cuh"
#include "layout.h"

namespace ganops::cuda {

namespace {
constexpr int kTile = 32;
constexpr int kWarps = kThreads / 32;  // each warp copies kTile / kWarps rows of a tile

__global__ void batched_transpose_kernel(const float* in, int64_t batch, int64_t rows, int64_t cols, float* out) {
    __shared__ float tile[kTile][kTile + 1];
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const int64_t tiles_r = (rows + kTile - 1) / kTile, tiles_c = (cols + kTile - 1) / kTile;
    const int64_t tiles = batch * tiles_r * tiles_c;
    // A grid-stride loop over tiles: one division chain per tile, not per element.
    for (int64_t t = blockIdx.x; t < tiles; t += gridDim.x) {
        const int64_t b = t / (tiles_r * tiles_c), in_batch = t % (tiles_r * tiles_c);
        const int64_t r0 = in_batch / tiles_c * kTile, c0 = in_batch % tiles_c * kTile;
        const float* src = in + b * rows * cols;
        float* dst = out + b * rows * cols;
        for (int k = warp; k < kTile; k += kWarps) {
            const int64_t r = r0 + k, c = c0 + lane;
            if (r < rows && c < cols) tile[k][lane] = src[r * cols + c];
        }
        __syncthreads();
        for (int k = warp; k < kTile; k += kWarps) {
            const int64_t c = c0 + k, r = r0 + lane;
            if (c < cols && r < rows) dst[c * rows + r] = tile[lane][k];
        }
        __syncthreads();  // the next tile overwrites `tile`
    }
}
// out[b][j][i] = in[b][i][j], o running over out: o = (b * cols + j) * rows + i. 32-bit
// indices (the caller checks the total), divisions by the launch's constants.
__global__ void thin_transpose_kernel(const float* in, FastDivmod per_matrix, FastDivmod rows_div, int cols, int total,
                                      float* out) {
    for (int o = int(blockIdx.x * blockDim.x + threadIdx.x); o < total; o += int(gridDim.x * blockDim.x)) {
        int b, in_matrix, j, i;
        per_matrix.divmod(o, b, in_matrix);
        rows_div.divmod(in_matrix, j, i);
        out[o] = in[b * per_matrix.divisor + i * cols + j];
    }
}

}  // namespace

void batched_transpose(const float* in, int64_t batch, int64_t rows, int64_t cols, float* out) {
    if (batch == 0 || rows == 0 || cols == 0) return;
    const int64_t total = batch * rows * cols;
    if ((rows < kTile || cols < kTile) && total < (int64_t{1} << 31)) {
        GANOPS_LAUNCH(thin_transpose_kernel, grid_for(total), kThreads, 0, current_stream())(
            in, FastDivmod(int(rows * cols)), FastDivmod(int(rows)), int(cols), int(total), out);
        return;
    }
    const int64_t tiles = batch * ((rows + kTile - 1) / kTile) * ((cols + kTile - 1) / kTile);
    const int grid = static_cast<int>(std::min<int64_t>(tiles, 8192));
    GANOPS_LAUNCH(batched_transpose_kernel, grid, kThreads, 0, current_stream())(in, batch, rows, cols, out);
}

}  // namespace ganops::cuda
