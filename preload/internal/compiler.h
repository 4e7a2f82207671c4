// Small compiler helpers shared by the preload library.
#pragma once

#define LT_LIKELY(x) __builtin_expect(!!(x), 1)
#define LT_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define LT_NOINLINE __attribute__((noinline))
#define LT_ALWAYS_INLINE inline __attribute__((always_inline))
#define LT_EXPORT extern "C" __attribute__((visibility("default")))
#define LT_INITIAL_EXEC __attribute__((tls_model("initial-exec")))
