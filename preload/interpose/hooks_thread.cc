// pthread_create, and the calls that reap a thread (join, detach): threads
// as a resource, counted by creating stack (thread_table.h says from when to
// when). A tracked thread's start routine runs inside ThreadTrampoline, which
// sees it end. Everything else is forwarded unchanged; a thread leaktrace
// cannot track is created exactly as the program asked.
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "preload/snapshot/dumper.h"
#include "preload/internal/compiler.h"
#include "preload/interpose/real_functions.h"
#include "preload/resources/resource_paths.h"
#include "preload/record/thread_state.h"
#include "preload/resources/thread_table.h"
#include "preload/record/tracker.h"

using namespace leaktrace::preload;

namespace {

// Forwards a reaping call on `thread` and updates the table when it
// succeeded. The record is looked up before the call: once a join returned,
// the same id may at once name a new thread.
template <typename Call>
int Reap(pthread_t thread, bool joins, Call call) {
  if (!TrackingThisCall()) return call();
  uint64_t record;
  {
    ErrnoKeeper keep;
    record = ThreadLookup(thread);
  }
  const int rc = call();
  if (rc == 0 && record != 0) {
    ErrnoKeeper keep;
    if (joins) {
      ThreadJoined(record);
    } else {
      ThreadDetached(record);
    }
  }
  return rc;
}

}  // namespace

LT_EXPORT int pthread_create(pthread_t* thread, const pthread_attr_t* attr, ThreadStart start, void* arg) {
  EnsureReal();
  const auto next = real.pthread_create;
  if (LT_UNLIKELY(next == nullptr)) return EAGAIN;
  if (!TrackingThisCall()) return next(thread, attr, start, arg);
  void* token;
  {
    ErrnoKeeper keep;
    const uint32_t stack = CaptureStackId(t_state);
    token = ThreadReserve(stack, attr, start, arg);
  }
  if (token == nullptr) return next(thread, attr, start, arg);
  int rc = next(thread, attr, ThreadTrampoline, token);
  // Refused for want of a task slot the dumper thread holds: its slot is
  // the program's (dumper.h).
  if (LT_UNLIKELY(rc == EAGAIN) && YieldDumperThreadToTheProgram())
    WaitForTheDumpersSlot([&] { return (rc = next(thread, attr, ThreadTrampoline, token)) == EAGAIN; });
  ErrnoKeeper keep;
  ThreadCreated(token, rc, rc == 0 ? *thread : pthread_t{});
  return rc;
}

LT_EXPORT int pthread_join(pthread_t thread, void** result) {
  EnsureReal();
  const auto next = real.pthread_join;
  if (LT_UNLIKELY(next == nullptr)) return ENOSYS;
  return Reap(thread, true, [&] { return next(thread, result); });
}

LT_EXPORT int pthread_tryjoin_np(pthread_t thread, void** result) {
  EnsureReal();
  const auto next = real.pthread_tryjoin_np;
  if (LT_UNLIKELY(next == nullptr)) return ENOSYS;
  return Reap(thread, true, [&] { return next(thread, result); });
}

LT_EXPORT int pthread_timedjoin_np(pthread_t thread, void** result, const struct timespec* abstime) {
  EnsureReal();
  const auto next = real.pthread_timedjoin_np;
  if (LT_UNLIKELY(next == nullptr)) return ENOSYS;
  return Reap(thread, true, [&] { return next(thread, result, abstime); });
}

LT_EXPORT int pthread_clockjoin_np(pthread_t thread, void** result, clockid_t clock, const struct timespec* abstime) {
  EnsureReal();
  const auto next = real.pthread_clockjoin_np;
  if (LT_UNLIKELY(next == nullptr)) return ENOSYS;
  return Reap(thread, true, [&] { return next(thread, result, clock, abstime); });
}

LT_EXPORT int pthread_detach(pthread_t thread) {
  EnsureReal();
  const auto next = real.pthread_detach;
  if (LT_UNLIKELY(next == nullptr)) return ENOSYS;
  return Reap(thread, false, [&] { return next(thread); });
}

// glibc's pthread_getattr_np holds `thread`'s lock while it allocates (the
// CPU set it copies; for the main thread, /proc/self/maps read with stdio).
// An allocation recorded meanwhile may be this thread's first capture, which
// learns the thread's stack with pthread_getattr_np on itself: the same lock
// again (a JVM thread's start hung so), or, when two threads ask about each
// other, the other's lock in the opposite order. The count makes that
// capture leave the stack to a later one (unwind_cache.cc, LearnStackBounds).
LT_EXPORT int pthread_getattr_np(pthread_t thread, pthread_attr_t* attr) {
  EnsureReal();
  const auto next = real.pthread_getattr_np;
  if (LT_UNLIKELY(next == nullptr)) return ENOSYS;
  ++t_state.stack_query_barred;
  const int rc = next(thread, attr);
  --t_state.stack_query_barred;
  return rc;
}
