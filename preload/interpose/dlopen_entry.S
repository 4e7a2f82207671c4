/* dlopen as the program sees it. glibc identifies dlopen's caller by its
   return address (for $ORIGIN and the caller's RUNPATH), so an ordinary
   wrapper would make every relative dlopen search as if leaktrace asked.
   This entry therefore jumps straight to the real dlopen, return address
   untouched, for every call but one with RTLD_DEEPBIND (0x8): those go to
   leaktrace_dlopen_deepbind (deepbind.cc), which opens the library and then
   points its malloc-family imports back at leaktrace. So do dlopens of a
   path (a '/' and no '$') while an allocator's own API is wrapped
   (native_api.h): the new modules' imports of it are rewritten right after
   loading. */
        .text
        .globl  dlopen
        .type   dlopen, @function
dlopen:
        .cfi_startproc
#if defined(__CET__)
        endbr64
#endif
        testl   $0x8, %esi
        jnz     1f
        cmpb    $0, leaktrace_native_active(%rip)
        jne     2f
3:
        movq    leaktrace_real_dlopen(%rip), %rax
        testq   %rax, %rax
        jz      1f
        jmp     *%rax
2:
        /* An allocator's own API is wrapped: ask whether this dlopen can be
           made from leaktrace (a path, so the caller does not matter). */
        pushq   %rdi
        .cfi_adjust_cfa_offset 8
        pushq   %rsi
        .cfi_adjust_cfa_offset 8
        subq    $8, %rsp
        .cfi_adjust_cfa_offset 8
        call    leaktrace_dlopen_by_path
        addq    $8, %rsp
        .cfi_adjust_cfa_offset -8
        popq    %rsi
        .cfi_adjust_cfa_offset -8
        popq    %rdi
        .cfi_adjust_cfa_offset -8
        testl   %eax, %eax
        jz      3b
1:
        jmp     leaktrace_dlopen_deepbind
        .cfi_endproc
        .size   dlopen, .-dlopen

        .section .note.GNU-stack,"",@progbits
