#include "storage.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <new>

#include "cuda_allocator.h"
#include "cuda_device.h"
#include "error.h"

namespace ganops {

bool poison_allocations() {
    static const bool on = [] {
        const char* v = std::getenv("GANOPS_POISON_ALLOCATIONS");
        return v && *v && std::string(v) != "0";
    }();
    return on;
}

Storage::Storage(size_t bytes_, Device device_) : bytes(bytes_), device(device_) {
    if (device == Device::CUDA) {
        data = cuda::allocate(bytes);
        if (poison_allocations()) cuda::poison_bytes(data, bytes);
        return;
    }
    // aligned_alloc wants a multiple of the alignment; 64 keeps Eigen's vector loads aligned.
    // Rounding up must not wrap: a byte count that near SIZE_MAX can never be allocated.
    if (bytes > SIZE_MAX / 2) fail("Storage: cannot allocate ", bytes, " bytes of host memory");
    const size_t padded = (bytes + 63) / 64 * 64;
    data = std::aligned_alloc(64, padded == 0 ? 64 : padded);
    if (!data) fail("Storage: cannot allocate ", bytes, " bytes of host memory");
    if (poison_allocations()) std::memset(data, 0xFF, bytes);
}

void Storage::record_stream(cuda::Stream stream) const {
    if (device == Device::CUDA) cuda::record_stream(data, stream);
}

Storage::~Storage() {
    if (device == Device::CUDA)
        cuda::release(data);
    else
        std::free(data);
}

}  // namespace ganops
