// How a tensor's elements are ordered in its storage, as PyTorch's torch.memory_format.
// The logical shape is always [N, C, H, W]; ChannelsLast stores it as x[n][h][w][c] (NHWC),
// the order tensor-core convolutions want: the C values of one pixel are adjacent, so a
// GEMM operand row loads 16 bytes at a time. Only 4-d tensors can be channels-last.
#pragma once

namespace ganops {

enum class MemoryFormat { Contiguous, ChannelsLast };

inline const char* memory_format_name(MemoryFormat f) {
    return f == MemoryFormat::ChannelsLast ? "channels_last" : "contiguous";
}

}  // namespace ganops
