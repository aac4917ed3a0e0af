#include "tensor.h"

#include <cstring>
#include <sstream>

#include "autograd.h"
#include "cuda_device.h"
#include "philox.h"
#include "../kernels/cuda/kernels.h"
#include "../kernels/layout.h"

namespace ganops {

namespace {

Tensor make(const Shape& shape, DType dtype, Device device, MemoryFormat format = MemoryFormat::Contiguous) {
    GANOPS_CHECK(format == MemoryFormat::Contiguous || shape.ndim() == 4, "Tensor: ", memory_format_name(format),
                 " needs a 4-d [N, C, H, W] shape, got ", shape);
    GANOPS_CHECK(dtype != DType::BF16, "Tensor: bfloat16 storage is not available yet (shape ",
                 shape, ")");
    if (device == Device::CUDA)
        GANOPS_CHECK(cuda::available(), "Tensor: a tensor of shape ", shape,
                     " was asked for on cuda, but no CUDA device is available");
    // The shape holds at most 2^60 elements (Shape::kMaxNumel), so this product of at most
    // 8 bytes each cannot wrap; an allocation that fails names the shape.
    const size_t bytes = static_cast<size_t>(shape.numel()) * dtype_size(dtype);
    auto impl = std::make_shared<TensorImpl>();
    try {
        impl->storage = std::make_shared<Storage>(bytes, device);
    } catch (const Error& e) {
        fail("Tensor: cannot allocate ", shape, " ", dtype_name(dtype), " (", bytes, " bytes): ", e.what());
    }
    impl->shape = shape;
    impl->dtype = dtype;
    impl->memory_format = format;
    return Tensor(std::move(impl));
}

// Fills a host buffer of `dtype` from doubles or floats, then places it on `device`.
template <class Source>
Tensor from_host(const Shape& shape, const Source* values, DType dtype, Device device) {
    Tensor host = make(shape, dtype, Device::CPU);
    const int64_t n = shape.numel();
    if (dtype == DType::F32) {
        float* out = host.data<float>();
        for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(values[i]);
    } else {
        double* out = host.data<double>();
        for (int64_t i = 0; i < n; ++i) out[i] = static_cast<double>(values[i]);
    }
    return host.to(device);
}

// A tensor filled from the next numbers of `gen`: fill(data, n, offset, on_gpu) is called
// with a float* or double* and writes the Philox stream's values (core/philox.h), which are
// the same on every device.
template <class Fill>
Tensor random_tensor(const Shape& shape, DType dtype, Device device, Generator& gen, Fill fill) {
    Tensor out = make(shape, dtype, device);
    const int64_t n = shape.numel();
    const uint64_t offset = gen.take(n);
    if (dtype == DType::F32)
        fill(out.data<float>(), n, offset, device == Device::CUDA);
    else
        fill(out.data<double>(), n, offset, device == Device::CUDA);
    return out;
}

}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device, MemoryFormat format) {
    return make(shape, dtype, device, format);
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
    Tensor t = make(shape, dtype, device);
    t.fill(0.0);
    return t;
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
    Tensor t = make(shape, dtype, device);
    t.fill(value);
    return t;
}

Tensor Tensor::from_vector(const Shape& shape, const std::vector<float>& values, Device device) {
    GANOPS_CHECK(static_cast<int64_t>(values.size()) == shape.numel(), "Tensor::from_vector: ",
                 values.size(), " values for shape ", shape);
    return from_host(shape, values.data(), DType::F32, device);
}

Tensor Tensor::from_vector(const Shape& shape, const std::vector<double>& values, Device device) {
    GANOPS_CHECK(static_cast<int64_t>(values.size()) == shape.numel(), "Tensor::from_vector: ",
                 values.size(), " values for shape ", shape);
    return from_host(shape, values.data(), DType::F64, device);
}

Tensor Tensor::uniform(const Shape& shape, double low, double high, Generator& gen, DType dtype,
                       Device device) {
    GANOPS_CHECK(low <= high, "Tensor::uniform: low ", low, " > high ", high, " for shape ", shape);
    const float lo = static_cast<float>(low), hi = static_cast<float>(high);
    return random_tensor(shape, dtype, device, gen, [&](auto* data, int64_t n, uint64_t offset, bool gpu) {
        if (gpu)
            cuda::uniform_fill(data, n, gen.seed, offset, lo, hi);
        else
            philox::uniform_fill(data, n, gen.seed, offset, lo, hi);
    });
}

