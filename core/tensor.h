// A dense tensor on the CPU or a CUDA device, with what reverse-mode autograd needs to hang
// on it. Its storage is contiguous in NCHW order, or, for a 4-d tensor marked channels-last
// (core/memory_format.h), in NHWC order; shape() is [N, C, H, W] either way. Tensor is a
// cheap handle: copies share the same tensor, as in PyTorch; clone() makes an independent one.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "device.h"
#include "dtype.h"
#include "error.h"
#include "memory_format.h"
#include "shape.h"
#include "storage.h"

namespace ganops {

struct Generator;
struct Node;

struct TensorImpl {
    std::shared_ptr<Storage> storage;
    int64_t offset = 0;  // in elements, for views into a larger storage
    Shape shape;
    DType dtype = DType::F32;
    MemoryFormat memory_format = MemoryFormat::Contiguous;  // ChannelsLast only when 4-d

    bool requires_grad = false;           // set by the user on leaves
    std::shared_ptr<TensorImpl> grad;     // accumulated by backward() on leaves
    std::shared_ptr<Node> grad_fn;        // the op that produced this tensor, if recorded
};

class Tensor {
public:
    Tensor() = default;  // undefined: no storage (e.g. an absent bias)
    explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

    static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device device = Device::CPU,
                        MemoryFormat format = MemoryFormat::Contiguous);
    static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device device = Device::CPU);
    static Tensor full(const Shape& shape, double value, DType dtype = DType::F32,
                       Device device = Device::CPU);
    static Tensor from_vector(const Shape& shape, const std::vector<float>& values,
                              Device device = Device::CPU);
    static Tensor from_vector(const Shape& shape, const std::vector<double>& values,
                              Device device = Device::CPU);
    // Philox streams (core/philox.h): the same generator state gives the same numbers on
    // every device; the generator advances past the numbers drawn.
    static Tensor uniform(const Shape& shape, double low, double high, Generator& gen,
                          DType dtype = DType::F32, Device device = Device::CPU);
    static Tensor normal(const Shape& shape, double mean, double stddev, Generator& gen,
                         DType dtype = DType::F32, Device device = Device::CPU);

    bool defined() const { return impl_ != nullptr; }
    const Shape& shape() const { return impl().shape; }
    int ndim() const { return shape().ndim(); }
    int64_t size(int dim) const;  // negative counts from the end
    int64_t numel() const { return shape().numel(); }
    DType dtype() const { return impl().dtype; }
    Device device() const { return impl().storage->device; }
    std::string str() const;  // "[128, 3, 64, 64] float32 cuda", for messages
    MemoryFormat memory_format() const { return impl().memory_format; }
    bool is_channels_last() const { return memory_format() == MemoryFormat::ChannelsLast; }
    // True when the storage holds the elements in NCHW order: a contiguous tensor, or a
    // channels-last one whose NHWC order is the same (C == 1, or H == W == 1). Ops without
    // channels-last support accept exactly these (kernels/checks.h).
    bool storage_is_nchw() const;

    // The storage, in storage order: NHWC for a channels-last tensor. Writable access: clears
    // values_are_tf32 (whoever holds the pointer may write).
    void* data_ptr() const;
    template <class T>
    T* data() const;  // checks that T matches the dtype
    // Read-only access, which keeps values_are_tf32: for ops that only read (the convolutions'
    // operands), so that a forward's input keeps its flag for the backward's grad-weight.
    const void* const_data_ptr() const;
    template <class T>
    const T* const_data() const;

    // Whether every element holds a TF32 value (core/storage.h's values_tf32): set by a producer
    // that rounded to TF32 on purpose (the DCGAN step's batchnorm + activation in the TF32 mode,
    // nn/sequential.h), read by the convolutions to skip their own rounding pass. Any writable
    // access clears it; copies and conversions start without it.
    bool values_are_tf32() const;
    // Sets it, where this tensor spans its whole storage (else nothing: a view cannot speak for
    // the rest). For a producer that has just written TF32 values into every element.
    void mark_values_tf32() const;

    // Any dtype, device and memory format, copied to the host in logical (NCHW) order.
    std::vector<float> to_vector() const;
    std::vector<double> to_double_vector() const;
    double item() const;                   // the single element of a one-element tensor

    // These three keep the memory format.
    Tensor to(Device device) const;  // not recorded by autograd: use on leaves and data
    Tensor to(DType dtype) const;
    Tensor clone() const;
    // This tensor with its storage in `format`: itself when it already is, else a copy
    // converted by the layout kernels (kernels/layout.h). Differentiable: the gradient
    // is converted back to this tensor's format. ChannelsLast needs a 4-d tensor.
    Tensor to_memory_format(MemoryFormat format) const;
    // Reorders this leaf's storage into `format` in place, values unchanged: every handle to
    // the tensor (a module's slot, an optimizer's list) sees the new order, as with PyTorch's
    // `param.data = param.to(memory_format=...)`. A gradient it holds is reordered too. For
    // parameters and optimizer state before training; not recorded by autograd, and views
    // made before (detach(), slice_rows()) keep the old storage. ChannelsLast needs 4-d.
    void change_memory_format_in_place(MemoryFormat format) const;
    // A view; differentiable. A channels-last tensor is first converted to contiguous (a
    // copy), so the view always reads NCHW order.
    Tensor reshape(const Shape& shape) const;
    // Rows [begin, end) of dimension 0 as a view sharing storage, outside autograd
    // (for batching data). Writes through it reach the original. Keeps the memory format
    // (N is the outermost dimension of NCHW and NHWC alike).
    Tensor slice_rows(int64_t begin, int64_t end) const;
    // Same shape and dtype, any devices and memory formats (converted to this one's).
    void copy_from(const Tensor& src) const;
    void fill(double value) const;
    bool shares_storage_with(const Tensor& other) const;
    bool is_same(const Tensor& other) const { return impl_ == other.impl_; }
    // No other handle reaches this tensor or its memory (no copy of the handle, no view or
    // detached alias of the storage), it spans its whole storage, and it is outside autograd:
    // whoever holds the last handle may keep it (autograd stores a fresh gradient as a
    // leaf's .grad this way instead of copying it).
    bool is_sole_owner() const;
    // Says that work queued on `stream` uses this tensor's memory (PyTorch's
    // Tensor.record_stream). Device memory belongs to the stream it was allocated on; when
    // the storage is freed, the caching allocator reuses it only after the work queued on
    // every recorded stream until then has completed. Call it when a tensor allocated on
    // one stream is read or written on another, e.g. a batch uploaded on a loader's stream
    // and trained on the compute stream. No effect on the CPU or on the allocating stream.
    void record_stream(cuda::Stream stream) const;

    // Autograd (core/autograd.h)
    bool requires_grad() const;  // a leaf the user marked, or a recorded op's output
    const Tensor& set_requires_grad(bool on) const;
    bool is_leaf() const { return impl().grad_fn == nullptr; }
    Tensor grad() const;
    void set_grad(const Tensor& grad) const;  // undefined clears it
    Tensor detach() const;                    // same storage, cut from the graph
    void backward(const Tensor& grad_output = Tensor()) const;
    const std::shared_ptr<Node>& grad_fn() const { return impl().grad_fn; }
    void set_grad_fn(std::shared_ptr<Node> node) const { impl().grad_fn = std::move(node); }

private:
    TensorImpl& impl() const {
        GANOPS_CHECK(impl_ != nullptr, "Tensor: use of an undefined tensor");
        return *impl_;
    }
    std::shared_ptr<TensorImpl> impl_;
};

template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() { return DType::F32; }
template <>
constexpr DType dtype_of<double>() { return DType::F64; }

template <class T>
T* Tensor::data() const {
    GANOPS_CHECK(dtype() == dtype_of<T>(), "Tensor::data: tensor ", str(),
                 " read as ", dtype_name(dtype_of<T>()));
    return static_cast<T*>(data_ptr());
}

template <class T>
const T* Tensor::const_data() const {
    GANOPS_CHECK(dtype() == dtype_of<T>(), "Tensor::const_data: tensor ", str(),
                 " read as ", dtype_name(dtype_of<T>()));
    return static_cast<const T*>(const_data_ptr());
}

}  // namespace ganops
