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
   clone also raises leaktrace_cwd_unshared for good when the child shares
   the working directory without being a thread, or the reverse.
   Then they jump to the next vfork / clone (leaktrace_real_vfork and
   leaktrace_real_clone, real_functions.cc: glibc's, or a sanitizer's
   that comes after us), or to glibc's own entries (__vfork, __clone, which
   vfork and clone are aliases of) before those are resolved, with the
   return address untouched: a vfork child returns through the caller's
   frame, and clone's child starts on a stack of its own, so no C frame may
   stand in between. */
        .text
        .globl  vfork
        .type   vfork, @function
vfork:
        .cfi_startproc
#if defined(__CET__)
        endbr64
#endif
        /* %r11 only: it carries no argument (and clone, being variadic,
           gets a vector-register count in %al that must stay). */
        movq    leaktrace_vfork_pending@gottpoff(%rip), %r11
        movb    $1, %fs:(%r11)
        movq    leaktrace_real_vfork(%rip), %r11
        testq   %r11, %r11
        jz      1f
        jmp     *%r11
1:
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
        /* CLONE_FS 0x200 without CLONE_THREAD 0x10000 (a process sharing
           our working directory), or the reverse (a thread with one of its
           own): the working directory's path is kept no more
           (resources/working_dir.h). */
        movl    %edx, %r11d
        andl    $0x10200, %r11d
        jz      4f
        cmpl    $0x10200, %r11d
        je      4f
        movb    $1, leaktrace_cwd_unshared(%rip)
4:
        /* flags: the third argument. CLONE_VM 0x100, CLONE_THREAD 0x10000. */
        testl   $0x100, %edx
        jz      2f
        testl   $0x10000, %edx
        jnz     2f
        movb    $1, leaktrace_shared_vm_child(%rip)
        /* CLONE_FILES 0x400: the child shares our descriptor table too. */
        testl   $0x400, %edx
        jz      2f
        movb    $1, leaktrace_shared_files_child(%rip)
2:
        movq    leaktrace_real_clone(%rip), %r11
        testq   %r11, %r11
        jz      3f
        jmp     *%r11
3:
        jmp     __clone@PLT
        .cfi_endproc
        .size   clone, .-clone

        .section .note.GNU-stack,"",@progbits