Tensor Tensor::normal(const Shape& shape, double mean, double stddev, Generator& gen, DType dtype,
                      Device device) {
    GANOPS_CHECK(stddev >= 0, "Tensor::normal: negative stddev ", stddev, " for shape ", shape);
    const float m = static_cast<float>(mean), sd = static_cast<float>(stddev);
    return random_tensor(shape, dtype, device, gen, [&](auto* data, int64_t n, uint64_t offset, bool gpu) {
        if (gpu)
            cuda::normal_fill(data, n, gen.seed, offset, m, sd);
        else
            philox::normal_fill(data, n, gen.seed, offset, m, sd);
    });
}

int64_t Tensor::size(int dim) const {
    const int n = ndim();
    const int d = dim < 0 ? dim + n : dim;
    GANOPS_CHECK(d >= 0 && d < n, "Tensor::size: dimension ", dim, " of tensor ", str());
    return shape()[d];
}

std::string Tensor::str() const {
    if (!defined()) return "(undefined)";
    std::ostringstream s;
    s << shape() << ' ' << dtype_name(dtype()) << ' ' << device_name(device());
    if (is_channels_last()) s << " channels_last";
    return s.str();
}

bool Tensor::storage_is_nchw() const {
    return !is_channels_last() || size(1) == 1 || size(2) * size(3) == 1;
}

void* Tensor::data_ptr() const {
    impl().storage->values_tf32 = false;  // the caller may write
    return static_cast<char*>(impl().storage->data) +
           impl().offset * static_cast<int64_t>(dtype_size(dtype()));
}

const void* Tensor::const_data_ptr() const {
    return static_cast<const char*>(impl().storage->data) +
           impl().offset * static_cast<int64_t>(dtype_size(dtype()));
}

bool Tensor::values_are_tf32() const { return impl().storage->values_tf32; }

void Tensor::mark_values_tf32() const {
    const Storage& s = *impl().storage;
    if (dtype() == DType::F32 && impl().offset == 0 && size_t(numel()) * dtype_size(dtype()) == s.bytes)
        impl().storage->values_tf32 = true;
}

std::vector<double> Tensor::to_double_vector() const {
    const Tensor host = kernels::convert_memory_format(to(Device::CPU), MemoryFormat::Contiguous).to(DType::F64);
    const double* p = host.data<double>();
    return std::vector<double>(p, p + numel());
}

std::vector<float> Tensor::to_vector() const {
    const Tensor host = kernels::convert_memory_format(to(Device::CPU), MemoryFormat::Contiguous).to(DType::F32);
    const float* p = host.data<float>();
    return std::vector<float>(p, p + numel());
}

double Tensor::item() const {
    GANOPS_CHECK(numel() == 1, "Tensor::item: tensor ", str(), " has ", numel(), " elements, not 1");
    return to_double_vector()[0];
}

Tensor Tensor::to(Device target) const {
    if (target == device()) return *this;
    Tensor out = make(shape(), dtype(), target, memory_format());
    cuda::copy_bytes(out.data_ptr(), target, data_ptr(), device(), static_cast<size_t>(numel()) * dtype_size(dtype()));
    return out;
}

Tensor Tensor::to(DType target) const {
    if (target == dtype()) return *this;
    GANOPS_CHECK(device() == Device::CPU, "Tensor::to: converting ", str(), " to ",
                 dtype_name(target), " is only supported on the cpu");
    // Element by element in storage order, so the memory format is kept.
    Tensor out = dtype() == DType::F32 ? from_host(shape(), data<float>(), target, Device::CPU)
                                       : from_host(shape(), data<double>(), target, Device::CPU);
    out.impl_->memory_format = memory_format();
    return out;
}

Tensor Tensor::clone() const {
    Tensor out = make(shape(), dtype(), device(), memory_format());
    out.copy_from(*this);
    return out;
}

Tensor Tensor::to_memory_format(MemoryFormat format) const {
    const MemoryFormat from = memory_format();
    if (from == format) return *this;
    // With one channel or one pixel, NCHW and NHWC orders coincide: relabel, do not copy
    // (a DCGAN's noise [N, nz, 1, 1] enters a channels-last generator for free).
    Tensor out;
    if (ndim() == 4 && (size(1) == 1 || size(2) * size(3) == 1)) {
        out = detach();
        out.impl_->memory_format = format;
    } else {
        out = kernels::convert_memory_format(*this, format);
    }
    return record("to_memory_format", out, {*this},
                  [from](const Tensor& dy, const std::vector<bool>&) {
                      return std::vector<Tensor>{kernels::convert_memory_format(dy, from)};
                  });
}

