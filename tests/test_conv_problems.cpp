// The index arithmetic of the CUDA convolution kernels, checked on the CPU: the same
// operand functors the GPU's implicit GEMM reads through (kernels/cuda/conv_problems.h),
// driven by a plain triple loop, must reproduce the reference's three passes. This runs
// everywhere, so a wrong gather or scatter shows up on machines without a GPU too.
#include <algorithm>
#include <vector>

#include "kernels/cuda/conv_problems.h"
#include "kernels/cuda/gemm_plan.h"

#include "kernels/conv2d.h"
#include "test_util.h"

using namespace ganops;

namespace {

// The GPU's order of work, serially: the split-K plan's K ranges summed per split, then
// the splits added in order, as reduce_splits_kernel does.
template <class Problem>
void run_naive(const Problem& p) {
    const cuda::gemm::Plan plan = cuda::gemm::plan(p.M, p.N, p.K);
    for (int64_t m = 0; m < p.M; ++m)
        for (int64_t n = 0; n < p.N; ++n) {
            double total = 0;
            for (int64_t z = 0; z < plan.splits; ++z) {
                double part = 0;
                for (int64_t k = z * plan.k_chunk; k < std::min(p.K, (z + 1) * plan.k_chunk); ++k)
                    part += double(p.a(m, k)) * double(p.b(k, n));
                total += part;
            }
            p.store(m, n, static_cast<float>(total));
        }
}

void check_geometry(const std::string& what, const ConvGeometry& g, bool bias) {
    INFO(what);
    const Tensor x = test::randn(g.x_shape(), DType::F32), w = test::randn(g.w_shape(), DType::F32);
    const Tensor b = test::randn({g.out_channels}, DType::F32), dy = test::randn(g.y_shape(), DType::F32);
    const cuda::conv::Dims d(g);

    Tensor y = Tensor::full(g.y_shape(), std::nan(""));
    run_naive(cuda::conv::Forward{d, x.data<float>(), w.data<float>(), bias ? b.data<float>() : nullptr, y.data<float>(),
                                  d.n * d.p * d.q, d.k, d.c * d.r * d.s});
    const Tensor y_ref = Tensor::empty(g.y_shape());
    kernels::conv2d_forward(g, x, w, bias ? b : Tensor(), y_ref);
    CHECK(test::rel_error(y, y_ref) < 1e-5);

    // Grad-input twice: as one GEMM over every tap, and as the dense phases the GPU runs.
    const Tensor dx_ref = Tensor::empty(g.x_shape());
    kernels::conv2d_backward_input(g, dy, w, dx_ref);
    Tensor dx = Tensor::full(g.x_shape(), std::nan(""));
    run_naive(cuda::conv::BackwardInput{d, dy.data<float>(), w.data<float>(), dx.data<float>(), d.n * d.h * d.w, d.c,
                                        d.k * d.r * d.s});
    CHECK(test::rel_error(dx, dx_ref) < 1e-5);
    Tensor dx_phased = Tensor::full(g.x_shape(), std::nan(""));
    cuda::conv::for_each_backward_input_problem(d, dy.data<float>(), w.data<float>(), dx_phased.data<float>(),
                                                [](const auto& problem) { run_naive(problem); });
    CHECK(test::rel_error(dx_phased, dx_ref) < 1e-5);

    Tensor dw = Tensor::full(g.w_shape(), std::nan(""));
    run_naive(cuda::conv::BackwardWeight{d, dy.data<float>(), x.data<float>(), dw.data<float>(), d.c * d.r * d.s, d.k,
                                         d.n * d.p * d.q});
    const Tensor dw_ref = Tensor::empty(g.w_shape());
    kernels::conv2d_backward_weight(g, dy, x, dw_ref);
    CHECK(test::rel_error(dw, dw_ref) < 1e-5);
}

}  // namespace

