#include "precision.h"

#include <atomic>
#include <string>

#include "error.h"

namespace ganops {

namespace {
std::atomic<Precision> g_precision{Precision::TF32};
}

const char* precision_name(Precision p) {
    switch (p) {
        case Precision::FP32: return "fp32";
        case Precision::TF32: return "tf32";
        case Precision::BF16: return "bf16";
        case Precision::FP32Accurate: return "fp32-accurate";
    }
    return "?";
}

Precision parse_precision(std::string_view name) {
    for (Precision p : {Precision::FP32, Precision::TF32, Precision::BF16, Precision::FP32Accurate})
        if (name == precision_name(p)) return p;
    fail("precision: unknown mode '", std::string(name), "' (expected fp32, tf32, bf16 or fp32-accurate)");
}

Precision matmul_precision() { return g_precision.load(std::memory_order_relaxed); }
void set_matmul_precision(Precision p) { g_precision.store(p, std::memory_order_relaxed); }

}  // namespace ganops
