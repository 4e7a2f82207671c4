/* malloc, free, calloc and realloc as the program sees them: one indirect
   jump each through leaktrace_malloc_hooks (malloc_dispatch.h), arguments
   and return address untouched, so the function reached runs as if called
   by the program (and the unwind cache sees no frame of ours here). */
        .text

        .macro  ENTRY name, offset
        .globl  \name
        .type   \name, @function
        .p2align 4
\name:
        .cfi_startproc
#if defined(__CET__)
        endbr64
#endif
        jmp     *leaktrace_malloc_hooks+\offset(%rip)
        .cfi_endproc
        .size   \name, .-\name
        .endm

        ENTRY   malloc, 0
        ENTRY   free, 8
        ENTRY   calloc, 16
        ENTRY   realloc, 24

        .section .note.GNU-stack,"",@progbits
