// The three convolution passes over channels-last tensors as implicit-GEMM problems:
// activations NHWC (x[n][h][w][c], dy[n][p][q][k]) and weights KRSC (w[k][r][s][c]). The GEMM's
// K runs over (filter position, channel) with the channel fastest, so that the operand rows
// are contiguous in memory along k, 16 bytes (4 channels) at a time:
//   forward      M = N*P*Q   N = K_out   K = R*S*C      A = x[n][ih][iw][c..c+3]  B = w[k][r][s][c..c+3]
//   grad-input   per stride phase: M = N * phase pixels, N = C, K = taps * K_out (k_out fastest)
//                A = dy[n][po][qo][ko..ko+3]   B = w_crsk[c][r][s][ko..ko+3]
//   grad-weight  M = R*S*C   N = K_out   K = N*P*Q      A = x[n][ih][iw][c] (M-fast)  B = dy[npq][k] (N-fast)
// Grad-input's B cannot be contiguous along k in KRSC (k_out is the outermost index there), so
// the weights are transposed once per call into CRSK (a small kernel, conv2d_nhwc.cu): both of
// its operands then read 16 contiguous bytes. Grad-weight sums over pixels, and both of its
// operands are channel-fast (M and N are channel indices): they cannot be k-contiguous in
// NHWC; its loaders read consecutive m / n per warp instead (coalesced as well): the
// register-staged one element by element, the cp.async one in chunks of 4 m or 4 n at one k.
//
// Each problem offers two interfaces:
//  - the element functors of implicit_gemm.cuh (a(m, k), b(k, n), store(m, n, v)), read by the
//    SIMT loop (strict fp32) and the register-staged tensor-core loop. Their index splits use
//    FastDivmod (no hardware division).
//  - for the cp.async loader (implicit_gemm_mma.cuh, run_async): cursors over 16-byte chunks
//    of 4 consecutive k of one row (forward, grad-input; grad-weight: 4 consecutive m or n at
//    one k). A cursor is built once per tile and row (the only place an index is split), and
//    stepped kMmaBK k at a time (twice per 32-deep pipeline stage) by adding, with a carry into
//    the filter position (TapCursor): no division in the main loop. Where stages_pair() (the
//    k-contiguous channel count a multiple of kAsyncBK), a stage never crosses a filter
//    position and the loop steps once per stage instead (a_step_stage, b_step_stage). The chunk path needs the k-contiguous channel count (C for forward, K_out for
//    grad-input) to be a multiple of 4, which also keeps every chunk inside one filter position
//    and 16-byte aligned; conv2d_nhwc.cu otherwise runs the element functors.
#pragma once
#include <cstdint>

#include "conv_problems.h"  // Dims, Phase1D, phase_1d, add_rn
#include "fast_divmod.h"
#include "mma_plan.h"  // kMmaBK

