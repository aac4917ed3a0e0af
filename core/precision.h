// How CUDA matrix products (convolutions, linear layers) round, as PyTorch users know it:
//   fp32           strict: fp32 operands, fp32 products and sums on the FMA units.
//   tf32           operands rounded to TF32 (10-bit mantissa) on the tensor cores, fp32
//                  accumulation; the default on a GPU, as cudnn.allow_tf32 is in PyTorch.
//   bf16           operands rounded to bfloat16 (7-bit mantissa), fp32 accumulation.
//   fp32-accurate  each operand split into a TF32 high and low part, three tensor-core
//                  products summed (3xTF32): fp32-level error at tensor-core speed.
// The CPU path always computes in the tensor's own type; the choice only affects CUDA.
#pragma once
#include <string_view>

namespace ganops {

enum class Precision { FP32, TF32, BF16, FP32Accurate };

const char* precision_name(Precision p);
// "fp32", "tf32", "bf16" or "fp32-accurate"; anything else throws an Error listing them.
Precision parse_precision(std::string_view name);

// The process-wide mode of CUDA matrix products; TF32 unless set.
Precision matmul_precision();
void set_matmul_precision(Precision p);

// Sets a mode for a scope and restores the previous one.
class PrecisionScope {
public:
    explicit PrecisionScope(Precision p) : saved_(matmul_precision()) { set_matmul_precision(p); }
    ~PrecisionScope() { set_matmul_precision(saved_); }
    PrecisionScope(const PrecisionScope&) = delete;
    PrecisionScope& operator=(const PrecisionScope&) = delete;

private:
    Precision saved_;
};

}  // namespace ganops
