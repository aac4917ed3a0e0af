// The device side of CUDA C++ as plain C++, for the CPU execution mode. The emulated build
// compiles every .cu file as C++ with this header first: kernels become ordinary functions
// that the runtime (runtime.cpp) calls once per CUDA thread, on a fiber, with threadIdx and
// blockIdx read from the running fiber. Only what our kernels use is here; a kernel using
// something missing fails to compile in CI, which is the point.
#pragma once
#ifndef GANOPS_EMULATED
#define GANOPS_EMULATED 1
#endif

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <math.h>
#include <source_location>
#include <type_traits>

#include "include/cuda_runtime_api.h"
#include "runtime.h"

// ---- qualifiers ----
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __restrict__ __restrict
#define __launch_bounds__(...)
#define __align__(n) alignas(n)
#define __constant__
// A worker thread runs one block at a time and all of that block's fibers: thread-local
// storage is per-block storage, as shared memory is.
#define __shared__ static thread_local

// ---- built-in variables ----
#define threadIdx (::ganops_emu::thread_idx())
#define blockIdx (::ganops_emu::block_idx())
#define blockDim (::ganops_emu::block_dim())
#define gridDim (::ganops_emu::grid_dim())
constexpr int warpSize = 32;

// ---- barriers ----
inline void __syncthreads(std::source_location where = std::source_location::current()) {
    ::ganops_emu::sync_threads(where);
}
inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline void __threadfence_block() { std::atomic_thread_fence(std::memory_order_seq_cst); }
[[noreturn]] inline void __trap(std::source_location where = std::source_location::current()) {
    ::ganops_emu::device_fault("__trap() called", where);
}

// ---- warp collectives: every lane in mask must call with the same mask ----
namespace ganops_emu {
template <class T>
inline uint64_t to_bits(T v) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>, "shuffles move values of at most 8 bytes");
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    return bits;
}
template <class T>
inline T from_bits(uint64_t bits) {
    T v;
    std::memcpy(&v, &bits, sizeof(T));
    return v;
}
enum class ShuffleKind { Index, Up, Down, Xor };
template <ShuffleKind kind>
void shuffle_op(LaneData* const lanes[32], unsigned mask, const void*);
void vote_op(LaneData* const lanes[32], unsigned mask, const void*);
void syncwarp_op(LaneData* const lanes[32], unsigned mask, const void*);

template <ShuffleKind kind, class T>
inline T shuffle(const char* name, unsigned mask, T var, int param, int width, std::source_location where) {
    LaneData mine;
    mine.in[0] = to_bits(var);
    mine.in[1] = static_cast<uint64_t>(static_cast<int64_t>(param));
    mine.in[2] = static_cast<uint64_t>(width);
    warp_collective(mask, name, mine, &shuffle_op<kind>, nullptr, where);
    return from_bits<T>(mine.out[0]);
}
inline unsigned vote(const char* name, unsigned mask, int predicate, std::source_location where) {
    LaneData mine;
    mine.in[0] = predicate != 0;
    warp_collective(mask, name, mine, &vote_op, nullptr, where);
    return static_cast<unsigned>(mine.out[0]);  // the ballot; any/all derive from it
}
unsigned active_mask();
}  // namespace ganops_emu

template <class T>
inline T __shfl_sync(unsigned mask, T var, int src_lane, int width = 32,
                     std::source_location where = std::source_location::current()) {
    return ganops_emu::shuffle<ganops_emu::ShuffleKind::Index>("__shfl_sync", mask, var, src_lane, width, where);
}
template <class T>
inline T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = 32,
                        std::source_location where = std::source_location::current()) {
    return ganops_emu::shuffle<ganops_emu::ShuffleKind::Up>("__shfl_up_sync", mask, var, int(delta), width, where);
}
template <class T>
inline T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = 32,
                          std::source_location where = std::source_location::current()) {
    return ganops_emu::shuffle<ganops_emu::ShuffleKind::Down>("__shfl_down_sync", mask, var, int(delta), width, where);
}
template <class T>
inline T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = 32,
                         std::source_location where = std::source_location::current()) {
    return ganops_emu::shuffle<ganops_emu::ShuffleKind::Xor>("__shfl_xor_sync", mask, var, lane_mask, width, where);
}
inline unsigned __ballot_sync(unsigned mask, int predicate, std::source_location where = std::source_location::current()) {
    return ganops_emu::vote("__ballot_sync", mask, predicate, where);
}
inline int __any_sync(unsigned mask, int predicate, std::source_location where = std::source_location::current()) {
    return ganops_emu::vote("__any_sync", mask, predicate, where) != 0;
}
inline int __all_sync(unsigned mask, int predicate, std::source_location where = std::source_location::current()) {
    return ganops_emu::vote("__all_sync", mask, predicate, where) == mask;
}
inline void __syncwarp(unsigned mask = 0xffffffffu, std::source_location where = std::source_location::current()) {
    ganops_emu::LaneData mine;
    ganops_emu::warp_collective(mask, "__syncwarp", mine, &ganops_emu::syncwarp_op, nullptr, where);
}
inline unsigned __activemask() { return ganops_emu::active_mask(); }

