// The CUDA vector types, for the emulated build (same names, sizes and alignments as
// CUDA's vector_types.h, so kernels that reinterpret memory as float4 keep their layout).
#pragma once

struct uint3 { unsigned x, y, z; };
struct dim3 {
    unsigned x = 1, y = 1, z = 1;
    constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
    constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
    constexpr operator uint3() const { return {x, y, z}; }
};

#define GANOPS_EMU_VEC2(T, name, align) struct alignas(align) name { T x, y; }; \
    inline constexpr name make_##name(T x, T y) { return {x, y}; }
#define GANOPS_EMU_VEC4(T, name, align) struct alignas(align) name { T x, y, z, w; }; \
    inline constexpr name make_##name(T x, T y, T z, T w) { return {x, y, z, w}; }
GANOPS_EMU_VEC2(float, float2, 8)
GANOPS_EMU_VEC4(float, float4, 16)
GANOPS_EMU_VEC2(int, int2, 8)
GANOPS_EMU_VEC4(int, int4, 16)
GANOPS_EMU_VEC2(unsigned, uint2, 8)
GANOPS_EMU_VEC4(unsigned, uint4, 16)
GANOPS_EMU_VEC2(double, double2, 16)
#undef GANOPS_EMU_VEC2
#undef GANOPS_EMU_VEC4
inline constexpr uint3 make_uint3(unsigned x, unsigned y, unsigned z) { return {x, y, z}; }
