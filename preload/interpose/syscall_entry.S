/* syscall(3) as the program sees it. Three numbers matter to leaktrace:
   SYS_seccomp, which can lock the process into a sandbox whose filter kills
   it at the first system call it does not allow; such a call goes to
   leaktrace_seccomp_syscall (hooks_sandbox.cc), which turns snapshots off
   first. SYS_close and SYS_close_range go to the close and close_range
   hooks (hooks_fd.cc), so a descriptor closed so leaves the table, and
   SYS_memfd_create to the memfd_create hook, so one made so is counted
   (a JVM's ZGC makes its heap's memfd so).
   leaktrace's own raw calls never come here (internal/raw_syscall.h).
   Every other call jumps on to the next syscall (glibc's, resolved
   into leaktrace_real_syscall by real_functions.cc) with every register and
   the stack untouched: a raw clone or vfork through syscall(3) returns as
   it would without leaktrace. Before that pointer is resolved (leaktrace's
   own early calls), the call is made here, as glibc makes it: six
   arguments, -4095..-1 is -errno. */
        .text
        .globl  syscall
        .type   syscall, @function
syscall:
        .cfi_startproc
#if defined(__CET__)
        endbr64
#endif
        cmpq    $317, %rdi              /* SYS_seccomp on x86-64 */
        je      leaktrace_seccomp_syscall
        cmpq    $3, %rdi                /* SYS_close */
        je      leaktrace_close_syscall
        cmpq    $436, %rdi              /* SYS_close_range */
        je      leaktrace_close_range_syscall
        cmpq    $319, %rdi              /* SYS_memfd_create */
        je      leaktrace_memfd_create_syscall
        movq    leaktrace_real_syscall(%rip), %r11
        testq   %r11, %r11
        jz      1f
        jmp     *%r11
1:
        movq    %rdi, %rax
        movq    %rsi, %rdi
        movq    %rdx, %rsi
        movq    %rcx, %rdx
        movq    %r8, %r10
        movq    %r9, %r8
        movq    8(%rsp), %r9
        syscall
        cmpq    $-4095, %rax
        jae     2f
        ret
2:
        movq    %rax, %rdi
        jmp     leaktrace_syscall_failed
        .cfi_endproc
        .size   syscall, .-syscall

        .section .note.GNU-stack,"",@progbits
