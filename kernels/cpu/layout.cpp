#include "layout.h"

#include <algorithm>

namespace ganops::kernels::cpu {

template <class T>
void batched_transpose(const T* in, int64_t batch, int64_t rows, int64_t cols, T* out) {
    // 32x32 blocks: both the rows read and the rows written stay in L1 while a block is
    // copied, instead of one side striding through memory a cache line per element.
    constexpr int64_t kBlock = 32;
    for (int64_t b = 0; b < batch; ++b) {
        const T* src = in + b * rows * cols;
        T* dst = out + b * rows * cols;
        for (int64_t r0 = 0; r0 < rows; r0 += kBlock)
            for (int64_t c0 = 0; c0 < cols; c0 += kBlock) {
                const int64_t r1 = std::min(rows, r0 + kBlock), c1 = std::min(cols, c0 + kBlock);
                for (int64_t r = r0; r < r1; ++r)
                    for (int64_t c = c0; c < c1; ++c) dst[c * rows + r] = src[r * cols + c];
            }
    }
}

template void batched_transpose<float>(const float*, int64_t, int64_t, int64_t, float*);
template void batched_transpose<double>(const double*, int64_t, int64_t, int64_t, double*);

}  // namespace ganops::kernels::cpu
