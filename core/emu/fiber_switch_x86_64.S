// Fiber context switch for the CPU execution mode (x86-64, System V). A fiber's saved
// context is its stack pointer; everything else the ABI says a callee must preserve
// (rbx, rbp, r12-r15, the SSE control/status word and the x87 control word) is pushed on
// its own stack. swapcontext would make a system call per switch (signal mask): this does not.
//
//   void ganops_emu_switch(void** save_sp, void* load_sp);
//   ganops_emu_fiber_start: first "return address" of a new fiber; calls r13(r12), never returns.
    .text
    .globl ganops_emu_switch
    .type ganops_emu_switch, @function
ganops_emu_switch:
    .cfi_startproc
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .cfi_endproc
    .size ganops_emu_switch, .-ganops_emu_switch

    .globl ganops_emu_fiber_start
    .type ganops_emu_fiber_start, @function
ganops_emu_fiber_start:
    .cfi_startproc
    .cfi_undefined rip
    movq %r12, %rdi
    callq *%r13
    ud2
    .cfi_endproc
    .size ganops_emu_fiber_start, .-ganops_emu_fiber_start

    .section .note.GNU-stack,"",@progbits