TEST_CASE("the CUDA convolution problems gather and scatter like the reference") {
    check_geometry("DCGAN D2-like, stride 2 pad 1", conv2d_geometry("t", {2, 8, 16, 16}, {6, 8, 4, 4}, Conv2dOptions::square(2, 1)), false);
    check_geometry("1 channel 7x7, stride 1 pad 1, bias", conv2d_geometry("t", {3, 1, 7, 7}, {5, 1, 3, 3}, Conv2dOptions::square(1, 1)), true);
    check_geometry("3 channels 5x5, stride 2 pad 2", conv2d_geometry("t", {2, 3, 5, 5}, {4, 3, 3, 3}, Conv2dOptions::square(2, 2)), true);
    check_geometry("rectangular, dilated", conv2d_geometry("t", {2, 3, 9, 8}, {4, 3, 3, 2}, Conv2dOptions{1, 2, 2, 1, 2, 1}), true);
    // Long K (batch 64 at 16x16): the split-K path, with several splits.
    check_geometry("grad-weight with split K", conv2d_geometry("t", {64, 2, 16, 16}, {3, 2, 4, 4}, Conv2dOptions::square(2, 1)), false);
    check_geometry("4x4 valid output layer", conv2d_geometry("t", {3, 16, 4, 4}, {1, 16, 4, 4}, Conv2dOptions::square(1, 0)), false);
    // Transposed convolutions run the same problems on their own geometry.
    check_geometry("transposed from 1x1 (G1)", conv_transpose2d_geometry("t", {2, 10, 1, 1}, {10, 12, 4, 4},
                                                                         ConvTranspose2dOptions::square(1, 0)), false);
    check_geometry("transposed stride 2 pad 1 (G2-G5)", conv_transpose2d_geometry("t", {2, 12, 4, 4}, {12, 6, 4, 4},
                                                                                  ConvTranspose2dOptions::square(2, 1)), false);
    check_geometry("transposed with output padding", conv_transpose2d_geometry("t", {1, 3, 5, 4}, {3, 2, 3, 3},
                                                                               ConvTranspose2dOptions::square(2, 1, 1)), true);
}

// Products of the grad-input problems, and the products of the one GEMM over every tap.
struct ProductCount {
    int64_t problems = 0, products = 0, zero_k_problems = 0;
};
ProductCount phased_products(const ConvGeometry& g) {
    const cuda::conv::Dims d(g);
    ProductCount count;
    cuda::conv::for_each_backward_input_problem(d, nullptr, nullptr, nullptr, [&](const auto& p) {
        ++count.problems;
        count.products += p.M * p.N * p.K;
        if (p.K == 0 && p.M > 0) ++count.zero_k_problems;
    });
    return count;
}
int64_t unsplit_products(const ConvGeometry& g) {
    return g.batch * g.in_h * g.in_w * g.in_channels * g.out_channels * g.kernel_h * g.kernel_w;
}