namespace ganops::cuda::conv::nhwc {

using mma::kAsyncBK;  // k per cp.async stage: what the paired cursors' step_stage() moves
using mma::kMmaBK;    // k per half-stage: what step() moves

// Position in a K ordered (t1, t2, ch) with ch fastest (ch_count a multiple of 4): the filter
// tap pair and the channel of one 16-byte chunk. start() splits once per tile; step() moves
// kMmaBK along k with additions and a carry.
struct TapCursor {
    int t1 = 0, t2 = 0, ch = 0;
    GANOPS_HD void start(int k, int ch_count, int t2_count) {
        const int t = k / ch_count;  // once per tile and row
        ch = k - t * ch_count;
        t1 = t / t2_count;
        t2 = t - t1 * t2_count;
    }
    GANOPS_HD void step(int ch_count, int t2_count) {
        ch += kMmaBK;
        while (ch >= ch_count) {  // at most once when ch_count >= kMmaBK
            ch -= ch_count;
            if (++t2 == t2_count) {
                t2 = 0;
                ++t1;
            }
        }
    }
    // A whole stage (kAsyncBK) at once, where ch_count is a multiple of kAsyncBK: the cursor's
    // channel stays below ch_count + kAsyncBK, so one carry without a loop.
    GANOPS_HD void step_stage(int ch_count, int t2_count) {
        ch += kAsyncBK;
        if (ch >= ch_count) {
            ch -= ch_count;
            if (++t2 == t2_count) {
                t2 = 0;
                ++t1;
            }
        }
    }
};

// The paired loop's cursors as an "optimized iterator" (implicit_gemm_mma.cuh's TapRowLoader):
// the chunks one thread copies all sit at the same k of their stage (their cursors differ in the
// row only), so the filter tap and channel are kept once per thread (TapOffset) and each row
// holds only its offset and, for an image operand, its window's origin (WindowRow). A stage
// then costs per row one addition for the address (and for an image operand two more and two
// compares for the bounds), and the tap moves once per thread and stage by deltas that depend
// on the tap only (TapWalk, built on the host: parameter-space constants in the loop).
struct TapOffset {
    int ch = 0, t2 = 0;  // channel in the tap, tap column
    int dy = 0, dx = 0;  // the tap's displacement in the image read (0 for a weight operand)
    int offset = 0;      // the tap's and channel's part of a chunk's offset, in elements
};
// A K ordered (t1, t2, ch) with ch fastest, channels a multiple of kAsyncBK: the offset of tap
// (t1, t2), channel ch is origin + t1 * row_stride + t2 * col_stride + ch.
struct TapWalk {
    int channels = 1, taps_x = 1;    // channels per tap, taps per filter row
    int dy = 0, dx = 0;              // the image displacement per filter row / column
    int row_stride = 0, col_stride = 0, origin = 0;
    int next_col = 0, next_row = 0;  // offset change from a tap's last stage to the next column's / row's first
    static TapWalk make(int channels, int taps_x, int dy, int dx, int row_stride, int col_stride, int origin) {
        return {channels, taps_x, dy, dx, row_stride, col_stride, origin, col_stride - channels,
                row_stride - (taps_x - 1) * col_stride - channels};
    }
    // Once per tile (the only division).
    GANOPS_HD TapOffset start(int k) const {
        TapCursor c;
        c.start(k, channels, taps_x);
        return {c.ch, c.t2, c.t1 * dy, c.t2 * dx, origin + c.t1 * row_stride + c.t2 * col_stride + c.ch};
    }
    // kAsyncBK on: the channel stays below channels + kAsyncBK, so at most one carry.
    GANOPS_HD void step_stage(TapOffset& t) const {
        t.ch += kAsyncBK;
        t.offset += kAsyncBK;
        if (t.ch >= channels) {
            t.ch -= channels;
            if (++t.t2 == taps_x) {
                t.t2 = 0;
                t.dx = 0;
                t.dy += dy;
                t.offset += next_row;
            } else {
                t.dx += dx;
                t.offset += next_col;
            }
        }
    }
};
// A row of an image operand: its offset at tap (0, 0), channel 0 (may be negative: the origin
// can lie in the padding), and that origin (y, x) in the image.
struct WindowRow {
    int base = 0, y = 0, x = 0;
    // A row past the problem: its origin lies so far outside that every tap misses the image,
    // so the bounds test covers it too (TapRowLoader then keeps no row bits for it).
    static constexpr bool kBoundsCoverRows = true;
    GANOPS_HD static WindowRow outside() { return {0, -(1 << 29), -(1 << 29)}; }
};
// A row of a weight (or other always-inside) operand.
struct PlainRow {
    int base = 0;
};

// Forward: y[n][p][q][k] = bias[k] + sum over (r, s, c) of x[n][ih][iw][c] * w[k][r][s][c].
struct ForwardNhwc {
    Dims d;
    FastDivmod pq_div, q_div, c_div, s_div;
    const float *x, *w, *bias;
    float* y;
    int64_t M, N, K;
    mma::OperandsTf32 operands_tf32{};  // A / B already TF32 values (set by the dispatch; mma_plan.h)
    ForwardNhwc(const Dims& dims, const float* x_, const float* w_, const float* bias_, float* y_)
        : d(dims), pq_div(dims.p * dims.q), q_div(dims.q), c_div(dims.c), s_div(dims.s), x(x_), w(w_), bias(bias_), y(y_),
          M(int64_t(dims.n) * dims.p * dims.q), N(dims.k), K(int64_t(dims.r) * dims.s * dims.c) {}

    GANOPS_HD float a(int64_t m, int64_t kk) const {
        int nb, pq, p, q, rs, c, r, s;
        pq_div.divmod(int(m), nb, pq);
        q_div.divmod(pq, p, q);
        c_div.divmod(int(kk), rs, c);
        s_div.divmod(rs, r, s);
        const int ih = p * d.sh - d.ph + r * d.dh, iw = q * d.sw - d.pw + s * d.dw;
        if (ih < 0 || ih >= d.h || iw < 0 || iw >= d.w) return 0.0f;
        return x[((int64_t(nb) * d.h + ih) * d.w + iw) * d.c + c];
    }
    GANOPS_HD float b(int64_t kk, int64_t n) const { return w[n * K + kk]; }
    GANOPS_HD void store(int64_t m, int64_t n, float v) const { y[m * N + n] = bias ? add_rn(v, bias[n]) : v; }

