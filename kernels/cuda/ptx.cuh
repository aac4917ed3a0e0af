// Every PTX instruction the kernels use, one small inline function each: the `asm` body that
// nvcc compiles and, beside it, the body the CPU execution mode runs (GANOPS_EMULATED, see
// ../../../shared/CUDA_ON_CPU.md). No kernel writes `asm` itself.
//
// The emulated bodies do the arithmetic in core/emu/ptx_emu.h (plain C++, tested against plain
// loops by tests/test_emu_ptx.cpp); the warp-wide instructions gather the 32 lanes' registers
// through ganops_emu::warp_collective first. What the emulation adds over the GPU:
//  - cp.async checks alignment when it is issued, fills its destination with 0xFF bytes (NaN
//    as floats) at once and copies only at the cp_async_wait_group / _wait_all that retires
//    its group: a read before the wait (or, from another thread, before the wait and the
//    barrier after it) sees NaN every time, where a GPU fails only sometimes.
//  - ldmatrix checks that each row address is 16-byte aligned.
//  - GANOPS_EMU_CHECK_TF32=1: an mma .tf32 operand whose low 13 bits are not zero (a value that
//    never went through cvt_rna_tf32) stops the kernel naming the lane, register and value. The
//    GPU ignores those bits, which silently truncates instead of rounding.
//  - GANOPS_EMU_MMA_ROUNDING=exact|truncate: how mma adds its products (ptx_emu.h explains both
//    models). The GPU's adder is undocumented: tests hold under both.
//
// Architecture: mma .tf32/.bf16, cp.async and cvt to tf32/bf16 need sm_80, ldmatrix sm_75. In a
// device pass for an older target (our compute_75 PTX) these functions compile to a trap: a
// kernel using them must only run on sm_80 or newer.
//
// Layouts (PTX ISA 9.7.14.5.7 / .8 "Matrix Fragments"; g = lane / 4, t = lane % 4):
//   mma_m16n8k8_tf32:  A 16x8 row-major  a0 (g,t) a1 (g+8,t) a2 (g,t+4) a3 (g+8,t+4)
//                      B 8x8 (k x n)     b0 (k=t, n=g) b1 (k=t+4, n=g)
//   mma_m16n8k16_bf16: A 16x16, 2 bf16 per register, element 2j in bits 15:0 of register j:
//                        a[0] = (g, 2t | 2t+1)    a[1] = (g+8, 2t | 2t+1)
//                        a[2] = (g, 2t+8 | 2t+9)  a[3] = (g+8, 2t+8 | 2t+9)
//                      B 16x8 (k x n)    b[0] = (k = 2t | 2t+1, n = g)  b[1] = (k = 2t+8 | 2t+9, n = g)
//   C/D (both):        c0 (g, 2t) c1 (g, 2t+1) c2 (g+8, 2t) c3 (g+8, 2t+1)
//   ldmatrix .x1/.x2/.x4: lane 8m + r gives the address of row r of matrix m (16 bytes, 16-byte
//   aligned; lanes past the last matrix give nothing); register m of lane l receives row l/4,
//   columns 2(l%4) (bits 15:0) and 2(l%4)+1 of matrix m -- the C/D layout above. .trans gives
//   the transpose: rows 2(l%4) and 2(l%4)+1 of column l/4.
#pragma once
#include <cstdint>

#if defined(GANOPS_EMULATED)
#include <bit>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <source_location>
#include <string>

#include "../../core/emu/profile.h"  // GANOPS_EMU_PROFILE_*: the profiling mode's hooks, empty otherwise
#include "../../core/emu/ptx_emu.h"
#include "../../core/emu/runtime.h"
#endif

#if defined(GANOPS_EMULATED)
#define GANOPS_PTX_FN inline
// The emulated wrappers take the call site, so a fault names the kernel's line.
#define GANOPS_PTX_WHERE , std::source_location where = std::source_location::current()
#else
#define GANOPS_PTX_FN __device__ __forceinline__
#define GANOPS_PTX_WHERE
#endif

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#define GANOPS_PTX_SM80 1
#else
#define GANOPS_PTX_SM80 0
#endif
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 750
#define GANOPS_PTX_SM75 1
#else
#define GANOPS_PTX_SM75 0
#endif
#if defined(__CUDA_ARCH__)
#define GANOPS_PTX_UNSUPPORTED() __trap()
#else
#define GANOPS_PTX_UNSUPPORTED() ((void)0)  // nvcc's host pass: never called
#endif

