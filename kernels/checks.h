// Input validation shared by every op's dispatch point. Messages name the op and describe
// each tensor ("input [2, 3, 8, 8] float32 cpu"), so a user can see what was wrong.
#pragma once
#include <initializer_list>
#include <utility>

#include "../core/tensor.h"

namespace ganops::kernels {

using NamedTensor = std::pair<const char*, const Tensor*>;

inline void check_defined(const char* op, const char* name, const Tensor& t) {
    GANOPS_CHECK(t.defined(), op, ": ", name, " is an undefined tensor");
}

inline void check_ndim(const char* op, const char* name, const Tensor& t, int ndim) {
    check_defined(op, name, t);
    GANOPS_CHECK(t.ndim() == ndim, op, ": ", name, " must be ", ndim, "-d, got ", t.str());
}

// Whether an op reads channels-last storage (core/memory_format.h) itself.
enum class Formats {
    NchwOnly,  // the op indexes storage as NCHW: channels-last tensors are refused
    Any,       // the op handles both (element-wise, or a kernel per format)
};

// All defined tensors share the first one's device and dtype, and the dtype is one the
// library computes in. This is where every op checks its inputs, so it is also where a
// channels-last tensor is stopped before an NCHW-only op would read its NHWC storage as
// NCHW: such ops fail naming the op and the tensor (a channels-last tensor whose storage
// order is NCHW anyway, C == 1 or H == W == 1, passes).
inline void check_compatible(const char* op, std::initializer_list<NamedTensor> tensors,
                             Formats formats = Formats::NchwOnly) {
    const NamedTensor* first = nullptr;
    for (const NamedTensor& t : tensors) {
        if (!t.second->defined()) continue;
        GANOPS_CHECK(formats == Formats::Any || t.second->storage_is_nchw(), op, ": ", t.first, " ",
                     t.second->str(), " is channels-last, and ", op,
                     " takes contiguous (NCHW) tensors: convert it with to_memory_format(MemoryFormat::Contiguous)");
        if (!first) {
            first = &t;
            GANOPS_CHECK(t.second->dtype() != DType::BF16, op, ": ", t.first, " ", t.second->str(),
                         ": bfloat16 is not supported by this op");
            continue;
        }
        GANOPS_CHECK(t.second->device() == first->second->device(), op, ": ", first->first, " ",
                     first->second->str(), " and ", t.first, " ", t.second->str(),
                     " are on different devices");
        GANOPS_CHECK(t.second->dtype() == first->second->dtype(), op, ": ", first->first, " ",
                     first->second->str(), " and ", t.first, " ", t.second->str(),
                     " have different dtypes");
    }
}

inline void check_same_shape(const char* op, const char* a_name, const Tensor& a, const char* b_name,
                             const Tensor& b) {
    GANOPS_CHECK(a.shape() == b.shape(), op, ": ", a_name, " ", a.str(), " and ", b_name, " ",
                 b.str(), " must have the same shape");
}

// Every op runs its Eigen reference for CPU tensors, with the element type as T.
template <class F>
void on_cpu_float_type(const char* op, const Tensor& t, F&& f) {
    if (t.dtype() == DType::F32)
        f(float{});
    else if (t.dtype() == DType::F64)
        f(double{});
    else
        fail(op, ": dtype ", dtype_name(t.dtype()), " is not supported on the cpu");
}

// True when the op's tensors live on the GPU, where the kernels compute in float32
// (float64 exists for the CPU reference's gradient checks).
inline bool on_cuda(const char* op, const Tensor& t) {
    if (t.device() != Device::CUDA) return false;
    GANOPS_CHECK(t.dtype() == DType::F32, op, ": ", t.str(),
                 ": CUDA kernels take float32 (float64 is for the cpu reference)");
    return true;
}

// A float pointer for an optional tensor.
inline float* f32_or_null(const Tensor& t) { return t.defined() ? t.data<float>() : nullptr; }

}  // namespace ganops::kernels
