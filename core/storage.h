// One contiguous allocation on one device, shared by a tensor and every view of it.
#pragma once
#include <cstddef>
#include <memory>

#include "device.h"

namespace ganops {

struct Storage {
    Storage(size_t bytes, Device device);  // CPU: 64-byte aligned; CUDA: the caching allocator
    ~Storage();
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;

    void* data = nullptr;
    size_t bytes = 0;
    Device device = Device::CPU;
};

}  // namespace ganops