namespace ganops::cuda::ptx {

#if defined(GANOPS_EMULATED)
namespace emulated {

namespace ep = ganops_emu::ptx;

inline uint64_t pack2(uint32_t lo, uint32_t hi) { return uint64_t(lo) | (uint64_t(hi) << 32); }
inline uint32_t low(uint64_t v) { return static_cast<uint32_t>(v); }
inline uint32_t high(uint64_t v) { return static_cast<uint32_t>(v >> 32); }

inline ep::Accumulation accumulation() {
    return ganops_emu::mma_rounding() == ganops_emu::MmaRounding::Truncate ? ep::Accumulation::Truncate
                                                                           : ep::Accumulation::Exact;
}

// device_fault with a printf-style message.
[[noreturn]] __attribute__((format(printf, 2, 3))) inline void fault(std::source_location where, const char* format, ...) {
    char message[512];
    va_list args;
    va_start(args, format);
    std::vsnprintf(message, sizeof message, format, args);
    va_end(args);
    ganops_emu::device_fault(message, where);
}

// ---- mma: every lane deposits a (4), b (2), c (4); one call computes all 32 lanes' d ----
inline void deposit_mma(ganops_emu::LaneData& mine, const uint32_t (&a)[4], const uint32_t (&b)[2],
                        const float (&c)[4]) {
    mine.in[0] = pack2(a[0], a[1]);
    mine.in[1] = pack2(a[2], a[3]);
    mine.in[2] = pack2(b[0], b[1]);
    mine.in[3] = pack2(std::bit_cast<uint32_t>(c[0]), std::bit_cast<uint32_t>(c[1]));
    mine.in[4] = pack2(std::bit_cast<uint32_t>(c[2]), std::bit_cast<uint32_t>(c[3]));
}

template <bool Bf16>
void mma_op(ganops_emu::LaneData* const lanes[32], unsigned, const void*) {
    uint32_t a[32][4], b[32][2];
    float c[32][4], d[32][4];
    for (int l = 0; l < 32; ++l) {
        const ganops_emu::LaneData& x = *lanes[l];  // the mask is full: every lane is there
        a[l][0] = low(x.in[0]);
        a[l][1] = high(x.in[0]);
        a[l][2] = low(x.in[1]);
        a[l][3] = high(x.in[1]);
        b[l][0] = low(x.in[2]);
        b[l][1] = high(x.in[2]);
        c[l][0] = std::bit_cast<float>(low(x.in[3]));
        c[l][1] = std::bit_cast<float>(high(x.in[3]));
        c[l][2] = std::bit_cast<float>(low(x.in[4]));
        c[l][3] = std::bit_cast<float>(high(x.in[4]));
    }
    if constexpr (Bf16)
        ep::mma_m16n8k16_bf16(a, b, c, d, accumulation());
    else
        ep::mma_m16n8k8_tf32(a, b, c, d, accumulation());
    for (int l = 0; l < 32; ++l) {
        lanes[l]->out[0] = pack2(std::bit_cast<uint32_t>(d[l][0]), std::bit_cast<uint32_t>(d[l][1]));
        lanes[l]->out[1] = pack2(std::bit_cast<uint32_t>(d[l][2]), std::bit_cast<uint32_t>(d[l][3]));
    }
}

template <bool Bf16>
void mma(const char* name, float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2], const float (&c)[4],
         std::source_location where) {
    // Profiling mode: the lanes' gather below is not the GPU's data movement; count the mma.
    GANOPS_EMU_PROFILE_PAUSE();
    GANOPS_EMU_PROFILE_HOOK(mma(Bf16 ? 2.0 * 16 * 8 * 16 : 2.0 * 16 * 8 * 8));
    if (!Bf16 && ganops_emu::check_tf32()) {
        const unsigned lane = ganops_emu::this_thread().lane;
        for (int i = 0; i < 6; ++i) {
            const uint32_t v = i < 4 ? a[i] : b[i - 4];
            if (!ep::is_tf32(v))
                fault(where,
                      "%s: lane %u operand %c[%d] = 0x%08x (%.9g) has non-zero low 13 bits: not a tf32 "
                      "(round it with cvt_rna_tf32 first; GANOPS_EMU_CHECK_TF32=1)",
                      name, lane, i < 4 ? 'a' : 'b', i < 4 ? i : i - 4, v, double(std::bit_cast<float>(v)));
        }
    }
    ganops_emu::LaneData mine{};
    deposit_mma(mine, a, b, c);
    ganops_emu::warp_collective(0xffffffffu, name, mine, &mma_op<Bf16>, nullptr, where);
    d[0] = std::bit_cast<float>(low(mine.out[0]));
    d[1] = std::bit_cast<float>(high(mine.out[0]));
    d[2] = std::bit_cast<float>(low(mine.out[1]));
    d[3] = std::bit_cast<float>(high(mine.out[1]));
}

// ---- ldmatrix: every lane deposits its row address; one call loads all fragments ----
template <int Num, bool Trans>
void ldmatrix_op(ganops_emu::LaneData* const lanes[32], unsigned, const void*) {
    const void* rows[32] = {};
    for (int l = 0; l < 8 * Num; ++l) rows[l] = lanes[l]->addr;
    uint32_t out[32][4] = {};
    ep::ldmatrix_m8n8_b16(rows, Num, Trans, out);
    for (int l = 0; l < 32; ++l) {
        lanes[l]->out[0] = pack2(out[l][0], out[l][1]);
        lanes[l]->out[1] = pack2(out[l][2], out[l][3]);
    }
}

template <int Num, bool Trans>
void ldmatrix(const char* name, uint32_t (&r)[Num], const void* row, std::source_location where) {
    GANOPS_EMU_PROFILE_PAUSE();  // profiling mode: count the rows as read, not the emulation's copies
    const unsigned lane = ganops_emu::this_thread().lane;
    if (lane < 8u * Num) GANOPS_EMU_PROFILE_HOOK(record(where, ganops_emu::profile::hook::Op::Ldmatrix, row, 16));
    if (lane < 8u * Num && (row == nullptr || reinterpret_cast<uintptr_t>(row) % 16 != 0))
        fault(where, "%s: lane %u supplies row address %p, which is not 16-byte aligned", name, lane, row);
    ganops_emu::LaneData mine{};
    mine.addr = row;
    ganops_emu::warp_collective(0xffffffffu, name, mine, &ldmatrix_op<Num, Trans>, nullptr, where);
    for (int m = 0; m < Num; ++m) r[m] = m % 2 ? high(mine.out[m / 2]) : low(mine.out[m / 2]);
}

// ---- cp.async: check and poison at issue, copy at the retiring wait ----
inline void cp_async(const char* name, void* dst, const void* src, int bytes, int src_bytes, std::source_location where) {
    // Profiling mode: a global read of src_bytes (0 too) and a shared write of bytes, as issued.
    GANOPS_EMU_PROFILE_PAUSE();
    GANOPS_EMU_PROFILE_HOOK(record(where, ganops_emu::profile::hook::Op::CpAsyncRead, src, unsigned(src_bytes < 0 ? 0 : src_bytes)));
    GANOPS_EMU_PROFILE_HOOK(record(where, ganops_emu::profile::hook::Op::CpAsyncWrite, dst, unsigned(bytes)));
    if (reinterpret_cast<uintptr_t>(dst) % bytes != 0)
        fault(where, "%s: shared destination %p is not %d-byte aligned", name, dst, bytes);
    if (src_bytes < 0 || src_bytes > bytes)
        fault(where, "%s: src-size %d outside 0..%d", name, src_bytes, bytes);
    // With src-size 0 nothing is read, so a predicated-off copy may pass any source pointer.
    if (src_bytes > 0 && reinterpret_cast<uintptr_t>(src) % bytes != 0)
        fault(where, "%s: global source %p is not %d-byte aligned", name, src, bytes);
    std::memset(dst, 0xFF, bytes);  // NaN until the wait that retires this copy
    ganops_emu::ThreadCtx& self = ganops_emu::this_thread();
    if (self.cp_async_groups.empty()) self.cp_async_groups.emplace_back();
    self.cp_async_groups.back().push_back({dst, src, bytes, src_bytes});
}

// Closes the open group (the last one; an empty vector means an empty open group) and opens a
// new one. Empty groups count: wait_group N counts the N most recent committed groups.
inline void commit_group() {
    GANOPS_EMU_PROFILE_PAUSE();
    auto& groups = ganops_emu::this_thread().cp_async_groups;
    if (groups.empty()) groups.emplace_back();
    groups.emplace_back();
}

// Performs the copies of the oldest committed groups until at most `pending` committed groups
// remain. The last group is the open one (not committed): wait_group leaves it alone.
inline void wait_group(int pending) {
    GANOPS_EMU_PROFILE_PAUSE();  // profiling mode: the copies were counted at issue
    auto& groups = ganops_emu::this_thread().cp_async_groups;
    if (groups.empty()) groups.emplace_back();
    while (groups.size() - 1 > static_cast<size_t>(pending)) {
        for (const ganops_emu::ThreadCtx::PendingCopy& copy : groups.front()) {
            std::memcpy(copy.dst, copy.src, static_cast<size_t>(copy.src_bytes));
            std::memset(static_cast<char*>(copy.dst) + copy.src_bytes, 0, static_cast<size_t>(copy.bytes - copy.src_bytes));
        }
        groups.erase(groups.begin());
    }
}

}  // namespace emulated
#endif  // GANOPS_EMULATED