    // cp.async view. A: one output pixel's window origin and its image's base offset.
    struct ACursor {
        int image = 0, ih0 = 0, iw0 = 0;  // image = n*H*W*C (elements)
        TapCursor tap;
    };
    GANOPS_HD ACursor a_cursor(int64_t m, int64_t k) const {
        int nb, pq, p, q;
        pq_div.divmod(int(m), nb, pq);
        q_div.divmod(pq, p, q);
        ACursor cur{nb * d.h * d.w * d.c, p * d.sh - d.ph, q * d.sw - d.pw, {}};
        cur.tap.start(int(k), d.c, d.s);
        return cur;
    }
    GANOPS_HD const float* a_chunk(const ACursor& cur) const {
        const int ih = cur.ih0 + cur.tap.t1 * d.dh, iw = cur.iw0 + cur.tap.t2 * d.dw;
        if (ih < 0 || ih >= d.h || iw < 0 || iw >= d.w) return nullptr;
        return x + (cur.image + (ih * d.w + iw) * d.c + cur.tap.ch);  // 32-bit offset, one 64-bit add
    }
    GANOPS_HD void a_step(ACursor& cur) const { cur.tap.step(d.c, d.s); }
    GANOPS_HD void a_step_stage(ACursor& cur) const { cur.tap.step_stage(d.c, d.s); }
    // B: the weight row of output channel n is contiguous along k.
    struct BCursor {
        int offset = 0;
    };
    GANOPS_HD BCursor b_cursor(int64_t n, int64_t k) const { return {int(n * K + k)}; }
    GANOPS_HD const float* b_chunk(const BCursor& cur) const { return w + cur.offset; }
    GANOPS_HD void b_step(BCursor& cur) const { cur.offset += kMmaBK; }
    GANOPS_HD void b_step_stage(BCursor& cur) const { cur.offset += kAsyncBK; }
    // Paired chunks (implicit_gemm_mma.cuh): with C a multiple of kAsyncBK, a stage that starts
    // at a multiple of kAsyncBK lies inside one filter position, so each row's chunk kMmaBK
    // further is kMmaBK floats further, equally in or out of the image (the weights always).
    GANOPS_HD bool stages_pair() const { return d.c % kAsyncBK == 0; }
    // The paired loop's rows and tap (TapRowLoader): A's window moves (dh, dw) per tap, the
    // weights' offset kAsyncBK per stage.
    TapWalk a_walk = TapWalk::make(d.c, d.s, d.dh, d.dw, d.dh * d.w * d.c, d.dw * d.c, 0);
    GANOPS_HD WindowRow a_row(int64_t m) const {
        int nb, pq, p, q;
        pq_div.divmod(int(m), nb, pq);
        q_div.divmod(pq, p, q);
        const int y = p * d.sh - d.ph, x0 = q * d.sw - d.pw;
        return {nb * d.h * d.w * d.c + (y * d.w + x0) * d.c, y, x0};
    }
    GANOPS_HD TapOffset a_tap(int64_t k) const { return a_walk.start(int(k)); }
    GANOPS_HD void a_tap_step(TapOffset& t) const { a_walk.step_stage(t); }
    GANOPS_HD bool a_inside(const WindowRow& r, const TapOffset& t) const {
        return unsigned(r.y + t.dy) < unsigned(d.h) && unsigned(r.x + t.dx) < unsigned(d.w);
    }
    GANOPS_HD PlainRow b_row(int64_t n) const { return {int(n * K)}; }
    GANOPS_HD TapOffset b_tap(int64_t k) const { return {0, 0, 0, 0, int(k)}; }
    GANOPS_HD void b_tap_step(TapOffset& t) const { t.offset += kAsyncBK; }
    GANOPS_HD bool b_inside(const PlainRow&, const TapOffset&) const { return true; }
    // Chunks of 4 k stay inside one filter position and are 16-byte aligned.
    static bool chunks_ok(const Dims& dims) { return dims.c % 4 == 0; }
    // Sources of the zero-filling copies, which read nothing but need an address.
    GANOPS_HD const float* a_any() const { return x; }
    GANOPS_HD const float* b_any() const { return w; }
};

// One stride phase of grad-input (conv_problems.h's Phase1D): the phase's input pixels
// (nb, i, j) receive dy[nb][po][qo][ko] through the phase's taps (tr, ts):
// po = rows.out0 + i - tr * rows.out_step, qo likewise. K = (tr, ts, ko), ko fastest.
// B reads the weights transposed to CRSK (w_crsk[c][r][s][ko]).
struct BackwardInputPhaseNhwc {
    Dims d;
    Phase1D rows, cols;
    FastDivmod ij_div, j_div, ko_div, ts_div;
    const float *dy, *w_crsk;
    float* dx;
    int64_t M, N, K;
    mma::OperandsTf32 operands_tf32{};  // A / B already TF32 values (set by the dispatch; mma_plan.h)
    BackwardInputPhaseNhwc(const Dims& dims, const Phase1D& rows_, const Phase1D& cols_, const float* dy_,
                           const float* w_crsk_, float* dx_)
        : d(dims), rows(rows_), cols(cols_), ij_div(std::max(1, rows_.count * cols_.count)), j_div(std::max(1, cols_.count)),
          ko_div(dims.k), ts_div(std::max(1, cols_.taps)), dy(dy_), w_crsk(w_crsk_), dx(dx_),
          M(int64_t(dims.n) * rows_.count * cols_.count), N(dims.c), K(int64_t(rows_.taps) * cols_.taps * dims.k) {}