void Tensor::change_memory_format_in_place(MemoryFormat format) const {
    GANOPS_CHECK(is_leaf(), "change_memory_format_in_place: tensor ", str(), " was produced by op '", grad_fn()->name,
                 "'; only leaves (parameters, optimizer state) change format in place");
    if (memory_format() == format) return;
    const Tensor converted = kernels::convert_memory_format(detach(), format);
    impl().storage = converted.impl().storage;
    impl().offset = converted.impl().offset;
    impl().memory_format = format;
    if (const Tensor g = grad(); g.defined()) g.change_memory_format_in_place(format);
}

Tensor Tensor::reshape(const Shape& new_shape) const {
    GANOPS_CHECK(new_shape.numel() == numel(), "reshape: cannot view tensor ", str(), " as ", new_shape);
    // A view reinterprets the storage, which must then be in NCHW order.
    if (!storage_is_nchw()) return to_memory_format(MemoryFormat::Contiguous).reshape(new_shape);
    auto view = std::make_shared<TensorImpl>();
    view->storage = impl().storage;
    view->offset = impl().offset;
    view->shape = new_shape;
    view->dtype = dtype();
    const Shape old_shape = shape();
    return record("reshape", Tensor(std::move(view)), {*this},
                  [old_shape](const Tensor& dy, const std::vector<bool>&) {
                      return std::vector<Tensor>{dy.reshape(old_shape)};
                  });
}

Tensor Tensor::slice_rows(int64_t begin, int64_t end) const {
    GANOPS_CHECK(ndim() >= 1, "slice_rows: tensor ", str(), " has no rows");
    GANOPS_CHECK(0 <= begin && begin <= end && end <= size(0), "slice_rows: rows [", begin, ", ",
                 end, ") of tensor ", str());
    auto view = std::make_shared<TensorImpl>();
    view->storage = impl().storage;
    view->offset = impl().offset + begin * (size(0) == 0 ? 0 : numel() / size(0));
    view->shape = shape().with(0, end - begin);
    view->dtype = dtype();
    view->memory_format = memory_format();
    return Tensor(std::move(view));
}

void Tensor::copy_from(const Tensor& source) const {
    GANOPS_CHECK(source.shape() == shape() && source.dtype() == dtype(), "copy_from: source ", source.str(),
                 " does not match destination ", str());
    const Tensor src = kernels::in_format_of(*this, source);
    cuda::copy_bytes(data_ptr(), device(), src.data_ptr(), src.device(),
                     static_cast<size_t>(numel()) * dtype_size(dtype()));
}

void Tensor::fill(double value) const {
    const int64_t n = numel();
    if (device() == Device::CUDA) {
        if (dtype() == DType::F32)
            cuda::fill(data<float>(), n, static_cast<float>(value));
        else
            cuda::fill(data<double>(), n, value);
        return;
    }
    if (dtype() == DType::F32) {
        float* p = data<float>();
        for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(value);
    } else {
        double* p = data<double>();
        for (int64_t i = 0; i < n; ++i) p[i] = value;
    }
}

void Tensor::record_stream(cuda::Stream stream) const { impl().storage->record_stream(stream); }

bool Tensor::shares_storage_with(const Tensor& other) const {
    return defined() && other.defined() && impl().storage == other.impl().storage;
}

bool Tensor::is_sole_owner() const {
    return defined() && impl_.use_count() == 1 && impl().storage.use_count() == 1 && impl().offset == 0 &&
           impl().storage->bytes == size_t(numel()) * dtype_size(dtype()) && !requires_grad() && !impl().grad;
}

bool Tensor::requires_grad() const { return impl().requires_grad || impl().grad_fn != nullptr; }

const Tensor& Tensor::set_requires_grad(bool on) const {
    GANOPS_CHECK(is_leaf(), "set_requires_grad: tensor ", str(),
                 " was produced by op '", grad_fn()->name, "'; only leaves can be marked (use detach())");
    impl().requires_grad = on;
    return *this;
}

Tensor Tensor::grad() const { return impl().grad ? Tensor(impl().grad) : Tensor(); }

void Tensor::set_grad(const Tensor& g) const {
    if (!g.defined()) {
        impl().grad.reset();
        return;
    }
    GANOPS_CHECK(g.shape() == shape() && g.dtype() == dtype() && g.device() == device(),
                 "set_grad: gradient ", g.str(), " for tensor ", str());
    impl().grad = g.impl_;
}

Tensor Tensor::detach() const {
    auto view = std::make_shared<TensorImpl>();
    view->storage = impl().storage;
    view->offset = impl().offset;
    view->shape = shape();
    view->dtype = dtype();
    view->memory_format = memory_format();
    return Tensor(std::move(view));
}

void Tensor::backward(const Tensor& grad_output) const { ganops::backward(*this, grad_output); }

}  // namespace ganops
