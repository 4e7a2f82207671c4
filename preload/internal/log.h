// One-line messages to stderr, prefixed "leaktrace: ". Async-signal-safe and
// malloc-free (formats into a stack buffer, writes with write(2)).
#pragma once

namespace leaktrace::preload {

// Supports %s, %d, %u, %lu, %llu, %x, %%. Truncates at 512 bytes.
void Log(const char* format, ...) __attribute__((format(printf, 1, 2)));

}  // namespace leaktrace::preload