    GANOPS_HD float a(int64_t m, int64_t kk) const {
        int nb, ij, i, j, t, ko, tr, ts;
        ij_div.divmod(int(m), nb, ij);
        j_div.divmod(ij, i, j);
        ko_div.divmod(int(kk), t, ko);
        ts_div.divmod(t, tr, ts);
        const int po = rows.out0 + i - tr * rows.out_step, qo = cols.out0 + j - ts * cols.out_step;
        if (po < 0 || po >= d.p || qo < 0 || qo >= d.q) return 0.0f;
        return dy[((int64_t(nb) * d.p + po) * d.q + qo) * d.k + ko];
    }
    GANOPS_HD int weight_offset(int tr, int ts, int c) const {
        const int r = rows.tap0 + tr * rows.tap_step, s = cols.tap0 + ts * cols.tap_step;
        return ((c * d.r + r) * d.s + s) * d.k;
    }
    GANOPS_HD float b(int64_t kk, int64_t n) const {
        int t, ko, tr, ts;
        ko_div.divmod(int(kk), t, ko);
        ts_div.divmod(t, tr, ts);
        return w_crsk[weight_offset(tr, ts, int(n)) + ko];
    }
    GANOPS_HD void store(int64_t m, int64_t n, float v) const {
        int nb, ij, i, j;
        ij_div.divmod(int(m), nb, ij);
        j_div.divmod(ij, i, j);
        const int h = rows.first + i * d.sh, wi = cols.first + j * d.sw;
        dx[((int64_t(nb) * d.h + h) * d.w + wi) * d.c + n] = v;
    }