// ---- correctly rounded arithmetic: IEEE on both sides (the build has -ffp-contract=off) ----
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __frcp_rn(float a) { return 1.0f / a; }
inline float __fsqrt_rn(float a) { return std::sqrt(a); }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dsub_rn(double a, double b) { return a - b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __ddiv_rn(double a, double b) { return a / b; }
inline double __drcp_rn(double a) { return 1.0 / a; }
inline double __dsqrt_rn(double a) { return std::sqrt(a); }
inline double __fma_rn(double a, double b, double c) { return std::fma(a, b, c); }
// Fast approximations on the GPU; libm here (differences of a few ulp: tolerances, not bits).
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline float __saturatef(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }

// ---- bits ----
inline unsigned __float_as_uint(float x) { unsigned u; std::memcpy(&u, &x, 4); return u; }
inline float __uint_as_float(unsigned u) { float x; std::memcpy(&x, &u, 4); return x; }
inline int __float_as_int(float x) { int i; std::memcpy(&i, &x, 4); return i; }
inline float __int_as_float(int i) { float x; std::memcpy(&x, &i, 4); return x; }
inline long long __double_as_longlong(double x) { long long i; std::memcpy(&i, &x, 8); return i; }
inline double __longlong_as_double(long long i) { double x; std::memcpy(&x, &i, 8); return x; }
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x)); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline unsigned __brev(unsigned x) {
    unsigned r = 0;
    for (int i = 0; i < 32; ++i) r |= ((x >> i) & 1u) << (31 - i);
    return r;
}
template <class T>
inline T __ldg(const T* p) { return *p; }

// ---- min/max as CUDA's overloads: mixed integer widths promote ----
template <class A, class B>
inline std::common_type_t<A, B> min(A a, B b) { return b < a ? b : a; }
template <class A, class B>
inline std::common_type_t<A, B> max(A a, B b) { return a < b ? b : a; }

// ---- atomics: blocks run side by side on worker threads, so these are real atomics ----
template <class T>
inline T atomicAdd(T* address, T value) { return std::atomic_ref<T>(*address).fetch_add(value); }
template <class T>
inline T atomicSub(T* address, T value) { return std::atomic_ref<T>(*address).fetch_sub(value); }
template <class T>
inline T atomicExch(T* address, T value) { return std::atomic_ref<T>(*address).exchange(value); }
template <class T>
inline T atomicCAS(T* address, T compare, T value) {
    std::atomic_ref<T>(*address).compare_exchange_strong(compare, value);
    return compare;
}
namespace ganops_emu {
// *address = value if replaces(value, *address), atomically; returns the old value.
template <class T, class Replaces>
inline T atomic_replace_if(T* address, T value, Replaces replaces) {
    std::atomic_ref<T> a(*address);
    T old = a.load();
    while (replaces(value, old) && !a.compare_exchange_weak(old, value)) {}
    return old;
}
}  // namespace ganops_emu
template <class T>
inline T atomicMax(T* address, T value) {
    return ganops_emu::atomic_replace_if(address, value, [](T v, T old) { return old < v; });
}
template <class T>
inline T atomicMin(T* address, T value) {
    return ganops_emu::atomic_replace_if(address, value, [](T v, T old) { return v < old; });
}
