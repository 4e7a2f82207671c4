/* dlopen as the program sees it. glibc identifies dlopen's caller by its
   return address (for $ORIGIN and the caller's RUNPATH), so an ordinary
   wrapper would make every relative dlopen search as if leaktrace asked.
   This entry therefore jumps straight to the real dlopen, return address
   untouched, for every call but one with RTLD_DEEPBIND (0x8): those go to
   leaktrace_dlopen_deepbind (deepbind.cc), which opens the library and then
   points its malloc-family imports back at leaktrace. */
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
        movq    leaktrace_real_dlopen(%rip), %rax
        testq   %rax, %rax
        jz      1f
        jmp     *%rax
1:
        jmp     leaktrace_dlopen_deepbind
        .cfi_endproc
        .size   dlopen, .-dlopen

        .section .note.GNU-stack,"",@progbits
