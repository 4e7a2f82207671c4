// A program's wait made in slices, so that a process of one thread needs no
// dumper thread to be snapshot while it waits (dumper.h,
// SliceWaitInsteadOfStartingDumper). The same C library function is called
// with shorter timeouts (100 ms, doubling to 2 s), and between two slices
// that ended with nothing to report, ServeRequestBetweenSlices looks for a
// reader's request; once the thread runs, the rest of the wait is one call.
// What the program sees is the wait it asked for: the first slice that
// reports something (a descriptor ready, an error, EINTR from a signal's
// handler) ends the wait with that result, and the time still to wait is
// told as the whole call would have told it (nanosleep's remaining time,
// select's updated timeout, sleep's unslept seconds). A wait that ends by
// its timeout ends in a last slice sized to the time left, rounded up as the
// call rounds it. Timeouts are counted on CLOCK_MONOTONIC, which the poll
// family's own timeouts run on. Any thread; async-signal-safe as the calls
// themselves (no allocation, no lock).
#pragma once

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#include "preload/internal/kernel_clock.h"
#include "preload/snapshot/dumper.h"

namespace leaktrace::preload::sliced_wait {

inline constexpr int64_t kFirstSliceNs = 100 * 1000 * 1000;
inline constexpr int64_t kLongestSliceNs = 2000 * 1000 * 1000;
inline constexpr int64_t kForever = INT64_MAX;

inline int64_t NowNs() { return KernelClockNs(CLOCK_MONOTONIC); }

inline timespec ToTimespec(int64_t ns) { return timespec{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)}; }

// A timeout's length in ns; kForever for none (nullptr), -1 for one the call
// itself refuses (a negative or malformed value: made whole, to fail as it
// would).
inline int64_t LengthNs(const timespec* t) {
  if (t == nullptr) return kForever;
  if (t->tv_sec < 0 || t->tv_nsec < 0 || t->tv_nsec >= 1000000000) return -1;
  if (t->tv_sec >= (kForever / 1000000000) - 1) return kForever;
  return static_cast<int64_t>(t->tv_sec) * 1000000000 + t->tv_nsec;
}

inline int64_t LengthNs(const timeval* t) {
  if (t == nullptr) return kForever;
  if (t->tv_sec < 0 || t->tv_usec < 0 || t->tv_usec >= 1000000) return -1;
  if (t->tv_sec >= (kForever / 1000000000) - 1) return kForever;
  return static_cast<int64_t>(t->tv_sec) * 1000000000 + static_cast<int64_t>(t->tv_usec) * 1000;
}

// The slices of one wait whose end is counted on the clock (the poll family).
class Deadline {
 public:
  explicit Deadline(int64_t length_ns)
      : end_ns_(length_ns == kForever ? kForever : NowNs() + length_ns) {}
  // The next slice's length, or the time left when that is no longer
  // (`last` then set: the call's result is the wait's). 0 when none is
  // left; never kForever.
  int64_t Next(bool* last) {
    const int64_t left = end_ns_ == kForever ? kForever : end_ns_ - NowNs();
    if (left <= slice_ns_) {
      *last = true;
      return left > 0 ? left : 0;
    }
    *last = false;
    const int64_t slice = slice_ns_;
    slice_ns_ = slice_ns_ * 2 < kLongestSliceNs ? slice_ns_ * 2 : kLongestSliceNs;
    return slice;
  }
  // After a slice with nothing to report: whether the rest is one call now.
  bool RestInOneCall() {
    if (ServeRequestBetweenSlices()) slice_ns_ = kForever;
    return slice_ns_ == kForever;
  }
  int64_t Left() const {
    if (end_ns_ == kForever) return kForever;
    const int64_t left = end_ns_ - NowNs();
    return left > 0 ? left : 0;
  }

 private:
  int64_t end_ns_;
  int64_t slice_ns_ = kFirstSliceNs;
};

// A wait with a timeout in milliseconds (< 0: none): poll, epoll_wait.
// `call(ms)` makes the real call.
template <typename Call>
int InMilliseconds(int timeout_ms, Call call) {
  if (timeout_ms >= 0 && int64_t{timeout_ms} * 1000000 <= kFirstSliceNs) return call(timeout_ms);
  Deadline deadline(timeout_ms < 0 ? kForever : int64_t{timeout_ms} * 1000000);
  for (;;) {
    bool last = false;
    const int64_t ns = deadline.Next(&last);
    // Rounded up: the whole wait is never shorter than asked.
    const int ms = static_cast<int>((ns + 999999) / 1000000);
    const int rc = call(ms);
    if (rc != 0 || last) return rc;
    if (deadline.RestInOneCall()) {
      const int64_t left = deadline.Left();
      return call(left == kForever ? -1 : static_cast<int>((left + 999999) / 1000000));
    }
  }
}

