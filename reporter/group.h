// How stacks fold into call sites: by whole stack (the default), by the
// innermost N frames, or by the innermost *user* frame's function.
#pragma once

#include <cstddef>
#include <vector>

#include "reporter/model.h"

namespace leaktrace::reporter {

enum class GroupBy {
  kStack,     // a site is a distinct stack (with `depth`: its innermost `depth` frames)
  kFunction,  // a site is the function of the innermost user frame (with
              // `depth`: that function and its `depth - 1` callers, by function)
};

struct Grouping {
  GroupBy by = GroupBy::kStack;
  size_t depth = 0;  // 0: no limit (kStack), 1 (kFunction)

  bool is_default() const { return by == GroupBy::kStack && depth == 0; }
};

// True for a frame of the C/C++ runtime or allocator plumbing, i.e. not the
// program's own code:
//  - a frame in libc, libm, libpthread, libdl, librt, ld.so, libstdc++,
//    libc++/libc++abi, libgcc_s, or an allocator library (jemalloc,
//    tcmalloc, mimalloc);
//  - a frame whose source file is a system header or runtime source
//    (/usr/include/..., /usr/lib/gcc/..., e.g. std::vector's code inlined
//    into the program);
//  - an allocation function by name: operator new/new[]/delete, malloc,
//    calloc, realloc, reallocarray, aligned_alloc, posix_memalign, memalign,
//    valloc, pvalloc, strdup, strndup;
//  - a function of namespace std::, __gnu_cxx:: or __cxxabiv1:: (template
//    code instantiated in the program, with or without debug information).
// A frame without any symbol in the program's own module is a user frame.
bool IsRuntimeFrame(const Frame& frame);

// The index of the innermost user frame (the first that is not
// IsRuntimeFrame), or 0 when every frame is runtime code.
size_t InnermostUserFrame(const std::vector<Frame>& frames);

// Folds `sites` per `grouping`: frames cut to what the grouping keeps, keys
// recomputed, and sites with equal keys added up (CombineSites). In
// kFunction mode, a kept frame whose line differs between folded stacks
// shows no line. A no-op for the default grouping.
std::vector<Site> Regroup(std::vector<Site> sites, const Grouping& grouping);
void Regroup(Report& report, const Grouping& grouping);

}  // namespace leaktrace::reporter
