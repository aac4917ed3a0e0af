// batchnorm2d + leaky_relu fused (batchnorm2d_activation.h), NCHW and channels-last.
//
// Both reductions (the forward's statistics, the backward's two sums) are one kernel over the
// data with a per-element term, in two layouts:
//  - planes (NCHW, hw > 1): a block per (channel, split); a channel is n runs of hw floats, and
//    a split is a contiguous range of its 16-byte vectors, so a warp reads 512 consecutive bytes
//    (or whole runs);
//  - rows (channels-last, hw == 1): x is [rows, c]; a block's threads take consecutive 16-byte
//    vectors of a row (4 channels each), so a warp reads 512 consecutive bytes of one or more
//    rows, and each thread walks its columns down the split's rows.
// Four values of a channel (one vector in planes, four rows in rows) are added in float (the
// 4-term rounding is far below the tolerance of anything that reads the statistics), then in
// double per thread, then across the block in a fixed order; one partial per (split, channel),
// merged in split order by a thread per channel. Bit-reproducible. Vectors are 4 floats when
// the runs (NCHW) or rows (channels-last) are a multiple of 4 and every pointer is 16-byte
// aligned, else 1. The plan (splits, vector width) is batchnorm_activation_plan.h.
//
// The statistics are shifted sums: sum(x - s) and sum((x - s)^2) with s the channel's first
// value, so var = E[(x-s)^2] - E[x-s]^2 cancels only as far as the mean sits from a sample of
// the channel (a few standard deviations), not from zero: one read of x, and half a double add
// per value instead of Welford's division. A channel whose first value sits k standard
// deviations from its mean loses about 2 log10(k) digits of its variance: 1e-4 relative at
// k = 1000 (fine for a convolution's output; not for data built to defeat it).
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "../../core/error.h"
#include "../../core/tensor.h"
#include "batchnorm2d_activation.h"
#include "batchnorm_activation_plan.h"
#include "fast_divmod.h"
#include "launch.cuh"
#include "tf32_store.h"
#include "ptx.cuh"

