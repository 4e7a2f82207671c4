// pthread_create, and the calls that reap a thread (join, detach): threads
// as a resource, counted by creating stack (thread_table.h says from when to
// when). A tracked thread's start routine runs inside ThreadTrampoline, which
// sees it end. Everything else is forwarded unchanged; a thread leaktrace
// cannot track is created exactly as the program asked.
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "preload/internal/compiler.h"
#include "preload/resources/resource_paths.h"
#include "preload/record/thread_state.h"
#include "preload/resources/thread_table.h"
#include "preload/record/tracker.h"

using namespace leaktrace::preload;

namespace {

template <typename Fn>
Fn Next(const char* name) {
  BusyScope busy;  // dlsym may allocate
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

using CreateFn = int (*)(pthread_t*, const pthread_attr_t*, ThreadStart, void*);

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
  static CreateFn next = Next<CreateFn>("pthread_create");
  if (LT_UNLIKELY(next == nullptr)) return EAGAIN;
  if (!TrackingThisCall()) return next(thread, attr, start, arg);
  void* token;
  {
    ErrnoKeeper keep;
    const uint32_t stack = CaptureStackId(t_state);
    token = ThreadReserve(stack, attr, start, arg);
  }
  if (token == nullptr) return next(thread, attr, start, arg);
  const int rc = next(thread, attr, ThreadTrampoline, token);
  ErrnoKeeper keep;
  ThreadCreated(token, rc, rc == 0 ? *thread : pthread_t{});
  return rc;
}

LT_EXPORT int pthread_join(pthread_t thread, void** result) {
  static auto next = Next<int (*)(pthread_t, void**)>("pthread_join");
  if (LT_UNLIKELY(next == nullptr)) return ENOSYS;
  return Reap(thread, true, [&] { return next(thread, result); });
}

LT_EXPORT int pthread_tryjoin_np(pthread_t thread, void** result) {
  static auto next = Next<int (*)(pthread_t, void**)>("pthread_tryjoin_np");
  if (LT_UNLIKELY(next == nullptr)) return ENOSYS;
  return Reap(thread, true, [&] { return next(thread, result); });
}

LT_EXPORT int pthread_timedjoin_np(pthread_t thread, void** result, const struct timespec* abstime) {
  static auto next = Next<int (*)(pthread_t, void**, const struct timespec*)>("pthread_timedjoin_np");
  if (LT_UNLIKELY(next == nullptr)) return ENOSYS;
  return Reap(thread, true, [&] { return next(thread, result, abstime); });
}

LT_EXPORT int pthread_clockjoin_np(pthread_t thread, void** result, clockid_t clock, const struct timespec* abstime) {
  static auto next = Next<int (*)(pthread_t, void**, clockid_t, const struct timespec*)>("pthread_clockjoin_np");
  if (LT_UNLIKELY(next == nullptr)) return ENOSYS;
  return Reap(thread, true, [&] { return next(thread, result, clock, abstime); });
}

LT_EXPORT int pthread_detach(pthread_t thread) {
  static auto next = Next<int (*)(pthread_t)>("pthread_detach");
  if (LT_UNLIKELY(next == nullptr)) return ENOSYS;
  return Reap(thread, false, [&] { return next(thread); });
}
