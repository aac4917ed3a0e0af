// Element types. F32 is what models train in; F64 exists on the CPU so that gradients can
// be checked by finite differences without float rounding drowning the signal; BF16 is
// reserved for tensor-core storage on the GPU.
#pragma once
#include <cstddef>

namespace ganops {

enum class DType { F32, F64, BF16 };

inline size_t dtype_size(DType t) {
    switch (t) {
        case DType::F32: return 4;
        case DType::F64: return 8;
        case DType::BF16: return 2;
    }
    return 0;
}

inline const char* dtype_name(DType t) {
    switch (t) {
        case DType::F32: return "float32";
        case DType::F64: return "float64";
        case DType::BF16: return "bfloat16";
    }
    return "?";
}

}  // namespace ganops