namespace ganops::cuda {

namespace {

struct SumPair {
    double a, b;
};

// 16-byte accesses (LDG.E.128 / STG.E.128 on the GPU). In the emulated build a float4 copy
// would become four 4-byte accesses (the profiling build turns GCC's vectoriser and store
// merging off), which the profiling mode would count as four instructions with a 16-byte
// stride; a 16-byte integer is one access there too.
#if defined(GANOPS_EMULATED)
typedef unsigned __int128 __attribute__((may_alias)) Bits128;
#endif

template <int V>
__device__ inline void load(const float* p, float (&v)[V]) {
    if constexpr (V == 4) {
#if defined(GANOPS_EMULATED)
        const Bits128 bits = *reinterpret_cast<const Bits128*>(p);
        std::memcpy(v, &bits, sizeof bits);
#else
        const float4 q = *reinterpret_cast<const float4*>(p);
        v[0] = q.x;
        v[1] = q.y;
        v[2] = q.z;
        v[3] = q.w;
#endif
    } else {
        v[0] = *p;
    }
}

template <int V>
__device__ inline void store(float* p, const float (&v)[V]) {
    if constexpr (V == 4) {
#if defined(GANOPS_EMULATED)
        Bits128 bits;
        std::memcpy(&bits, v, sizeof bits);
        *reinterpret_cast<Bits128*>(p) = bits;
#else
        *reinterpret_cast<float4*>(p) = make_float4(v[0], v[1], v[2], v[3]);
#endif
    } else {
        *p = v[0];
    }
}

// The two terms of one value. Statistics: x - s and its square. Gradients: dz = dy times the
// activation's derivative (1 where y > 0, the slope elsewhere: y > 0 exactly where the
// normalised value is, for slope >= 0), and dz * (x - mean).
template <bool Grad>
__device__ inline void terms(float x, float dy, float y, float centre, float slope, float& a, float& b) {
    if constexpr (Grad) {
        const float dz = y > 0.0f ? dy : __fmul_rn(dy, slope);
        a = dz;
        b = __fmul_rn(dz, __fsub_rn(x, centre));
    } else {
        a = __fsub_rn(x, centre);
        b = __fmul_rn(a, a);
    }
}

// The operands of a reduction: x always, dy and y for the gradients; the centre of channel ch
// is centre[ch * centre_stride] (the channel's first value of x, or its mean).
struct SumInputs {
    const float* x;
    const float* dy;
    const float* y;
    const float* centre;
    int64_t centre_stride;
    float slope;
};

template <bool Grad, int V>
__device__ inline void vector_terms(const SumInputs& in, int64_t k, const float (&centre)[V], float (&a)[V],
                                    float (&b)[V]) {
    float x[V], dy[V] = {}, y[V] = {};
    load<V>(in.x + k, x);
    if constexpr (Grad) {
        load<V>(in.dy + k, dy);
        load<V>(in.y + k, y);
    }
    for (int l = 0; l < V; ++l) terms<Grad>(x[l], dy[l], y[l], centre[l], in.slope, a[l], b[l]);
}

// planes: grid (channels, splits); split s of channel ch covers its vectors [s, s+1) * per_split.
template <bool Grad, int V>
__global__ void plane_sums_kernel(SumInputs in, int64_t channels, int64_t hw, FastDivmod run_vectors,
                                  int64_t vectors, int64_t per_split, SumPair* partials) {
    const int64_t ch = blockIdx.x;
    const float c0 = in.centre[ch * in.centre_stride];
    float centre[V];
    for (int l = 0; l < V; ++l) centre[l] = c0;
    const int64_t begin = blockIdx.y * per_split, end = begin + per_split < vectors ? begin + per_split : vectors;
    double s_a = 0, s_b = 0;
    for (int64_t j = begin + threadIdx.x; j < end; j += blockDim.x) {
        int row, col;
        run_vectors.divmod(int(j), row, col);
        const int64_t k = (row * channels + ch) * hw + int64_t(col) * V;
        float a[V], b[V];
        vector_terms<Grad, V>(in, k, centre, a, b);
        float sa = a[0], sb = b[0];
        if constexpr (V == 4) {
            sa = __fadd_rn(__fadd_rn(a[0], a[1]), __fadd_rn(a[2], a[3]));
            sb = __fadd_rn(__fadd_rn(b[0], b[1]), __fadd_rn(b[2], b[3]));
        }
        s_a += sa;
        s_b += sb;
    }
    s_a = block_sum(s_a);
    s_b = block_sum(s_b);
    if (threadIdx.x == 0) partials[blockIdx.y * channels + ch] = {s_a, s_b};
}

// rows: x is [rows, channels]; a block takes `chunk` vector columns (grid x) and a split of the
// rows (grid y). Thread t reads column t % chunk of rows t / chunk, t / chunk + row_lanes, ...
template <bool Grad, int V>
__global__ void row_sums_kernel(SumInputs in, int64_t rows, int64_t channels, int chunk, int64_t per_split,
                                SumPair* partials) {
    // Thread t's sums at [l][t]; the row of 4 pads puts [l][c] of four l in distinct banks, so
    // that the merge's reads (lanes on consecutive (c, l)) are conflict-free as the stores are.
    __shared__ double shared_a[4][kThreads + 4], shared_b[4][kThreads + 4];
    static_assert(kThreads == kBnActThreads, "the plan assumes the library's block size");
    const int row_lanes = kThreads / chunk;
    const int t = threadIdx.x, lane_col = t % chunk, lane_row = t / chunk;
    const int64_t col = int64_t(blockIdx.x) * chunk + lane_col, first = col * V;
    const bool active = lane_row < row_lanes && first < channels;
    const int64_t begin = blockIdx.y * per_split, end = begin + per_split < rows ? begin + per_split : rows;
    double s_a[V] = {}, s_b[V] = {};
    if (active) {
        float centre[V];
        load<V>(in.centre + first, centre);  // rows: the centres are x's first row or the mean, stride 1
        // Four rows at a time in float, then into double: one double add per value and sum
        // would make the fp64 units the bound (an H100 SM has half as many as fp32 ones).
        for (int64_t r = begin + lane_row; r < end;) {
            float f_a[V] = {}, f_b[V] = {};
            for (int u = 0; u < 4 && r < end; ++u, r += row_lanes) {
                float a[V], b[V];
                vector_terms<Grad, V>(in, r * channels + first, centre, a, b);
                for (int l = 0; l < V; ++l) {
                    f_a[l] = __fadd_rn(f_a[l], a[l]);
                    f_b[l] = __fadd_rn(f_b[l], b[l]);
                }
            }
            for (int l = 0; l < V; ++l) {
                s_a[l] += f_a[l];
                s_b[l] += f_b[l];
            }
        }
    }
    for (int l = 0; l < V; ++l) {
        shared_a[l][t] = s_a[l];
        shared_b[l][t] = s_b[l];
    }
    __syncthreads();
    // The block's chunk * V channels, one per thread (consecutive threads, consecutive channels:
    // coalesced stores), each the sum of its row lanes in order.
    const int64_t block_first = int64_t(blockIdx.x) * chunk * V;
    for (int e = t; e < chunk * V && block_first + e < channels; e += kThreads) {
        const int c = e / V, l = e % V;
        double a = shared_a[l][c], b = shared_b[l][c];
        for (int w = 1; w < row_lanes; ++w) {
            a += shared_a[l][w * chunk + c];
            b += shared_b[l][w * chunk + c];
        }
        partials[blockIdx.y * channels + block_first + e] = {a, b};
    }
}

// The per-channel finishing kernels merge `splits` partials per channel (up to 256 when a
// channels-last block spans every channel): a block takes 8 channels, and 32 lanes per channel
// each add every 32nd split (a warp reads 4 splits x 8 channels: four 128-byte segments), then
// lane 0 of each channel adds the 32 lane totals in order. Returns true in that thread, with
// the channel's totals.
constexpr int kFinishChannels = 8, kFinishLanes = kThreads / kFinishChannels;

__device__ inline bool channel_totals(const SumPair* partials, int splits, int64_t channels, int64_t& c, double& a,
                                      double& b) {
    __shared__ double lane_a[kFinishLanes][kFinishChannels], lane_b[kFinishLanes][kFinishChannels];
    const int cl = threadIdx.x % kFinishChannels, lane = threadIdx.x / kFinishChannels;
    c = blockIdx.x * int64_t(kFinishChannels) + cl;
    double t_a = 0, t_b = 0;
    if (c < channels)
        for (int s = lane; s < splits; s += kFinishLanes) {
            t_a += partials[s * channels + c].a;
            t_b += partials[s * channels + c].b;
        }
    lane_a[lane][cl] = t_a;
    lane_b[lane][cl] = t_b;
    __syncthreads();
    if (lane != 0 || c >= channels) return false;
    a = lane_a[0][cl];
    b = lane_b[0][cl];
    for (int l = 1; l < kFinishLanes; ++l) {
        a += lane_a[l][cl];
        b += lane_b[l][cl];
    }
    return true;
}

int finish_blocks(int64_t channels) { return static_cast<int>((channels + kFinishChannels - 1) / kFinishChannels); }

// Per channel: the statistics from the shifted sums, the running-statistics update,
// and the map y = leaky_relu((x - centre) * scale + shift) of the apply pass. The centre is the
// mean rounded to float; shift carries the rounding ((mean - centre) * scale), so a mean far
// from zero costs no accuracy. affine holds three rows of `channels`: centre, scale, shift.
__global__ void finish_statistics_kernel(const SumPair* partials, int splits, int64_t channels, const float* x,
                                         int64_t hw, double count, double eps, double momentum, const float* weight,
                                         const float* bias, float* mean, float* invstd, float* running_mean,
                                         float* running_var, float* affine) {
    int64_t c;
    double s_a, s_b;
    if (!channel_totals(partials, splits, channels, c, s_a, s_b)) return;
    const double d = s_a / count, m = double(x[c * hw]) + d;
    const double var = max(s_b / count - d * d, 0.0), inv = 1.0 / sqrt(var + eps);
    const float centre = static_cast<float>(m);
    mean[c] = centre;
    invstd[c] = static_cast<float>(inv);
    if (running_mean) {
        running_mean[c] = static_cast<float>((1 - momentum) * running_mean[c] + momentum * m);
        running_var[c] = static_cast<float>((1 - momentum) * running_var[c] + momentum * var * count / (count - 1));
    }
    const double scale = weight ? weight[c] * inv : inv;
    affine[c] = centre;
    affine[channels + c] = static_cast<float>(scale);
    affine[2 * channels + c] = static_cast<float>((bias ? bias[c] : 0.0) - (m - double(centre)) * scale);
}

// The same map from a mean and invstd given as floats (the centre is the mean itself).
__global__ void given_statistics_kernel(const float* mean, const float* invstd, const float* weight, const float* bias,
                                        int64_t channels, float* affine) {
    const int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
    if (c >= channels) return;
    affine[c] = mean[c];
    affine[channels + c] = static_cast<float>(weight ? double(weight[c]) * invstd[c] : double(invstd[c]));
    affine[2 * channels + c] = bias ? bias[c] : 0.0f;
}

// Where each vector's channels are: vector v holds elements [v * V, (v + 1) * V), of channel
// (v / run_vectors) % channels in planes (all V in one channel), of channels first + l with
// first = (v % row_vectors) * V in rows.
struct ChannelOf {
    FastDivmod run_vectors, channels;  // planes
    FastDivmod row_vectors;            // rows
    bool rows;
    template <int V>
    __device__ int first(int v) const {
        if (rows) {
            int q, r;
            row_vectors.divmod(v, q, r);
            return r * V;
        }
        int run, col, rep, ch;
        run_vectors.divmod(v, run, col);
        channels.divmod(run, rep, ch);
        return ch;
    }
};

// The per-channel values of a vector's V elements: channels c0 .. c0 + V - 1 in rows (one
// 16-byte load: the arrays are 16-byte aligned and c % 4 == 0 when V is 4), channel c0 for all
// in planes (a broadcast).
template <int V>
__device__ inline void channel_values(bool rows, const float* values, int c0, float (&out)[V]) {
    if (rows) {
        load<V>(values + c0, out);
    } else {
        for (int l = 0; l < V; ++l) out[l] = values[c0];
    }
}

// tf32 (batchnorm2d_activation.h's round_tf32): the value as the TF32 loop would round it,
// cvt.rna, for an output whose only readers are TF32 convolutions (and the backward's sign
// test: tf32_store.h keeps the sign of tiny positives); else as computed.
__device__ inline float stored(float v, bool tf32) {
    return tf32 ? tf32_store_value(v, __uint_as_float(ptx::cvt_rna_tf32(v))) : v;
}

template <int V>
__global__ void apply_kernel(const float* x, const float* affine, int64_t channels, ChannelOf where, int64_t vectors,
                             float slope, bool tf32, float* y) {
    GANOPS_GRID_STRIDE(v, vectors) {
        const int c0 = where.template first<V>(int(v));
        float in[V], out[V], centre[V], scale[V], shift[V];
        load<V>(x + v * V, in);
        channel_values<V>(where.rows, affine, c0, centre);
        channel_values<V>(where.rows, affine + channels, c0, scale);
        channel_values<V>(where.rows, affine + 2 * channels, c0, shift);
        for (int l = 0; l < V; ++l) {
            const float z = __fmaf_rn(__fsub_rn(in[l], centre[l]), scale[l], shift[l]);
            out[l] = stored(z > 0.0f ? z : __fmul_rn(z, slope), tf32);
        }
        store<V>(y + v * V, out);
    }
}

// Per channel: dweight, dbias and dx = a * dz + b * (x - mean) + d (coeffs: rows a, b, d),
// from sum(dz) and sum(dz * (x - mean)).
__global__ void finish_gradients_kernel(const SumPair* partials, int splits, int64_t channels, double count,
                                        const float* weight, const float* invstd, float* dweight, float* dbias,
                                        float* coeffs) {
    int64_t c;
    double sum_dz, sum_dz_xc;
    if (!channel_totals(partials, splits, channels, c, sum_dz, sum_dz_xc)) return;
    const double inv = invstd[c], sum_dz_xhat = sum_dz_xc * inv;
    if (dweight) dweight[c] = static_cast<float>(sum_dz_xhat);
    if (dbias) dbias[c] = static_cast<float>(sum_dz);
    if (!coeffs) return;
    const double gain = (weight ? weight[c] : 1.0) * inv;
    coeffs[c] = static_cast<float>(gain);
    coeffs[channels + c] = static_cast<float>(-gain * (sum_dz_xhat / count) * inv);
    coeffs[2 * channels + c] = static_cast<float>(-gain * (sum_dz / count));
}

template <int V>
__global__ void dx_kernel(const float* dy, const float* x, const float* y, const float* mean, const float* coeffs,
                          int64_t channels, ChannelOf where, int64_t vectors, float slope, bool tf32, float* dx) {
    GANOPS_GRID_STRIDE(v, vectors) {
        const int c0 = where.template first<V>(int(v));
        float g[V], in[V], out[V], grad[V], m[V], a[V], b[V], d[V];
        load<V>(dy + v * V, g);
        load<V>(x + v * V, in);
        load<V>(y + v * V, out);
        channel_values<V>(where.rows, mean, c0, m);
        channel_values<V>(where.rows, coeffs, c0, a);
        channel_values<V>(where.rows, coeffs + channels, c0, b);
        channel_values<V>(where.rows, coeffs + 2 * channels, c0, d);
        for (int l = 0; l < V; ++l) {
            const float dz = out[l] > 0.0f ? g[l] : __fmul_rn(g[l], slope);
            grad[l] = stored(__fadd_rn(__fmaf_rn(a[l], dz, __fmul_rn(b[l], __fsub_rn(in[l], m[l]))), d[l]), tf32);
        }
        store<V>(dx + v * V, grad);
    }
}

int channel_blocks(int64_t channels) { return static_cast<int>((channels + kThreads - 1) / kThreads); }

// The plan (batchnorm_activation_plan.h) with what the launches need besides.
struct Plan : BnActPlan {
    int64_t n = 0, c = 0, hw = 0;
    dim3 grid;
    ChannelOf where{};
};

bool aligned16(const float* p) { return p == nullptr || reinterpret_cast<uintptr_t>(p) % 16 == 0; }

Plan plan_for(const char* op, int64_t n, int64_t c, int64_t hw, std::initializer_list<const float*> tensors) {
    bool aligned = true;
    for (const float* t : tensors) aligned = aligned && aligned16(t);
    Plan p;
    static_cast<BnActPlan&>(p) = bn_act_plan(n, c, hw, aligned);
    p.n = n;
    p.c = c;
    p.hw = hw;
    // The per-vector index arithmetic is 32-bit (FastDivmod).
    GANOPS_CHECK(p.vectors < (int64_t{1} << 31) && c < (int64_t{1} << 31), op, ": ", n * c * hw,
                 " elements are more than this kernel indexes (2^31 ", p.V == 4 ? "vectors of 4" : "values", ")");
    p.grid = dim3(unsigned(p.grid_x), unsigned(p.splits));
    p.where.channels = FastDivmod(static_cast<int>(c));
    p.where.rows = p.rows;
    if (p.rows)
        p.where.row_vectors = FastDivmod(static_cast<int>(c / p.V));
    else
        p.where.run_vectors = FastDivmod(static_cast<int>(hw / p.V));
    return p;
}

// Aliases: GANOPS_LAUNCH takes no commas in a kernel's name (launch.cuh); the names are what
// the profiling mode and the roofline model's launch list call these kernels.
template <bool Grad, int V>
void launch_sums_v(const Plan& p, const SumInputs& in, SumPair* partials) {
    [[maybe_unused]] constexpr auto bn_act_statistics_rows = &row_sums_kernel<false, V>;
    [[maybe_unused]] constexpr auto bn_act_grad_sums_rows = &row_sums_kernel<true, V>;
    [[maybe_unused]] constexpr auto bn_act_statistics = &plane_sums_kernel<false, V>;
    [[maybe_unused]] constexpr auto bn_act_grad_sums = &plane_sums_kernel<true, V>;
    if (p.rows) {
        if constexpr (Grad)
            GANOPS_LAUNCH(bn_act_grad_sums_rows, p.grid, kThreads, 0, current_stream())(in, p.n, p.c, p.chunk, p.per_split,
                                                                                      partials);
        else
            GANOPS_LAUNCH(bn_act_statistics_rows, p.grid, kThreads, 0, current_stream())(in, p.n, p.c, p.chunk, p.per_split,
                                                                                       partials);
    } else {
        if constexpr (Grad)
            GANOPS_LAUNCH(bn_act_grad_sums, p.grid, kThreads, 0, current_stream())(in, p.c, p.hw, p.where.run_vectors,
                                                                                 p.n * p.hw / p.V, p.per_split, partials);
        else
            GANOPS_LAUNCH(bn_act_statistics, p.grid, kThreads, 0, current_stream())(in, p.c, p.hw, p.where.run_vectors,
                                                                                  p.n * p.hw / p.V, p.per_split, partials);
    }
}

template <bool Grad>
void launch_sums(const Plan& p, const SumInputs& in, SumPair* partials) {
    if (p.V == 4)
        launch_sums_v<Grad, 4>(p, in, partials);
    else
        launch_sums_v<Grad, 1>(p, in, partials);
}

void launch_apply(const Plan& p, const float* x, const float* affine, float slope, bool tf32, float* y) {
    [[maybe_unused]] constexpr auto bn_act_apply4 = &apply_kernel<4>;
    [[maybe_unused]] constexpr auto bn_act_apply = &apply_kernel<1>;
    if (p.V == 4)
        GANOPS_LAUNCH(bn_act_apply4, grid_for(p.vectors), kThreads, 0, current_stream())(x, affine, p.c, p.where, p.vectors,
                                                                                       slope, tf32, y);
    else
        GANOPS_LAUNCH(bn_act_apply, grid_for(p.vectors), kThreads, 0, current_stream())(x, affine, p.c, p.where, p.vectors,
                                                                                      slope, tf32, y);
}

}  // namespace

void batchnorm2d_leaky_relu_forward_train(const float* x, const float* weight, const float* bias, int64_t n, int64_t c,
                                          int64_t hw, double eps, double momentum, float slope, float* y, float* mean,
                                          float* invstd, float* running_mean, float* running_var, bool round_tf32) {
    if (c == 0) return;  // nothing to normalise; a grid of 0 blocks is a launch error
    const Plan p = plan_for("batchnorm2d + leaky_relu", n, c, hw, {x, y});
    Tensor partials = Tensor::empty(Shape{int64_t(p.splits) * c * 2}, DType::F64, Device::CUDA);
    Tensor affine = Tensor::empty(Shape{3 * c}, DType::F32, Device::CUDA);
    auto* sums = reinterpret_cast<SumPair*>(partials.data<double>());
    // The shift of each channel is its first value, x[ch * hw].
    launch_sums<false>(p, SumInputs{x, nullptr, nullptr, x, hw, 0.0f}, sums);
    GANOPS_LAUNCH(finish_statistics_kernel, finish_blocks(c), kThreads, 0, current_stream())(
        sums, p.splits, c, x, hw, double(n * hw), eps, momentum, weight, bias, mean, invstd, running_mean, running_var,
        affine.data<float>());
    launch_apply(p, x, affine.data<float>(), slope, round_tf32, y);
}

void batchnorm2d_leaky_relu_apply(const float* x, const float* weight, const float* bias, const float* mean,
                                  const float* invstd, int64_t n, int64_t c, int64_t hw, float slope, float* y,
                                  bool round_tf32) {
    if (c == 0 || n * hw == 0) return;
    const Plan p = plan_for("batchnorm2d + leaky_relu (apply)", n, c, hw, {x, y});
    Tensor affine = Tensor::empty(Shape{3 * c}, DType::F32, Device::CUDA);
    GANOPS_LAUNCH(given_statistics_kernel, channel_blocks(c), kThreads, 0, current_stream())(mean, invstd, weight, bias, c,
                                                                                            affine.data<float>());
    launch_apply(p, x, affine.data<float>(), slope, round_tf32, y);
}

void batchnorm2d_leaky_relu_backward(const float* dy, const float* x, const float* y, const float* weight,
                                     const float* mean, const float* invstd, int64_t n, int64_t c, int64_t hw,
                                     float slope, float* dx, float* dweight, float* dbias, bool round_tf32) {
    if (c == 0 || (!dx && !dweight && !dbias)) return;
    const Plan p = plan_for("batchnorm2d + leaky_relu backward", n, c, hw, {dy, x, y, dx, mean});
    Tensor partials = Tensor::empty(Shape{int64_t(p.splits) * c * 2}, DType::F64, Device::CUDA);
    Tensor coeffs = dx ? Tensor::empty(Shape{3 * c}, DType::F32, Device::CUDA) : Tensor();
    auto* sums = reinterpret_cast<SumPair*>(partials.data<double>());
    launch_sums<true>(p, SumInputs{x, dy, y, mean, 1, slope}, sums);
    GANOPS_LAUNCH(finish_gradients_kernel, finish_blocks(c), kThreads, 0, current_stream())(
        sums, p.splits, c, double(n * hw), weight, invstd, dweight, dbias, dx ? coeffs.data<float>() : nullptr);
    if (!dx) return;
    [[maybe_unused]] constexpr auto bn_act_dx4 = &dx_kernel<4>;
    [[maybe_unused]] constexpr auto bn_act_dx = &dx_kernel<1>;
    if (p.V == 4)
        GANOPS_LAUNCH(bn_act_dx4, grid_for(p.vectors), kThreads, 0, current_stream())(dy, x, y, mean, coeffs.data<float>(), c,
                                                                                    p.where, p.vectors, slope, round_tf32, dx);
    else
        GANOPS_LAUNCH(bn_act_dx, grid_for(p.vectors), kThreads, 0, current_stream())(dy, x, y, mean, coeffs.data<float>(), c,
                                                                                   p.where, p.vectors, slope, round_tf32, dx);
}

}  // namespace ganops::cuda