    struct ACursor {
        int image = 0, po0 = 0, qo0 = 0;  // image = nb*P*Q*K_out; (po0, qo0): the pixel's output through tap 0
        TapCursor tap;
    };
    GANOPS_HD ACursor a_cursor(int64_t m, int64_t k) const {
        int nb, ij, i, j;
        ij_div.divmod(int(m), nb, ij);
        j_div.divmod(ij, i, j);
        ACursor cur{nb * d.p * d.q * d.k, rows.out0 + i, cols.out0 + j, {}};
        cur.tap.start(int(k), d.k, cols.taps);
        return cur;
    }
    GANOPS_HD const float* a_chunk(const ACursor& cur) const {
        const int po = cur.po0 - cur.tap.t1 * rows.out_step, qo = cur.qo0 - cur.tap.t2 * cols.out_step;
        if (po < 0 || po >= d.p || qo < 0 || qo >= d.q) return nullptr;
        return dy + (cur.image + (po * d.q + qo) * d.k + cur.tap.ch);
    }
    GANOPS_HD void a_step(ACursor& cur) const { cur.tap.step(d.k, cols.taps); }
    GANOPS_HD void a_step_stage(ACursor& cur) const { cur.tap.step_stage(d.k, cols.taps); }
    struct BCursor {
        int c = 0;
        TapCursor tap;
    };
    GANOPS_HD BCursor b_cursor(int64_t n, int64_t k) const {
        BCursor cur{int(n), {}};
        cur.tap.start(int(k), d.k, cols.taps);
        return cur;
    }
    GANOPS_HD const float* b_chunk(const BCursor& cur) const {
        return w_crsk + (weight_offset(cur.tap.t1, cur.tap.t2, cur.c) + cur.tap.ch);
    }
    GANOPS_HD void b_step(BCursor& cur) const { cur.tap.step(d.k, cols.taps); }
    GANOPS_HD void b_step_stage(BCursor& cur) const { cur.tap.step_stage(d.k, cols.taps); }
    // Paired chunks: K_out a multiple of kAsyncBK keeps an aligned stage inside one tap (A's
    // output pixel and B's weight position fixed, ko contiguous).
    GANOPS_HD bool stages_pair() const { return d.k % kAsyncBK == 0; }
    // The paired loop's rows and tap (TapRowLoader): A's output pixel moves back
    // (rows.out_step, cols.out_step) per tap, B's weight position (tap_step) forward.
    TapWalk a_walk = TapWalk::make(d.k, cols.taps, -rows.out_step, -cols.out_step, -rows.out_step * d.q * d.k,
                                   -cols.out_step * d.k, 0);
    TapWalk b_walk = TapWalk::make(d.k, cols.taps, 0, 0, rows.tap_step * d.s * d.k, cols.tap_step * d.k,
                                   (rows.tap0 * d.s + cols.tap0) * d.k);
    GANOPS_HD WindowRow a_row(int64_t m) const {
        int nb, ij, i, j;
        ij_div.divmod(int(m), nb, ij);
        j_div.divmod(ij, i, j);
        const int y = rows.out0 + i, x0 = cols.out0 + j;
        return {nb * d.p * d.q * d.k + (y * d.q + x0) * d.k, y, x0};
    }
    GANOPS_HD TapOffset a_tap(int64_t k) const { return a_walk.start(int(k)); }
    GANOPS_HD void a_tap_step(TapOffset& t) const { a_walk.step_stage(t); }
    GANOPS_HD bool a_inside(const WindowRow& r, const TapOffset& t) const {
        return unsigned(r.y + t.dy) < unsigned(d.p) && unsigned(r.x + t.dx) < unsigned(d.q);
    }
    GANOPS_HD PlainRow b_row(int64_t c) const { return {int(c) * d.r * d.s * d.k}; }
    GANOPS_HD TapOffset b_tap(int64_t k) const { return b_walk.start(int(k)); }
    GANOPS_HD void b_tap_step(TapOffset& t) const { b_walk.step_stage(t); }
    GANOPS_HD bool b_inside(const PlainRow&, const TapOffset&) const { return true; }
    static bool chunks_ok(const Dims& dims) { return dims.k % 4 == 0; }
    GANOPS_HD const float* a_any() const { return dy; }
    GANOPS_HD const float* b_any() const { return w_crsk; }
};

// Grad-input when the output is one pixel (conv_problems.h's BackwardInputFromPixel): every
// input pixel (h, w) meets it through at most one tap. M = H*W*C (dx's inner dimensions in
// NHWC order, contiguous), N = batch, K = K_out: A(m, ko) = w_crsk[c][r][s][ko] (zero where
// no tap reaches), B(ko, n) = dy[n][ko]; both k-contiguous.
struct BackwardInputFromPixelNhwc {
    Dims d;
    FastDivmod c_div, w_div;
    const float *dy, *w_crsk;
    float* dx;
    int64_t M, N, K;
    BackwardInputFromPixelNhwc(const Dims& dims, const float* dy_, const float* w_crsk_, float* dx_)
        : d(dims), c_div(dims.c), w_div(dims.w), dy(dy_), w_crsk(w_crsk_), dx(dx_), M(int64_t(dims.h) * dims.w * dims.c),
          N(dims.n), K(dims.k) {}

    // Offset of row m's weights in w_crsk, or -1 where no tap reaches pixel (h, w).
    GANOPS_HD int row_offset(int m) const {
        int hw, c, h, wi;
        c_div.divmod(m, hw, c);
        w_div.divmod(hw, h, wi);
        const int r_num = h + d.ph, s_num = wi + d.pw;
        if (r_num % d.dh || s_num % d.dw) return -1;  // once per tile on the chunk path
        const int r = r_num / d.dh, s = s_num / d.dw;
        if (r >= d.r || s >= d.s) return -1;
        return ((c * d.r + r) * d.s + s) * d.k;
    }
    GANOPS_HD float a(int64_t m, int64_t ko) const {
        const int off = row_offset(int(m));
        return off < 0 ? 0.0f : w_crsk[off + ko];
    }
    GANOPS_HD float b(int64_t ko, int64_t n) const { return dy[n * K + ko]; }
    GANOPS_HD void store(int64_t m, int64_t n, float v) const { dx[n * M + m] = v; }

