/* emu_swap(void **save_sp, void *to_sp): saves the callee-saved registers,
 * MXCSR and the x87 control word on the current stack, stores the stack
 * pointer in *save_sp, and resumes the context saved at to_sp (x86-64 SysV). */
    .text
    .globl emu_swap
    .type emu_swap,@function
emu_swap:
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
    .size emu_swap, .-emu_swap
    .section .note.GNU-stack,"",@progbits
