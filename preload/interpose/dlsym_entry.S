/* dlsym as the program sees it. glibc answers RTLD_NEXT (and, for
   RTLD_DEFAULT, picks the lookup scope) by the caller's return address, so
   this entry jumps straight to the real dlsym, return address untouched,
   unless leaktrace wraps an allocator's own API (native_api.h) or the real
   dlsym is not known yet. Then it first asks leaktrace_dlsym_hook
   (native_api.cc), which returns the wrapper to hand out for a wrapped name,
   or NULL: the real dlsym then answers, still for the original caller. */
        .text
        .globl  dlsym
        .type   dlsym, @function
dlsym:
        .cfi_startproc
#if defined(__CET__)
        endbr64
#endif
        cmpb    $0, leaktrace_native_active(%rip)
        jne     1f
        movq    leaktrace_real_dlsym(%rip), %rax
        testq   %rax, %rax
        jz      1f
        jmp     *%rax
1:
        /* Keep the arguments; 16-byte stack alignment for the call. */
        pushq   %rdi
        .cfi_adjust_cfa_offset 8
        pushq   %rsi
        .cfi_adjust_cfa_offset 8
        subq    $8, %rsp
        .cfi_adjust_cfa_offset 8
        call    leaktrace_dlsym_hook
        addq    $8, %rsp
        .cfi_adjust_cfa_offset -8
        popq    %rsi
        .cfi_adjust_cfa_offset -8
        popq    %rdi
        .cfi_adjust_cfa_offset -8
        testq   %rax, %rax
        jnz     2f
        movq    leaktrace_real_dlsym(%rip), %rax
        testq   %rax, %rax
        jz      2f
        jmp     *%rax
2:
        ret
        .cfi_endproc
        .size   dlsym, .-dlsym

        .section .note.GNU-stack,"",@progbits