TEST_CASE("strided grad-input runs as dense phases that reproduce the reference") {
    // Every phase of strided cases: stride 2 and 3, image sizes no multiple of the stride
    // (phases of uneven size), padding, dilation sharing a factor with the stride (phases
    // without taps), and kernels smaller than the stride (input pixels no tap reaches).
    check_geometry("stride 3, pad 1, 11x10", conv2d_geometry("t", {2, 3, 11, 10}, {4, 3, 4, 4}, Conv2dOptions::square(3, 1)), false);
    check_geometry("stride 2, odd 9x7", conv2d_geometry("t", {2, 3, 9, 7}, {5, 3, 3, 3}, Conv2dOptions::square(2, 0)), false);
    check_geometry("stride (2, 3), pad (2, 1)", conv2d_geometry("t", {1, 2, 12, 13}, {3, 2, 5, 4}, Conv2dOptions{2, 3, 2, 1, 1, 1}), false);
    check_geometry("stride 2, dilation 2 (odd phases get no taps)",
                   conv2d_geometry("t", {2, 3, 13, 12}, {3, 3, 3, 3}, Conv2dOptions::square(2, 2, 2)), false);
    check_geometry("stride 4, dilation 2, pad 3",
                   conv2d_geometry("t", {1, 2, 17, 15}, {3, 2, 3, 2}, Conv2dOptions{4, 4, 3, 3, 2, 2}), false);
    check_geometry("stride 3, dilation 2 (coprime)",
                   conv2d_geometry("t", {1, 2, 14, 14}, {2, 2, 3, 3}, Conv2dOptions::square(3, 1, 2)), false);
    check_geometry("1x1 kernel, stride 2", conv2d_geometry("t", {2, 4, 8, 7}, {3, 4, 1, 1}, Conv2dOptions::square(2, 0)), false);
    check_geometry("2x2 kernel, stride 3", conv2d_geometry("t", {2, 3, 10, 11}, {4, 3, 2, 2}, Conv2dOptions::square(3, 0)), false);
    check_geometry("one output pixel, kernel smaller than the image",
                   conv2d_geometry("t", {2, 3, 5, 5}, {4, 3, 3, 3}, Conv2dOptions::square(3, 0)), false);
    check_geometry("one output pixel, padded and dilated",
                   conv2d_geometry("t", {2, 3, 4, 6}, {2, 3, 2, 3}, Conv2dOptions{5, 5, 1, 1, 3, 2}), false);
    check_geometry("transposed stride 3, output padding 2", conv_transpose2d_geometry("t", {2, 3, 4, 5}, {3, 2, 4, 4},
                                                                                   ConvTranspose2dOptions::square(3, 1, 2)), false);
    check_geometry("transposed 1x1 kernel, stride 2", conv_transpose2d_geometry("t", {1, 3, 4, 4}, {3, 2, 1, 1},
                                                                             ConvTranspose2dOptions::square(2, 0, 1)), false);
}

TEST_CASE("the grad-input phases skip exactly the products a stride or a 1x1 output makes zero") {
    // DCGAN stride-2 4x4 layers (G2-G5 forward, D1-D4 grad-input): four phases, each with 2x2 taps.
    for (const auto& g : {conv_transpose2d_geometry("t", {4, 16, 8, 8}, {16, 8, 4, 4}, ConvTranspose2dOptions::square(2, 1)),
                          conv2d_geometry("t", {4, 3, 64, 64}, {8, 3, 4, 4}, Conv2dOptions::square(2, 1))}) {
        const ProductCount c = phased_products(g);
        CHECK(c.problems == 4);
        CHECK(c.zero_k_problems == 0);
        CHECK(c.products * 4 == unsplit_products(g));
    }
    // G1 (transposed, 1x1 -> 4x4, stride 1) and D5's grad-input (4x4 -> 1x1): stride 1, so
    // no phases; one tap per pixel instead of 16.
    for (const auto& g : {conv_transpose2d_geometry("t", {4, 100, 1, 1}, {100, 32, 4, 4}, ConvTranspose2dOptions::square(1, 0)),
                          conv2d_geometry("t", {4, 32, 4, 4}, {1, 32, 4, 4}, Conv2dOptions::square(1, 0))}) {
        const ProductCount c = phased_products(g);
        CHECK(c.problems == 1);
        CHECK(c.products * 16 == unsplit_products(g));
    }
    // A 1x1 kernel at stride 2: the phases of odd rows or columns get no taps (K = 0, zeros).
    const ProductCount c = phased_products(conv2d_geometry("t", {2, 4, 8, 8}, {3, 4, 1, 1}, Conv2dOptions::square(2, 0)));
    CHECK(c.problems == 4);
    CHECK(c.zero_k_problems == 3);
    // Stride 1, 3x3, pad 1: one phase, nothing to save.
    const ConvGeometry same = conv2d_geometry("t", {2, 4, 7, 7}, {3, 4, 3, 3}, Conv2dOptions::square(1, 1));
    CHECK(phased_products(same).problems == 1);
    CHECK(phased_products(same).products == unsplit_products(same));
}

