#include "fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <utility>

#if defined(__SANITIZE_ADDRESS__)
#define GANOPS_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GANOPS_EMU_ASAN 1
#endif
#endif
#if GANOPS_EMU_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

extern "C" void ganops_emu_switch(void** save_sp, void* load_sp);
extern "C" void ganops_emu_fiber_start();

namespace ganops_emu {

namespace {
size_t page_size() {
    static const size_t size = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    return size;
}
}  // namespace

FiberStack::FiberStack(size_t usable_bytes) {
    const size_t page = page_size();
    mapped = (usable_bytes + page - 1) / page * page + page;
    void* p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        std::fprintf(stderr, "ganops emulator: cannot map a %zu-byte fiber stack\n", mapped);
        std::abort();
    }
    base = static_cast<char*>(p);
    mprotect(base, page, PROT_NONE);
}
FiberStack::FiberStack(FiberStack&& other) noexcept
    : base(std::exchange(other.base, nullptr)), mapped(std::exchange(other.mapped, 0)) {}
FiberStack& FiberStack::operator=(FiberStack&& other) noexcept {
    std::swap(base, other.base);
    std::swap(mapped, other.mapped);
    return *this;
}
FiberStack::~FiberStack() {
    if (base) munmap(base, mapped);
}
char* FiberStack::bottom() const { return base + page_size(); }
size_t FiberStack::usable() const { return mapped - page_size(); }

void make_fiber(Fiber& fiber, FiberStack& stack, size_t stagger, void (*entry)(void*), void* arg) {
    char* top = stack.bottom() + stack.usable() - (stagger % 64) * 64;
    top = reinterpret_cast<char*>(reinterpret_cast<uintptr_t>(top) & ~uintptr_t{15});
    // The frame ganops_emu_switch pops: control words, r15, r14, r13 (entry), r12 (arg),
    // rbx, rbp, then the return address, which sits 8 bytes below a 16-byte boundary so
    // that the call in ganops_emu_fiber_start sees an ABI-aligned stack.
    auto* slot = reinterpret_cast<uint64_t*>(top);
    *--slot = reinterpret_cast<uint64_t>(&ganops_emu_fiber_start);
    *--slot = 0;                                  // rbp
    *--slot = 0;                                  // rbx
    *--slot = reinterpret_cast<uint64_t>(arg);    // r12
    *--slot = reinterpret_cast<uint64_t>(entry);  // r13
    *--slot = 0;                                  // r14
    *--slot = 0;                                  // r15
    *--slot = uint64_t{0x037F} << 32 | 0x1F80;    // x87 control word, MXCSR (defaults)
    fiber.sp = slot;
    fiber.bottom = stack.bottom();
    fiber.size = stack.usable();
    fiber.fake_stack = nullptr;
}

// Not instrumented: a fiber that ends never returns from this call, and an instrumented frame
// left behind would leave its redzones poisoned in the stack's shadow, where the next fiber
// on that stack would trip over them.
__attribute__((no_sanitize_address, noinline)) void switch_fiber(Fiber& from, Fiber& to, bool from_ends) {
#if GANOPS_EMU_ASAN
    __sanitizer_start_switch_fiber(from_ends ? nullptr : &from.fake_stack, to.bottom, to.size);
    ganops_emu_switch(&from.sp, to.sp);
    const void* previous_bottom = nullptr;
    size_t previous_size = 0;
    __sanitizer_finish_switch_fiber(from.fake_stack, &previous_bottom, &previous_size);
#else
    (void)from_ends;
    ganops_emu_switch(&from.sp, to.sp);
#endif
}

void fiber_started(Fiber& from) {
#if GANOPS_EMU_ASAN
    __sanitizer_finish_switch_fiber(nullptr, &from.bottom, &from.size);
#else
    (void)from;
#endif
}

void forget_frames(FiberStack& stack) {
#if GANOPS_EMU_ASAN
    __asan_unpoison_memory_region(stack.bottom(), stack.usable());
#else
    (void)stack;
#endif
}

}  // namespace ganops_emu
