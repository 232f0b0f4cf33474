// The library's way in from a patched syscall site, and its two syscall
// instructions. See preload/abi.h.
    .text

// Called by a site stub (core/record/SyscallPatch.cc) with `call *slot(%rip)`
// after it stepped over the red zone. In: rax = syscall number, rdi, rsi,
// rdx, r10, r8, r9 = arguments, as for `syscall`. Out: rax = result, and,
// as `syscall` leaves them, rcx = where execution continues and r11 = the
// flags; every other register keeps its value. Nothing here or in the C code
// touches SSE/x87 state (-mgeneral-regs-only), which `syscall` preserves too.
    .globl rwd_syscall_entry
    .hidden rwd_syscall_entry
    .type rwd_syscall_entry, @function
rwd_syscall_entry:
    pushfq
    push %rbx
    push %r9
    push %r8
    push %r10
    push %rdx
    push %rsi
    push %rdi
    push %rax                 // rsp now points at a preload::Args
    mov %rsp, %rdi
    mov %rsp, %rbx
    cld
    // The C code runs on the thread's library stack, at the top of its
    // buffer (preload/abi.h, kLibStackSize), so that its frames never lie
    // below the program's rsp: they differ between record and replay (the
    // two take other paths), and the program's stack must not. The slot
    // holds 0 while a call has the stack, and before the thread has a
    // buffer; such a call stays where it is (.Lprogram_stack).
    mov rwd_stack_top@gottpoff(%rip), %r11
    mov %fs:(%r11), %rax
    test %rax, %rax
    jz .Lprogram_stack
    movq $0, %fs:(%r11)
    mov %rax, %rsp
    push %rax                 // the top, given back below
    push %rax                 // (rsp stays 16-aligned)
    call rwd_buffered_syscall
    mov (%rsp), %rcx
    mov rwd_stack_top@gottpoff(%rip), %r11
    mov %rcx, %fs:(%r11)
    jmp .Lreturn
.Lprogram_stack:
    and $-16, %rsp
    call rwd_buffered_syscall
    // Here the C code's dead frames lie below the program's rsp: zero them,
    // so that the stack looks the same in record and replay, to the state
    // hashes of preemption points and to a program that reads uninitialised
    // locals. RWD_ZEROED_STACK comes from preload/CMakeLists.txt, which
    // checks that it covers every frame.
    mov %rax, %r8
    lea -RWD_ZEROED_STACK(%rsp), %rdi
    mov $(RWD_ZEROED_STACK / 8), %ecx
    xor %eax, %eax
    rep stosq
    mov %r8, %rax
.Lreturn:
    mov %rbx, %rsp
    add $8, %rsp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %r10
    pop %r8
    pop %r9
    pop %rbx
    pop %r11                  // the flags at entry
    mov (%rsp), %rcx          // the return address
    ret
    .size rwd_syscall_entry, .-rwd_syscall_entry

// long rwd_untraced_syscall(const Args*) and long rwd_traced_syscall(const
// Args*). Whatever C path calls them, the registers at the syscall are the
// same (callee-saved ones zeroed, flags set by the xors), so that a syscall
// the tracer does see (a blocked buffered one, handed to the traced path)
// has the same registers in record and in replay.
.macro SYSCALL_HELPER name, untraced
    .globl \name
    .hidden \name
    .type \name, @function
\name:
    push %rbx
    push %rbp
    push %r12
    push %r13
    push %r14
    push %r15
    xor %ebx, %ebx
    xor %ebp, %ebp
    xor %r12d, %r12d
    xor %r13d, %r13d
    xor %r14d, %r14d
    xor %r15d, %r15d
    mov 0x10(%rdi), %rsi
    mov 0x18(%rdi), %rdx
    mov 0x20(%rdi), %r10
    mov 0x28(%rdi), %r8
    mov 0x30(%rdi), %r9
    mov 0x00(%rdi), %rax
    mov 0x08(%rdi), %rdi
.if \untraced == 1
    mov $0x70000010, %r11d
    call *%r11
.elseif \untraced == 3
    mov $0x70000030, %r11d
    call *%r11
.elseif \untraced == 4
    mov $0x70000040, %r11d
    call *%r11
.else
    syscall
.endif
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbp
    pop %rbx
    ret
    .size \name, .-\name
.endm

// kUntracedSyscallInsn in rewind's page: "syscall; ret".
SYSCALL_HELPER rwd_untraced_syscall, 1
SYSCALL_HELPER rwd_traced_syscall, 0
// kReplayedSyscallInsn: replay's library making a kBufReplayExecutes call.
SYSCALL_HELPER rwd_replayed_syscall, 3
// kBatonSyscallInsn: the futex calls of a hand-off (preload.cc, baton_wait).
SYSCALL_HELPER rwd_baton_syscall, 4

    .section .note.GNU-stack, "", @progbits
