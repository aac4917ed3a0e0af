// The matrix product and the per-thread scratch buffers of the CPU convolution paths
// (conv2d_batched.cpp, conv2d_channels_last.cpp).
#pragma once
#include <Eigen/Core>
#include <cstdint>
#include <vector>

#if defined(GANOPS_CPU_BLAS_OPENBLAS)
#include <cblas.h>
#endif

namespace ganops::cpu {

// c [m, n] = op(a) * op(b), all row-major and contiguous: a is [m, k], or [k, m] when
// trans_a; b is [k, n], or [n, k] when trans_b. Eigen's kernel by default, compiled for the
// building machine (GANOPS_NATIVE); with GANOPS_BLAS=openblas, OpenBLAS's, which picks its
// kernel for the running CPU (the portable build's way to AVX2/AVX-512). Either runs on the
// calling thread alone: the pool's tasks are the parallelism.
template <class T>
inline void matmul(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, const T* b, T* c) {
#if defined(GANOPS_CPU_BLAS_OPENBLAS)
    static const bool one_thread = [] {
        openblas_set_num_threads(1);  // a no-op in Debian's serial build; essential in the others
        return true;
    }();
    (void)one_thread;
    const auto ta = trans_a ? CblasTrans : CblasNoTrans, tb = trans_b ? CblasTrans : CblasNoTrans;
    const auto lda = static_cast<blasint>(trans_a ? m : k), ldb = static_cast<blasint>(trans_b ? k : n);
    const auto M = static_cast<blasint>(m), N = static_cast<blasint>(n), K = static_cast<blasint>(k);
    if constexpr (sizeof(T) == 4)
        cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, 1.0f, a, lda, b, ldb, 0.0f, c, static_cast<blasint>(n));
    else
        cblas_dgemm(CblasRowMajor, ta, tb, M, N, K, 1.0, a, lda, b, ldb, 0.0, c, static_cast<blasint>(n));
#else
    using Map = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
    Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> out(c, m, n);
    if (!trans_a && !trans_b)
        out.noalias() = Map(a, m, k) * Map(b, k, n);
    else if (trans_a && !trans_b)
        out.noalias() = Map(a, k, m).transpose() * Map(b, k, n);
    else if (!trans_a && trans_b)
        out.noalias() = Map(a, m, k) * Map(b, n, k).transpose();
    else
        out.noalias() = Map(a, k, m).transpose() * Map(b, n, k).transpose();
#endif
}

// A buffer per thread and purpose that only grows: the steady state of a training loop
// allocates nothing (large fresh allocations would be fresh pages, a page fault each 4 KiB).
template <class T, int Purpose>
inline T* scratch(int64_t elements) {
    thread_local std::vector<T> buffer;
    if (static_cast<int64_t>(buffer.size()) < elements) buffer.resize(static_cast<size_t>(elements));
    return buffer.data();
}

}  // namespace ganops::cpu
