// From a captured stack (its return addresses) to the stack id a shard
// counts under: the shard's hash cache first, else the process-wide stack
// table (stack_table.h). Used by the tracker and by the unwind cache when it
// learns a chain.
#pragma once

#include <cstdint>

namespace leaktrace::preload {

class Shard;
struct CapturedStack;

// The id of a captured stack: from the shard's hash cache, else interned
// (into the shard's arena, or the orphan shard's when `shard` is null). 0
// when the table is full (counted as dropped). `hash_out`, if given,
// receives the stack's hash. Thread busy; owner of `shard` only.
uint32_t InternCaptured(Shard* shard, const CapturedStack& stack, uint64_t* hash_out = nullptr);

// The id of the stack with no frame: what leaktrace books objects it did
// not see made at ("(no stack)": before an attach, descriptors made
// unseen). Interned through the orphan shard. Thread busy.
uint32_t NoFrameStackId();

}  // namespace leaktrace::preload