// ---------------------------------------------------------------------------------------------
// Conversions
// ---------------------------------------------------------------------------------------------

// cvt.rna.tf32.f32: x rounded to tf32 (nearest, ties away from zero), as a .b32 whose low 13
// bits are zero: the form mma_m16n8k8_tf32 takes its operands in.
GANOPS_PTX_FN uint32_t cvt_rna_tf32(float x) {
#if defined(GANOPS_EMULATED)
    return ganops_emu::ptx::cvt_rna_tf32(x);
#elif GANOPS_PTX_SM80
    uint32_t r;
    asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(x));
    return r;
#else
    GANOPS_PTX_UNSUPPORTED();
    return 0;
#endif
}

// cvt.rn.bf16.f32: x rounded to bf16 (nearest, ties to even), as its 16 bits.
GANOPS_PTX_FN uint16_t cvt_rn_bf16(float x) {
#if defined(GANOPS_EMULATED)
    return ganops_emu::ptx::cvt_rn_bf16(x);
#elif GANOPS_PTX_SM80
    uint16_t r;
    asm("cvt.rn.bf16.f32 %0, %1;\n" : "=h"(r) : "f"(x));
    return r;
#else
    GANOPS_PTX_UNSUPPORTED();
    return 0;
#endif
}

// cvt.rn.bf16x2.f32 d, a, b: bf16(a) in bits 31:16, bf16(b) in bits 15:0 (PTX's order).
GANOPS_PTX_FN uint32_t cvt_rn_bf16x2(float a, float b) {
#if defined(GANOPS_EMULATED)
    return ganops_emu::ptx::cvt_rn_bf16x2(a, b);
#elif GANOPS_PTX_SM80
    uint32_t r;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(a), "f"(b));
    return r;