TEST_CASE("the split-K plan covers K exactly once and fills the GPU") {
    for (const auto& [m, n, k] : {std::tuple<int64_t, int64_t, int64_t>{1024, 128, 131072},  // D2 grad-weight
                                  {131072, 128, 1024},                                       // D2 forward
                                  {7, 5, 0}, {1, 1, 1}, {64, 64, 127}, {100, 3, 100000}}) {
        INFO("M " << m << " N " << n << " K " << k);
        const cuda::gemm::Plan p = cuda::gemm::plan(m, n, k);
        CHECK(p.tiles_m * cuda::gemm::BM >= m);
        CHECK(p.tiles_n * cuda::gemm::BN >= n);
        CHECK(p.splits >= 1);
        CHECK(p.splits <= 64);
        CHECK(p.k_chunk % cuda::gemm::BK == 0);
        CHECK(p.splits * p.k_chunk >= k);
        if (k > 0) CHECK((p.splits - 1) * p.k_chunk < k);  // no empty split
    }
    // A grad-weight problem has few tiles and a long K: it must be split.
    CHECK(cuda::gemm::plan(1024, 128, 131072).splits > 1);
    CHECK(cuda::gemm::plan(131072, 128, 1024).splits == 1);
}

TEST_CASE("the GEMM grid stays within CUDA's launch limits and covers every tile once") {
    using namespace cuda::gemm;
    // The linear layer puts its rows on n: beyond 65535 * BN = 4194240 rows, one block per
    // tile would exceed grid.y. Sizes up to 2^31 along either side.
    const int64_t big = int64_t{1} << 31;
    for (const int64_t m : {int64_t{1}, int64_t{64}, int64_t{65}, int64_t{1} << 22, kMaxGridYZ * BN, kMaxGridYZ * BN + 1, big})
        for (const int64_t n : {int64_t{1}, int64_t{3}, int64_t{1} << 22, kMaxGridYZ * BN, kMaxGridYZ * BN + 1, big}) {
            INFO("M " << m << " N " << n);
            const Plan p = plan(m, n, 3);
            CHECK(p.grid_m >= 1);
            CHECK(p.grid_m <= kMaxGridX);
            CHECK(p.grid_m <= p.tiles_m);
            CHECK(p.grid_n >= 1);
            CHECK(p.grid_n <= kMaxGridYZ);
            CHECK(p.grid_n <= p.tiles_n);
            CHECK(p.splits <= kMaxGridYZ);
        }
    // The kernel's loop over n (gemm_kernel): block y takes n0 = y * BN, then a grid further.
    // Every tile of a problem twice as tall as the grid is computed by exactly one block.
    const int64_t n = 2 * kMaxGridYZ * BN + 100;
    const Plan p = plan(7, n, 5);
    CHECK(p.tiles_n == 2 * kMaxGridYZ + 2);
    CHECK(p.grid_n == kMaxGridYZ);
    std::vector<int> visits(static_cast<size_t>(p.tiles_n), 0);
    for (int64_t y = 0; y < p.grid_n; ++y)
        for (int64_t n0 = y * BN; n0 < n; n0 += p.grid_n * BN) ++visits[static_cast<size_t>(n0 / BN)];
    CHECK(std::count(visits.begin(), visits.end(), 1) == p.tiles_n);
}

TEST_CASE("the CUDA convolution problems index in 32 bits and know which shapes fit") {
    // The DCGAN's largest layers at batch 128 fit with room to spare.
    CHECK(cuda::conv::fits_32bit(conv2d_geometry("t", {128, 3, 64, 64}, {64, 3, 4, 4}, Conv2dOptions::square(2, 1))));
    CHECK(cuda::conv::fits_32bit(conv_transpose2d_geometry("t", {128, 128, 16, 16}, {128, 64, 4, 4},
                                                           ConvTranspose2dOptions::square(2, 1))));
    // 2^30 elements of x do not: the dispatch refuses them with a message instead of wrapping.
    CHECK_FALSE(cuda::conv::fits_32bit(conv2d_geometry("t", {4096, 64, 64, 64}, {64, 64, 3, 3}, Conv2dOptions::square(1, 1))));
    CHECK_FALSE(cuda::conv::fits_32bit(conv2d_geometry("t", {1, 1, 32768, 32768}, {1, 1, 3, 3}, Conv2dOptions::square(1, 1))));
}
