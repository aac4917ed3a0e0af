// What a producer stores when asked to round its output to TF32 (round_tf32 of
// batchnorm2d_activation.h and conv2d_nhwc_activation.h): the value as the TF32 loop's cvt.rna
// would round it, except a positive value below 2^-137, which cvt.rna takes to +0: it is kept
// as it is. The tensor core reads only the top 19 bits of an operand, so it sees that value as
// +0 all the same (the GEMM's bits are those of the rounding path), while the activation's
// backward, which decides from the sign of the saved output (y > 0), decides as it would
// unrounded. (GANOPS_EMU_CHECK_TF32=1 would name such an element: its low bits are not zero.)
#pragma once
#include "../../core/philox.h"  // GANOPS_HD

namespace ganops::cuda {

// v the computed value, rounded its cvt.rna.tf32.
GANOPS_HD float tf32_store_value(float v, float rounded) { return v > 0.0f && rounded == 0.0f ? v : rounded; }

}  // namespace ganops::cuda