#else
    GANOPS_PTX_UNSUPPORTED();
    return 0;
#endif
}

// Two consecutive fragment elements into one mma register: `first` (the lower-numbered
// element, e.g. a0) in bits 15:0, `second` in bits 31:16.
GANOPS_PTX_FN uint32_t pack_bf16x2(float first, float second) { return cvt_rn_bf16x2(second, first); }

// ---------------------------------------------------------------------------------------------
// Warp-level matrix multiply-accumulate: d = a * b + c for one warp (all 32 lanes, converged)
// ---------------------------------------------------------------------------------------------

// mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32. a and b hold tf32 values (cvt_rna_tf32).
GANOPS_PTX_FN void mma_m16n8k8_tf32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2],
                                    const float (&c)[4] GANOPS_PTX_WHERE) {
#if defined(GANOPS_EMULATED)
    emulated::mma<false>("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32", d, a, b, c, where);
#elif GANOPS_PTX_SM80
    asm volatile(
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 "
        "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%10, %11, %12, %13};\n"
        : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]),
          "f"(c[3]));
#else
    GANOPS_PTX_UNSUPPORTED();
#endif
}

// mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32. Registers of two bf16 (pack_bf16x2).
GANOPS_PTX_FN void mma_m16n8k16_bf16(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2],
                                     const float (&c)[4] GANOPS_PTX_WHERE) {
#if defined(GANOPS_EMULATED)
    emulated::mma<true>("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32", d, a, b, c, where);
#elif GANOPS_PTX_SM80
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
        "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%10, %11, %12, %13};\n"
        : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]),
          "f"(c[3]));
