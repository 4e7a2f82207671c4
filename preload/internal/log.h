// One-line messages to stderr, prefixed "leaktrace: ". Async-signal-safe and
// malloc-free (formats into a stack buffer, writes with write(2)).
#pragma once

namespace leaktrace::preload {

// Supports %s, %d, %u, %lu, %llu, %x, %%. Truncates at 512 bytes. Written
// only while fd 2 is the file it was at start-up (NoteStderr): never into a
// file the program opened after it closed its stderr.
void Log(const char* format, ...) __attribute__((format(printf, 1, 2)));

// Start-up: remembers which file fd 2 is (or that it is closed). The first
// Log does it if start-up did not.
void NoteStderr();

}  // namespace leaktrace::preload
