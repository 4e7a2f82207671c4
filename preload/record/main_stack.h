// The main thread's stack bounds without asking /proc: what the kernel laid
// out at exec, checked with one mincore.
#pragma once

#include <cstdint>

namespace leaktrace::preload {

// [*low, *high): a part of the main thread's stack mapping, all of it mapped
// now, from the mapping's top (the end of the string AT_EXECFN points to,
// plus the null word above it: where exec(2) puts the file name) down to
// kMainStackSlack below the lower of `sp` and __libc_stack_end, both of
// which must lie within kMainStackSpan of the top. One mincore(2) over the
// range says every page is mapped; the kernel keeps other mappings a guard
// gap away from a stack's, so a range that holds the stack's top and is
// mapped throughout is the stack's. False when any of that does not hold
// (a loader or tool that built the stack itself, a stack run deeper than the
// span): the caller asks the kernel instead. Main thread, any stack it runs
// on (`sp` is where it runs). Makes no allocation; async-signal-safe.
bool MainStackAroundExecFn(uintptr_t sp, uintptr_t* low, uintptr_t* high);

// How far below the deeper of `sp` and __libc_stack_end the range starts:
// the frames of calls deeper than this one, later, fall within it.
inline constexpr uintptr_t kMainStackSlack = 64u << 10;
// The most the range may span (one mincore vector on the stack: a byte a
// page).
inline constexpr uintptr_t kMainStackSpan = 1u << 20;

}  // namespace leaktrace::preload