    struct Cursor {
        int offset = 0;  // -1: a row of zeros
    };
    GANOPS_HD Cursor a_cursor(int64_t m, int64_t k) const {
        const int off = row_offset(int(m));
        return {off < 0 ? -1 : off + int(k)};
    }
    GANOPS_HD const float* a_chunk(const Cursor& cur) const { return cur.offset < 0 ? nullptr : w_crsk + cur.offset; }
    GANOPS_HD void a_step(Cursor& cur) const {
        if (cur.offset >= 0) cur.offset += kMmaBK;
    }
    GANOPS_HD void a_step_stage(Cursor& cur) const {
        if (cur.offset >= 0) cur.offset += kAsyncBK;
    }
    GANOPS_HD Cursor b_cursor(int64_t n, int64_t k) const { return {int(n * K + k)}; }
    GANOPS_HD const float* b_chunk(const Cursor& cur) const { return dy + cur.offset; }
    GANOPS_HD void b_step(Cursor& cur) const { cur.offset += kMmaBK; }
    GANOPS_HD void b_step_stage(Cursor& cur) const { cur.offset += kAsyncBK; }
    // Paired chunks: both operands' rows are contiguous along all of K.
    GANOPS_HD bool stages_pair() const { return true; }
    static bool chunks_ok(const Dims& dims) { return dims.k % 4 == 0; }
    // Capped at 128 registers (two blocks per SM), ptxas spills in the 128 x 128 tile's main
    // loop (nvcc 13, sm_90): one block per SM, 8 warps (implicit_gemm_mma.cuh).
    static constexpr int kAsyncMinBlocks = 1;
    GANOPS_HD const float* a_any() const { return w_crsk; }
    GANOPS_HD const float* b_any() const { return dy; }
    using ACursor = Cursor;
    using BCursor = Cursor;
};

// Grad-weight: dw[k][r][s][c] = sum over (n, p, q) of dy[n][p][q][k] * x[n][ih][iw][c].
// M = R*S*C (dw's inner dimensions, so the store is contiguous along m), N = K_out, K = N*P*Q;
// split-K with a deterministic reduction (implicit_gemm_mma.cuh / implicit_gemm.cuh). The
// cp.async pipeline reads its chunks along m and n (x's and dy's channels), not along k.
struct BackwardWeightNhwc {
    Dims d;
    FastDivmod c_div, s_div, pq_div, q_div;
    const float *dy, *x;
    float* dw;
    int64_t M, N, K;
    mma::OperandsTf32 operands_tf32{};  // A / B already TF32 values (set by the dispatch; mma_plan.h)
    BackwardWeightNhwc(const Dims& dims, const float* dy_, const float* x_, float* dw_)
        : d(dims), c_div(dims.c), s_div(dims.s), pq_div(dims.p * dims.q), q_div(dims.q), dy(dy_), x(x_), dw(dw_),
          M(int64_t(dims.r) * dims.s * dims.c), N(dims.k), K(int64_t(dims.n) * dims.p * dims.q) {
        split_step();
        split_run_step();
    }

    GANOPS_HD float a(int64_t m, int64_t kk) const {
        int rs, c, r, s, nb, pq, p, q;
        c_div.divmod(int(m), rs, c);
        s_div.divmod(rs, r, s);
        pq_div.divmod(int(kk), nb, pq);
        q_div.divmod(pq, p, q);
        const int ih = p * d.sh - d.ph + r * d.dh, iw = q * d.sw - d.pw + s * d.dw;
        if (ih < 0 || ih >= d.h || iw < 0 || iw >= d.w) return 0.0f;
        return x[((int64_t(nb) * d.h + ih) * d.w + iw) * d.c + c];
    }
    GANOPS_HD float b(int64_t kk, int64_t n) const { return dy[kk * N + n]; }
    GANOPS_HD void store(int64_t m, int64_t n, float v) const { dw[n * M + m] = v; }

