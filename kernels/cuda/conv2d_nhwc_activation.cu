// conv2d_nhwc_activation.h: ForwardNhwc with the activation in its store. A wrapper problem
// (as conv_nhwc_fusion.h's are): the main loop is ForwardNhwc's, only the element the
// epilogue writes changes, so the split-K reduction (which stores through the problem too)
// applies it as well.
#include <cstring>

#include "conv2d_nhwc_activation.h"
#include "conv_nhwc_mma.h"
#include "conv_nhwc_problems.h"
#include "conv_nhwc_thin.h"
#include "implicit_gemm_mma.cuh"
#include "tensor_cores.h"
#include "tf32_store.h"
#include "../../core/error.h"
#include "../../core/tensor.h"

namespace ganops::cuda {

namespace {

using conv::nhwc::NhwcPass;
using conv::nhwc::NhwcPath;

// v * s rounded once, as the LeakyReLU kernel's __fmul_rn.
GANOPS_HD float mul_rn(float v, float s) {
#ifdef __CUDA_ARCH__
    return __fmul_rn(v, s);
#else
    return v * s;
#endif
}

// v as cvt.rna.tf32 rounds it (the TF32 loop's operand rounding), where tf32 (tiny positives
// keep their sign: tf32_store.h). (The host
// branch only compiles the store for the host pass of nvcc; the emulator runs ptx.cuh's.)
GANOPS_HD float rounded_if(float v, bool tf32) {
#if defined(__CUDA_ARCH__) || defined(GANOPS_EMULATED)
    return tf32 ? tf32_store_value(v, __uint_as_float(ptx::cvt_rna_tf32(v))) : v;
#else
    if (!tf32) return v;
    uint32_t b;
    std::memcpy(&b, &v, 4);
    if ((b & 0x7f800000u) != 0x7f800000u) b = (b + 0x1000u) & 0xffffe000u;  // nearest, ties away; inf and NaN as they are
    float r;
    std::memcpy(&r, &b, 4);
    return tf32_store_value(v, r);
#endif
}

struct ForwardNhwcLeakyReLU : conv::nhwc::ForwardNhwc {
    // Its operands are the (padded) image and the fp32 weights: never TF32 values, so the loop
    // keeps no branches around its rounding passes (implicit_gemm_mma.cuh, operands_tf32).
    static constexpr bool kOperandsNeverTf32 = true;
    float slope;
    bool tf32;  // store TF32 values (round_tf32, conv2d_nhwc_activation.h)
    ForwardNhwcLeakyReLU(const ForwardNhwc& base, float slope_, bool tf32_) : ForwardNhwc(base), slope(slope_), tf32(tf32_) {}
    // The convolution's value rounded as ForwardNhwc stores it, then the LeakyReLU kernel's
    // formula on it: the unfused pair's bits (then, if asked, cvt.rna to TF32).
    GANOPS_HD void store(int64_t m, int64_t n, float v) const {
        const float z = bias ? conv::add_rn(v, bias[n]) : v;
        y[m * N + n] = rounded_if(z > 0.0f ? z : mul_rn(z, slope), tf32);
    }
};

bool tf32_or_bf16() {
    const Precision p = effective_matmul_precision();
    return p == Precision::TF32 || p == Precision::BF16;
}

template <class Problem>
void run_async(const Problem& p) {
    if (effective_matmul_precision() == Precision::BF16)
        mma::run_async<mma::Mode::BF16>(p);
    else
        mma::run_async<mma::Mode::TF32>(p);
}

// A scratch copy with channels padded to a multiple of 4 and the border written out, as
// conv2d_nhwc.cu's PaddedChannels path makes (conv_nhwc_thin.h).
Tensor padded_copy(const float* src, int n, int h, int w, int c, int c_padded, int pad_h, int pad_w) {
    Tensor t = Tensor::empty(Shape{int64_t(n) * (h + 2 * pad_h) * (w + 2 * pad_w) * c_padded}, DType::F32, Device::CUDA);
    thin::pad_channels(src, t.data<float>(), n, h, w, c, c_padded, pad_h, pad_w);
    return t;
}

}  // namespace

bool conv2d_forward_nhwc_leaky_relu_applies(const ConvGeometry& g) {
    if (!tf32_or_bf16() || !conv::fits_32bit(g)) return false;
    const conv::Dims d(g);
    switch (conv::nhwc::nhwc_path(NhwcPass::Forward, d, true)) {
        case NhwcPath::PaddedChannels: {
            const int64_t padded = int64_t(d.n) * (d.h + 2 * d.ph) * (d.w + 2 * d.pw) * ((d.c + 3) / 4 * 4);
            return padded < (int64_t{1} << 30);
        }
        case NhwcPath::General: return conv::nhwc::ForwardNhwc::chunks_ok(d);
        default: return false;
    }
}

void conv2d_forward_nhwc_leaky_relu(const ConvGeometry& g, const float* x, const float* w_krsc, const float* bias,
                                    float slope, float* y, bool round_tf32) {
    GANOPS_CHECK(conv2d_forward_nhwc_leaky_relu_applies(g), "conv2d + leaky_relu NHWC (CUDA): input ", g.batch, "x",
                 g.in_h, "x", g.in_w, "x", g.in_channels, ", weight ", g.out_channels, "x", g.kernel_h, "x", g.kernel_w,
                 " takes no fused path in this precision mode (ask conv2d_forward_nhwc_leaky_relu_applies)");
    const conv::Dims d(g);
    const bool tf32 = round_tf32 && effective_matmul_precision() == Precision::TF32;  // BF16: never
    if (conv::nhwc::nhwc_path(NhwcPass::Forward, d, true) == NhwcPath::PaddedChannels) {
        conv::Dims p = d;
        p.c = (d.c + 3) / 4 * 4;
        p.h = d.h + 2 * d.ph;
        p.w = d.w + 2 * d.pw;
        p.ph = p.pw = 0;
        const Tensor xp = padded_copy(x, d.n, d.h, d.w, d.c, p.c, d.ph, d.pw);
        const Tensor wp = padded_copy(w_krsc, d.k, d.r, d.s, d.c, p.c, 0, 0);
        run_async(ForwardNhwcLeakyReLU(conv::nhwc::ForwardNhwc(p, xp.data<float>(), wp.data<float>(), bias, y), slope, tf32));
        return;
    }
    run_async(ForwardNhwcLeakyReLU(conv::nhwc::ForwardNhwc(d, x, w_krsc, bias, y), slope, tf32));
}

}  // namespace ganops::cuda
