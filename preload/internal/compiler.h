// Small compiler helpers shared by the preload library.
#pragma once

#define LT_LIKELY(x) __builtin_expect(!!(x), 1)
#define LT_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define LT_NOINLINE __attribute__((noinline))
#define LT_ALWAYS_INLINE inline __attribute__((always_inline))
#define LT_EXPORT extern "C" __attribute__((visibility("default")))
#define LT_INITIAL_EXEC __attribute__((tls_model("initial-exec")))
// On the extern declaration of one of the library's own variables:
// -fvisibility=hidden leaves extern declarations alone, so without it the
// compiler reads the variable through the GOT (a load of its address, then
// the load, on every hook's path) instead of in one RIP-relative load.
#define LT_HIDDEN __attribute__((visibility("hidden")))
// What the fork handlers write (the locks held across fork, the state a
// child resets), gathered in one section of its own: after fork, every page
// the parent writes (unlocking) or the child writes (resetting) costs a
// copy-on-write fault and a page copy, and these variables, each in its own
// file, otherwise sit on a dozen pages between the library's large tables.
// The section sits on a page of its own (internal/fork_state.ld, which
// fails the link if it outgrows the page). LT_FORK_LOCK also gives its
// variable a cache line of its own (a lock, or a counter threads touch);
// LT_FORK_STATE is for the rest.
// LT_FORK_CHILD_CODE gathers the child's fork handlers the same way: a
// fork child maps the library's code afresh, a fault per 64 KiB window it
// runs code in, and the handlers sit in a dozen files.
#define LT_FORK_CHILD_CODE __attribute__((section(".text.leaktrace_fork_child")))
#define LT_FORK_LOCK __attribute__((section("leaktrace_fork_state"), aligned(64)))
#define LT_FORK_STATE __attribute__((section("leaktrace_fork_state")))
// A structure, written by the child in its first 64 bytes only, whose head
// goes on the fork state's page and whose tail runs on past it (one, at most:
// the linker script puts it last).
#define LT_FORK_STATE_HEAD __attribute__((section("leaktrace_fork_state_head")))
// A small variable every process's first sampled allocation (or first
// unwind) reads or writes, which in .bss sat alone on a page no earlier work
// had touched (a fault, 1-2 us; two when read before it is written):
// gathered with the fork state, on the page every process's start-up has
// written already (internal/fork_state.ld). libunwind's own such variables
// go there too (deps/unwinder-patches/08).
#define LT_EARLY_STATE __attribute__((section("leaktrace_early_state")))
// A large table of zeros that starts static rather than mapped (the stack
// table's first generation, the age table's first slots): in .lbss, which
// the linker puts after all of .bss (zero-filled too, no bytes in the
// file), so that its size moves none of the other variables onto pages
// of their own (a variable alone on a page costs a fault where it once
// shared a page already touched).
#define LT_LARGE_STATIC __attribute__((section(".lbss")))
