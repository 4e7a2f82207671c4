// Interned labels for descriptor and mapping sites ("pipe", "socket
// inet/stream", "file:/etc/services", "anon" ...): a label is stored once and
// named by a small id, so a table slot can hold "stack id + label id" in one
// atomic word.
//
// Lookups are lock-free; inserting a label never seen before takes a spin
// lock (rare after warm-up). Insert-only: an id, once handed out, names its
// string for the life of the process. Capacity is bounded (8,192 labels):
// when the table is full, InternLabel returns 0 and callers fall back to a
// label without the path (the kind alone, InternKindLabel), for which the
// table keeps its last entries.
#pragma once

#include <cstddef>
#include <cstdint>

namespace leaktrace::preload {

// The id of `text` (n bytes, no NUL needed), inserting it. 0 when the table
// is full or out of memory. Never allocates through malloc. Any thread.
uint32_t InternLabel(const char* text, size_t n);
uint32_t InternLabel(const char* text);

// The same for a kind ("file", "pipe", "socket inet/stream": a bounded set
// of short texts), which may take the entries InternLabel leaves: 0 only
// out of memory.
uint32_t InternKindLabel(const char* kind);

// The id of "<prefix>: <text of label>" ("before attach: file:/var/log/x"),
// or of the prefix alone when that cannot be made. Any thread.
uint32_t PrefixedLabel(const char* prefix, uint32_t label);

// The NUL-terminated string of an id handed out by InternLabel; "" for 0.
const char* LabelText(uint32_t id);

// Labels stored so far, for the health section.
uint64_t LabelCount();

// Fork handlers for the insert lock.
void LabelTablePrepareFork();
void LabelTableParentAfterFork();
void LabelTableChildAfterFork();

}  // namespace leaktrace::preload
