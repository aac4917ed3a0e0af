// One contiguous allocation on one device, shared by a tensor and every view of it.
#pragma once
#include <cstddef>
#include <memory>

#include "cuda_device.h"
#include "device.h"

namespace ganops {

// With GANOPS_POISON_ALLOCATIONS=1 in the environment, every new allocation is filled with
// 0xFF bytes (NaN in float and double), so an op that leaves an output element unwritten
// fails its test instead of passing on leftover values. The tests run with it set.
bool poison_allocations();

struct Storage {
    Storage(size_t bytes, Device device);  // CPU: 64-byte aligned; CUDA: the caching allocator
    ~Storage();
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;

    // CUDA: work on `stream` uses this memory; see Tensor::record_stream. No effect on the CPU.
    void record_stream(cuda::Stream stream) const;

    void* data = nullptr;
    size_t bytes = 0;
    Device device = Device::CPU;
    // Every element is read by a TF32 tensor core exactly as that loop would round it: set by a
    // producer that rounded (Tensor::mark_values_tf32), cleared by any writable access
    // (Tensor::data_ptr), so a convolution may skip its rounding pass over this operand (same
    // bits; mma_plan.h's OperandsTf32). Conservative: a read through data_ptr clears it too.
    bool values_tf32 = false;
};

}  // namespace ganops