#else
    GANOPS_PTX_UNSUPPORTED();
#endif
}

// ---------------------------------------------------------------------------------------------
// ldmatrix.sync.aligned.m8n8{.x1,.x2,.x4}{.trans}.shared.b16: `row` is this lane's row address
// in shared memory (see the layout note at the top); all 32 lanes call it together.
// ---------------------------------------------------------------------------------------------
#if defined(GANOPS_EMULATED)
#define GANOPS_PTX_LDMATRIX(fn, num, trans, ptx_name, asm_body)                              \
    GANOPS_PTX_FN void fn(uint32_t (&r)[num], const void* row GANOPS_PTX_WHERE) {           \
        emulated::ldmatrix<num, trans>(ptx_name, r, row, where);                              \
    }
#elif GANOPS_PTX_SM75
#define GANOPS_PTX_LDMATRIX(fn, num, trans, ptx_name, asm_body)                              \
    GANOPS_PTX_FN void fn(uint32_t (&r)[num], const void* row) {                              \
        const uint32_t addr = static_cast<uint32_t>(__cvta_generic_to_shared(row));           \
        asm_body;                                                                             \
    }
#else
#define GANOPS_PTX_LDMATRIX(fn, num, trans, ptx_name, asm_body) \
    GANOPS_PTX_FN void fn(uint32_t (&r)[num], const void* row) { \
        (void)r;                                                 \
        (void)row;                                               \
        GANOPS_PTX_UNSUPPORTED();                                \
    }
#endif

GANOPS_PTX_LDMATRIX(ldmatrix_x1, 1, false, "ldmatrix.sync.aligned.m8n8.x1.shared.b16",
                    asm volatile("ldmatrix.sync.aligned.m8n8.x1.shared.b16 {%0}, [%1];\n"
                                 : "=r"(r[0])
                                 : "r"(addr)
                                 : "memory"))
GANOPS_PTX_LDMATRIX(ldmatrix_x2, 2, false, "ldmatrix.sync.aligned.m8n8.x2.shared.b16",
                    asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0, %1}, [%2];\n"
                                 : "=r"(r[0]), "=r"(r[1])
                                 : "r"(addr)
                                 : "memory"))
GANOPS_PTX_LDMATRIX(ldmatrix_x4, 4, false, "ldmatrix.sync.aligned.m8n8.x4.shared.b16",
                    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                                 : "r"(addr)
                                 : "memory"))
GANOPS_PTX_LDMATRIX(ldmatrix_x1_trans, 1, true, "ldmatrix.sync.aligned.m8n8.x1.trans.shared.b16",
                    asm volatile("ldmatrix.sync.aligned.m8n8.x1.trans.shared.b16 {%0}, [%1];\n"
                                 : "=r"(r[0])
                                 : "r"(addr)
                                 : "memory"))
GANOPS_PTX_LDMATRIX(ldmatrix_x2_trans, 2, true, "ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16",
                    asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0, %1}, [%2];\n"
                                 : "=r"(r[0]), "=r"(r[1])
                                 : "r"(addr)
                                 : "memory"))
GANOPS_PTX_LDMATRIX(ldmatrix_x4_trans, 4, true, "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16",
                    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                                 : "r"(addr)
                                 : "memory"))
#undef GANOPS_PTX_LDMATRIX