// A wait with a timespec timeout (nullptr: none) the call does not write
// back: ppoll, pselect, epoll_pwait2. `call(const timespec*)`.
template <typename Call>
int InTimespec(const timespec* timeout, Call call) {
  const int64_t length = LengthNs(timeout);
  if (length <= kFirstSliceNs) return call(timeout);  // short, or refused by the call (-1)
  Deadline deadline(length);
  for (;;) {
    bool last = false;
    const timespec slice = ToTimespec(deadline.Next(&last));
    const int rc = call(&slice);
    if (rc != 0 || last) return rc;
    if (deadline.RestInOneCall()) {
      const int64_t left = deadline.Left();
      const timespec rest = ToTimespec(left == kForever ? 0 : left);
      return call(left == kForever ? nullptr : &rest);
    }
  }
}

// select: the sets are rewritten by every call (cleared on a timeout), and
// the timeout is written back with the time left. `call(timeval*)` makes
// the real call on the program's sets. Returns false (nothing called) for
// sets too large to keep a copy of on the stack (more than FD_SETSIZE
// descriptors): the caller then makes the wait whole.
template <typename Call>
bool Select(int count, fd_set* read, fd_set* write, fd_set* except, timeval* timeout, Call call, int* result) {
  const int64_t length = LengthNs(timeout);
  if (length < 0 || length <= kFirstSliceNs) {
    *result = call(timeout);
    return true;
  }
  if (count > FD_SETSIZE) return false;
  const size_t bytes = count <= 0 ? 0 : (static_cast<size_t>(count) + 63) / 64 * 8;
  fd_set kept[3];
  fd_set* sets[3] = {read, write, except};
  for (int i = 0; i < 3; ++i)
    if (sets[i] != nullptr) memcpy(&kept[i], sets[i], bytes);
  Deadline deadline(length);
  const auto told = [&](int rc) {
    if (timeout != nullptr) {
      const int64_t left = deadline.Left();
      timeout->tv_sec = static_cast<time_t>(left / 1000000000);
      timeout->tv_usec = static_cast<suseconds_t>(left % 1000000000 / 1000);
    }
    return rc;
  };
  for (bool first = true;; first = false) {
    if (!first)
      for (int i = 0; i < 3; ++i)
        if (sets[i] != nullptr) memcpy(sets[i], &kept[i], bytes);
    bool last = false;
    const int64_t ns = deadline.Next(&last);
    timeval slice = {static_cast<time_t>(ns / 1000000000), static_cast<suseconds_t>((ns % 1000000000 + 999) / 1000)};
    if (slice.tv_usec >= 1000000) slice.tv_sec += 1, slice.tv_usec -= 1000000;
    const int rc = call(&slice);
    if (rc != 0 || last) {
      *result = told(rc);
      return true;
    }
    if (deadline.RestInOneCall()) {
      for (int i = 0; i < 3; ++i)
        if (sets[i] != nullptr) memcpy(sets[i], &kept[i], bytes);
      const int64_t left = deadline.Left();
      timeval rest = {static_cast<time_t>(left / 1000000000), static_cast<suseconds_t>((left % 1000000000 + 999) / 1000)};
      if (rest.tv_usec >= 1000000) rest.tv_sec += 1, rest.tv_usec -= 1000000;
      *result = told(call(left == kForever ? nullptr : &rest));
      return true;
    }
  }
}

// A relative sleep whose remaining time the call reports: nanosleep,
// clock_nanosleep without TIMER_ABSTIME. `call(const timespec*, timespec*)`
// returns 0, or what the call returns for an interruption (-1 with errno
// EINTR, or EINTR itself: `interrupted(rc)` tells). No clock is read: the
// kernel sleeps each slice whole unless interrupted, and what is left is
// counted from the slices.
template <typename Call, typename Interrupted>
int Sleep(const timespec* request, timespec* remaining, Call call, Interrupted interrupted) {
  int64_t left = request == nullptr ? -1 : LengthNs(request);
  if (left < 0 || left <= kFirstSliceNs || left == kForever) return call(request, remaining);
  int64_t slice_ns = kFirstSliceNs;
  for (;;) {
    if (left <= slice_ns) {
      const timespec rest = ToTimespec(left);
      return call(&rest, remaining);
    }
    const timespec slice = ToTimespec(slice_ns);
    timespec slice_left = {0, 0};
    const int rc = call(&slice, &slice_left);
    if (rc != 0) {
      if (interrupted(rc) && remaining != nullptr)
        *remaining = ToTimespec(left - slice_ns + LengthNs(&slice_left));
      return rc;
    }
    left -= slice_ns;
    if (ServeRequestBetweenSlices()) {
      const timespec rest = ToTimespec(left);
      return call(&rest, remaining);
    }
    slice_ns = slice_ns * 2 < kLongestSliceNs ? slice_ns * 2 : kLongestSliceNs;
  }
}

}  // namespace leaktrace::preload::sliced_wait
