// Where a tensor's elements live.
#pragma once

namespace ganops {

enum class Device { CPU, CUDA };

inline const char* device_name(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }

}  // namespace ganops
