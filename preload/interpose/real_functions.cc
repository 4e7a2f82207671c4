#include "preload/interpose/real_functions.h"

#include <dlfcn.h>

namespace leaktrace::preload {

RealFunctions real = {};

namespace {
template <typename Fn>
bool Lookup(Fn& slot, const char* name) {
  slot = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
  return slot != nullptr;
}
}  // namespace

bool ResolveRealFunctions() {
  RealFunctions found = {};
  bool ok = Lookup(found.malloc, "malloc");
  ok &= Lookup(found.free, "free");
  ok &= Lookup(found.calloc, "calloc");
  ok &= Lookup(found.realloc, "realloc");
  ok &= Lookup(found.memalign, "memalign");
  ok &= Lookup(found.malloc_usable_size, "malloc_usable_size");
  if (ok) real = found;
  return ok;
}

}  // namespace leaktrace::preload