    // cp.async view, chunks along m and n (implicit_gemm_mma.cuh): a chunk is 4 consecutive m
    // (channels c..c+3 of one filter tap, contiguous in x) or 4 consecutive n (output channels,
    // contiguous in dy) at one k, i.e. one output pixel (nb, p, q). A cursor steps kMmaBK pixels
    // by a mixed-radix add: kMmaBK = step_n images + step_p rows + step_q columns, split once
    // here, so each step carries at most once per digit.
    static constexpr bool kChunksAlongK = false;
    int step_n = 0, step_p = 0, step_q = 0;
    void split_step() {
        const int pq = d.p * d.q, rem = kMmaBK % pq;
        step_n = kMmaBK / pq;
        step_p = rem / d.q;
        step_q = rem % d.q;
    }
    struct PixelCursor {
        int nb = 0, p = 0, q = 0;
    };
    GANOPS_HD PixelCursor pixel(int64_t k) const {
        int nb, pq, p, q;
        pq_div.divmod(int(k), nb, pq);
        q_div.divmod(pq, p, q);
        return {nb, p, q};
    }
    GANOPS_HD void step_pixel(PixelCursor& c) const {
        c.q += step_q;
        c.p += step_p;
        c.nb += step_n;
        if (c.q >= d.q) {
            c.q -= d.q;
            ++c.p;
        }
        if (c.p >= d.p) {
            c.p -= d.p;
            ++c.nb;
        }
    }
    // A: x at the pixel's input position for filter tap (r, s); ih_off / iw_off the tap's offsets.
    struct ACursor {
        PixelCursor px;
        int ih_off = 0, iw_off = 0, c = 0;
    };
    GANOPS_HD ACursor a_cursor(int64_t m, int64_t k) const {
        int rs, c, r, s;
        c_div.divmod(int(m), rs, c);
        s_div.divmod(rs, r, s);
        return {pixel(k), r * d.dh - d.ph, s * d.dw - d.pw, c};
    }
    GANOPS_HD const float* a_chunk(const ACursor& cur) const {
        const int ih = cur.px.p * d.sh + cur.ih_off, iw = cur.px.q * d.sw + cur.iw_off;
        if (ih < 0 || ih >= d.h || iw < 0 || iw >= d.w) return nullptr;
        return x + ((cur.px.nb * d.h + ih) * d.w + iw) * d.c + cur.c;
    }
    GANOPS_HD void a_step(ACursor& cur) const { step_pixel(cur.px); }
    // B: dy's row of pixel k is contiguous along n.
    struct BCursor {
        int offset = 0;
    };
    GANOPS_HD BCursor b_cursor(int64_t n, int64_t k) const { return {int(k * N + n)}; }
    GANOPS_HD const float* b_chunk(const BCursor& cur) const { return dy + cur.offset; }
    GANOPS_HD void b_step(BCursor& cur) const { cur.offset += kMmaBK * int(N); }
    // Chunks of 4 m stay inside one filter tap and 4 n inside dy's row, 16-byte aligned.
    static bool chunks_ok(const Dims& dims) { return dims.c % 4 == 0 && dims.k % 4 == 0; }
    GANOPS_HD const float* a_any() const { return x; }
    GANOPS_HD const float* b_any() const { return dy; }