// ---------------------------------------------------------------------------------------------
// cp.async.{ca,cg}.shared.global: copy Bytes (4, 8, 16; .cg only 16) from global `src` to shared
// `dst`, both aligned to Bytes. The `src_bytes` forms read only src_bytes (0..Bytes) and fill
// the rest of dst with zeros (the src-size operand): the way to load a tile edge or padding.
// The copy is complete only after cp_async_wait_group / cp_async_wait_all retires its group;
// other threads see it only after that and a barrier.
// ---------------------------------------------------------------------------------------------
#if defined(GANOPS_EMULATED)
#define GANOPS_PTX_CP_ASYNC(fn, level, bytes)                                                         \
    GANOPS_PTX_FN void fn(void* dst, const void* src GANOPS_PTX_WHERE) {                              \
        emulated::cp_async("cp.async." level ".shared.global (" #bytes " bytes)", dst, src, bytes, bytes, where); \
    }                                                                                                 \
    GANOPS_PTX_FN void fn(void* dst, const void* src, int src_bytes GANOPS_PTX_WHERE) {               \
        emulated::cp_async("cp.async." level ".shared.global (" #bytes " bytes)", dst, src, bytes, src_bytes, where); \
    }
#elif GANOPS_PTX_SM80
#define GANOPS_PTX_CP_ASYNC(fn, level, bytes)                                                        \
    GANOPS_PTX_FN void fn(void* dst, const void* src) {                                              \
        const uint32_t d = static_cast<uint32_t>(__cvta_generic_to_shared(dst));                     \
        asm volatile("cp.async." level ".shared.global [%0], [%1], %2;\n"                            \
                     :                                                                               \
                     : "r"(d), "l"(__cvta_generic_to_global(src)), "n"(bytes)                        \
                     : "memory");                                                                    \
    }                                                                                                \
    GANOPS_PTX_FN void fn(void* dst, const void* src, int src_bytes) {                               \
        const uint32_t d = static_cast<uint32_t>(__cvta_generic_to_shared(dst));                     \
        asm volatile("cp.async." level ".shared.global [%0], [%1], %2, %3;\n"                        \
                     :                                                                               \
                     : "r"(d), "l"(__cvta_generic_to_global(src)), "n"(bytes), "r"(src_bytes)        \
                     : "memory");                                                                    \
    }
#else
#define GANOPS_PTX_CP_ASYNC(fn, level, bytes)                                                   \
    GANOPS_PTX_FN void fn(void* dst, const void* src) {                                         \
        (void)dst;                                                                              \
        (void)src;                                                                              \
        GANOPS_PTX_UNSUPPORTED();                                                               \
    }                                                                                           \
    GANOPS_PTX_FN void fn(void* dst, const void* src, int src_bytes) {                          \
        (void)dst;                                                                              \
        (void)src;                                                                              \
        (void)src_bytes;                                                                        \
        GANOPS_PTX_UNSUPPORTED();                                                               \
    }
#endif

GANOPS_PTX_CP_ASYNC(cp_async_ca4, "ca", 4)
GANOPS_PTX_CP_ASYNC(cp_async_ca8, "ca", 8)
GANOPS_PTX_CP_ASYNC(cp_async_ca16, "ca", 16)
GANOPS_PTX_CP_ASYNC(cp_async_cg16, "cg", 16)
#undef GANOPS_PTX_CP_ASYNC

// cp.async.commit_group: closes the group of this thread's copies issued since the last commit
// (an empty group if none).
GANOPS_PTX_FN void cp_async_commit_group() {
#if defined(GANOPS_EMULATED)
    emulated::commit_group();
#elif GANOPS_PTX_SM80
    asm volatile("cp.async.commit_group;\n" ::: "memory");
#else
    GANOPS_PTX_UNSUPPORTED();
#endif
}

// cp.async.wait_group N: waits until at most N of this thread's most recent committed groups
// are still pending; copies not yet committed are not waited for.
template <int N>
GANOPS_PTX_FN void cp_async_wait_group() {
    static_assert(N >= 0, "cp.async.wait_group takes a non-negative constant");
#if defined(GANOPS_EMULATED)
    emulated::wait_group(N);
#elif GANOPS_PTX_SM80
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
#else
    GANOPS_PTX_UNSUPPORTED();
#endif
}

// cp.async.wait_all: commit_group followed by wait_group 0 (all of this thread's copies).
GANOPS_PTX_FN void cp_async_wait_all() {
#if defined(GANOPS_EMULATED)
    emulated::commit_group();
    emulated::wait_group(0);
#elif GANOPS_PTX_SM80
    asm volatile("cp.async.wait_all;\n" ::: "memory");
#else
    GANOPS_PTX_UNSUPPORTED();
#endif
}

}  // namespace ganops::cuda::ptx
