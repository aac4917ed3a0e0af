// Fibers for the CPU execution mode: one per CUDA thread that reaches a barrier or a warp
// collective. A fiber is a stack and a saved stack pointer; switching is a handful of
// pushes and pops (fiber_switch_x86_64.S). Under AddressSanitizer every switch is announced
// to it, so ASan checks device code running on fiber stacks like any other code.
#pragma once
#include <cstddef>

namespace ganops_emu {

struct Fiber {
    void* sp = nullptr;
    const void* bottom = nullptr;  // lowest usable address of the stack (for ASan)
    size_t size = 0;
    void* fake_stack = nullptr;    // ASan's fake stack of this fiber while switched out
};

// A stack with a guard page below it: an overflow faults instead of corrupting memory.
struct FiberStack {
    char* base = nullptr;  // mapping, guard page first
    size_t mapped = 0;
    FiberStack() = default;
    explicit FiberStack(size_t usable_bytes);
    FiberStack(FiberStack&& other) noexcept;
    FiberStack& operator=(FiberStack&& other) noexcept;
    ~FiberStack();
    char* bottom() const;
    size_t usable() const;
};

// Prepares `fiber` to start running entry(arg) on `stack` at its next switch. `stagger`
// offsets the top of the stack so that many fibers' hot frames do not share cache sets.
void make_fiber(Fiber& fiber, FiberStack& stack, size_t stagger, void (*entry)(void*), void* arg);
// Saves the running context in `from` and resumes `to`. `from_ends`: `from` never runs again
// (every frame a fiber abandons this way must be uninstrumented: see fiber.cpp).
void switch_fiber(Fiber& from, Fiber& to, bool from_ends = false);
// Must be the first call of a fiber's entry function (it completes the switch for ASan and
// records the stack that switched to it in `from`).
void fiber_started(Fiber& from);
// After a fiber was abandoned mid-call (a fault), its stack still carries ASan's poisoning
// of the frames that never returned: clear it before reuse.
void forget_frames(FiberStack& stack);

}  // namespace ganops_emu