    // Pixel runs (implicit_gemm_mma.cuh's PixelRunLoader): a thread copies, per stage, one row
    // quad (4 channels of one filter tap for A, 4 output channels for B) at `run` consecutive
    // pixels. Where those pixels lie in one output row (Q a multiple of the run, the tile's K
    // range starting at a multiple of kAsyncBK), A's chunks differ only by the column: one pixel
    // state per thread, stepped kAsyncBK pixels once per stage by additions with at most one carry
    // per digit (deltas built on the host), and per chunk one column bounds test and one
    // offset. B (dy, pixel-major rows of N) is one offset per thread, kAsyncBK * N on per stage.
    GANOPS_HD bool pixel_runs(int run) const { return d.q % run == 0; }
    // A row quad's part: its tap's displacement in the image and its offset (tap and channel).
    struct ARunRow {
        int offset = 0, dh = 0, dw = 0;
    };
    GANOPS_HD ARunRow a_run_row(int64_t m) const {
        int rs, c, r, s;
        c_div.divmod(int(m), rs, c);
        s_div.divmod(rs, r, s);
        return {(r * d.dh * d.w + s * d.dw) * d.c + c, r * d.dh, s * d.dw};
    }
    // A pixel's window origin (ih0, iw0: padding included, may be negative) and the offset of
    // that origin's channel 0 in x (may be negative too; an inside chunk's is not).
    struct ARunPixel {
        int offset = 0, ih0 = 0, iw0 = 0;
    };
    GANOPS_HD ARunPixel a_run_pixel(int64_t k) const {
        const PixelCursor px = pixel(k);
        const int ih0 = px.p * d.sh - d.ph, iw0 = px.q * d.sw - d.pw;
        return {((px.nb * d.h + ih0) * d.w + iw0) * d.c, ih0, iw0};
    }
    // kAsyncBK pixels on: run_step's images, rows and columns, then a carry from the columns
    // into the rows and from the rows into the images (each digit's step below its radix).
    struct RunStep {
        int ih = 0, iw = 0, offset = 0;           // the step itself
        int iw_end = 0, iw_wrap = 0, off_row = 0;  // a column carry: iw0 >= iw_end
        int ih_end = 0, ih_wrap = 0, off_img = 0;  // a row carry: ih0 >= ih_end
        int col_offset = 0;                        // one pixel to the right, in x
    } run_step;
    void split_run_step() {
        const int pq = d.p * d.q, rem = kAsyncBK % pq;
        const int sn = kAsyncBK / pq, sp = rem / d.q, sq = rem % d.q;
        run_step.ih = sp * d.sh;
        run_step.iw = sq * d.sw;
        run_step.offset = ((sn * d.h + sp * d.sh) * d.w + sq * d.sw) * d.c;
        run_step.iw_end = d.q * d.sw - d.pw;
        run_step.iw_wrap = d.q * d.sw;
        run_step.off_row = (d.sh * d.w - d.q * d.sw) * d.c;
        run_step.ih_end = d.p * d.sh - d.ph;
        run_step.ih_wrap = d.p * d.sh;
        run_step.off_img = (d.h - d.p * d.sh) * d.w * d.c;
        run_step.col_offset = d.sw * d.c;
    }
    GANOPS_HD void a_run_step(ARunPixel& px) const {
        px.ih0 += run_step.ih;
        px.iw0 += run_step.iw;
        px.offset += run_step.offset;
        if (px.iw0 >= run_step.iw_end) {
            px.iw0 -= run_step.iw_wrap;
            px.ih0 += d.sh;
            px.offset += run_step.off_row;
        }
        if (px.ih0 >= run_step.ih_end) {
            px.ih0 -= run_step.ih_wrap;
            px.offset += run_step.off_img;
        }
    }
    // One stage's chunks of a row quad: the first chunk's offset and column, the row test.
    struct ARunChunks {
        int offset = 0, iw = 0;
        bool row_inside = false;
    };
    GANOPS_HD ARunChunks a_run_chunks(const ARunRow& row, const ARunPixel& px) const {
        return {px.offset + row.offset, px.iw0 + row.dw, unsigned(px.ih0 + row.dh) < unsigned(d.h)};
    }
    GANOPS_HD bool a_run_inside(const ARunChunks& c, int j) const {
        return c.row_inside & (unsigned(c.iw + j * d.sw) < unsigned(d.w));
    }
    GANOPS_HD int a_run_offset(const ARunChunks& c, int j) const { return c.offset + j * run_step.col_offset; }
    // B: dy[k][n..n+3], no padding (a row quad past N is never copied: the loader's k limit).
    struct BRunRow {
        int n = 0;
    };
    GANOPS_HD BRunRow b_run_row(int64_t n) const { return {int(n)}; }
    struct BRunPixel {
        int offset = 0;
    };
    GANOPS_HD BRunPixel b_run_pixel(int64_t k) const { return {int(k * N)}; }
    GANOPS_HD void b_run_step(BRunPixel& px) const { px.offset += kAsyncBK * int(N); }
    struct BRunChunks {
        int offset = 0;
    };
    GANOPS_HD BRunChunks b_run_chunks(const BRunRow& row, const BRunPixel& px) const { return {px.offset + row.n}; }
    GANOPS_HD bool b_run_inside(const BRunChunks&, int) const { return true; }
    GANOPS_HD int b_run_offset(const BRunChunks& c, int j) const { return c.offset + j * int(N); }
};

// The grad-input problems in the order they run (as conv_problems.h's
// for_each_backward_input_problem): the one-pixel product where it applies, else every phase.
template <class Run>
void for_each_backward_input_problem(const Dims& d, const float* dy, const float* w_crsk, float* dx, Run&& run) {
    if (d.p == 1 && d.q == 1) {
        run(BackwardInputFromPixelNhwc(d, dy, w_crsk, dx));
        return;
    }
    for (int residue_h = 0; residue_h < d.sh; ++residue_h)
        for (int residue_w = 0; residue_w < d.sw; ++residue_w)
            run(BackwardInputPhaseNhwc(d, phase_1d(d.h, d.r, d.sh, d.ph, d.dh, residue_h),
                                       phase_1d(d.w, d.s, d.sw, d.pw, d.dw, residue_w), dy, w_crsk, dx));
}

}  // namespace ganops::cuda::conv::nhwc
