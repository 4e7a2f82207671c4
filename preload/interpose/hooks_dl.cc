// dlclose as the program sees it: before a module may go away, the module map
// takes note of everything loaded now, so stacks through a plugin that was
// opened and closed between two snapshots still symbolize (the next dump
// keeps it, flagged unloaded, with its load range and build id).
#include <dlfcn.h>

#include <atomic>

#include "preload/internal/compiler.h"
#include "preload/snapshot/module_map.h"
#include "preload/record/thread_state.h"
#include "preload/record/tracker.h"

using namespace leaktrace::preload;

namespace {

using DlcloseFn = int (*)(void*);
std::atomic<DlcloseFn> g_real_dlclose{nullptr};

DlcloseFn RealDlclose() {
  DlcloseFn fn = g_real_dlclose.load(std::memory_order_acquire);
  if (LT_LIKELY(fn != nullptr)) return fn;
  BusyScope busy;  // dlsym may allocate (its error state): untracked
  fn = reinterpret_cast<DlcloseFn>(dlsym(RTLD_NEXT, "dlclose"));
  g_real_dlclose.store(fn, std::memory_order_release);
  return fn;
}

}  // namespace

LT_EXPORT int dlclose(void* handle) {
  const DlcloseFn real_dlclose = RealDlclose();
  // A dlclose from inside leaktrace (none today) needs no bookkeeping.
  if (t_state.busy == 0) {
    EnsureInitialized();
    if (g_mode == Mode::kSampled || g_mode == Mode::kExact) {
      BusyScope busy;  // dl_iterate_phdr and the loader may allocate
      RecordModules();
    }
  }
  if (LT_UNLIKELY(real_dlclose == nullptr)) return -1;  // no libdl: nothing was ever opened
  return real_dlclose(handle);
}
