// The allocator functions that do the real work: the next definitions after
// libleaktrace.so in symbol order (glibc, or jemalloc/tcmalloc/mimalloc when
// the program uses one).
#pragma once

#include <cstddef>

namespace leaktrace::preload {

struct RealFunctions {
  void* (*malloc)(size_t);
  void (*free)(void*);
  void* (*calloc)(size_t, size_t);
  void* (*realloc)(void*, size_t);
  void* (*memalign)(size_t, size_t);
  size_t (*malloc_usable_size)(void*);
};

// Filled by ResolveRealFunctions(); read-only afterwards.
extern RealFunctions real;

// Looks the functions up with dlsym(RTLD_NEXT). The lookup itself may
// allocate; the caller must have marked the thread busy so those allocations
// go to the bootstrap heap. Returns false when a function is missing.
bool ResolveRealFunctions();

}  // namespace leaktrace::preload
