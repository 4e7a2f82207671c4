/* vfork and clone as the program sees them. A child that shares our memory
   (vfork, or clone with CLONE_VM and without CLONE_THREAD) runs on the
   parent's thread state, tables included, so the descriptor hooks must tell
   its calls from the parent's (resource_paths.h, TrackingThisCall). Instead
   of a getpid system call in every tracked call, these entries raise a flag
   that sends the calling thread's tracked calls to the pid check until it
   is settled:
   - vfork: leaktrace_vfork_pending, this thread only. The parent is
     suspended until the child execs or exits, so the first tracked call
     that finds its own pid again is the parent's, and clears the flag.
   - clone with CLONE_VM, not CLONE_THREAD: leaktrace_shared_vm_child, the
     whole process and for good (such a child may run alongside the parent).
   Then they jump to glibc's own entries (__vfork, __clone: what vfork and
   clone are aliases of), return address untouched: a vfork child returns
   through the caller's frame, and clone's child starts on a stack of its
   own, so no C frame may stand in between. */
        .text
        .globl  vfork
        .type   vfork, @function
vfork:
        .cfi_startproc
#if defined(__CET__)
        endbr64
#endif
        movq    leaktrace_vfork_pending@gottpoff(%rip), %rax
        movb    $1, %fs:(%rax)
        jmp     __vfork@PLT
        .cfi_endproc
        .size   vfork, .-vfork

        .globl  clone
        .type   clone, @function
clone:
        .cfi_startproc
#if defined(__CET__)
        endbr64
#endif
        /* flags: the third argument. CLONE_VM 0x100, CLONE_THREAD 0x10000. */
        testl   $0x100, %edx
        jz      2f
        testl   $0x10000, %edx
        jnz     2f
        movb    $1, leaktrace_shared_vm_child(%rip)
2:
        jmp     __clone@PLT
        .cfi_endproc
        .size   clone, .-clone

        .section .note.GNU-stack,"",@progbits
