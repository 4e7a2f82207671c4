#include "preload/interpose/exec_policy.h"

#include <string.h>
#include <unistd.h>

namespace leaktrace::preload {
namespace {

// Calls fn(start, size) for each non-empty entry of an LD_PRELOAD value
// (separated by spaces or colons) until it returns true.
template <typename Fn>
void ForEachEntry(const char* preload, Fn&& fn) {
  for (const char* p = preload; *p;) {
    while (*p == ' ' || *p == ':') ++p;
    const char* start = p;
    while (*p && *p != ' ' && *p != ':') ++p;
    if (p != start && fn(start, static_cast<size_t>(p - start))) return;
  }
}

bool NamesLeaktrace(const char* entry, size_t size) {
  const char* base = entry;
  for (size_t i = 0; i < size; ++i)
    if (entry[i] == '/') base = entry + i + 1;
  const size_t base_size = size - static_cast<size_t>(base - entry);
  return base_size >= 11 && strncmp(base, "libleaktrace", 11) == 0;
}

}  // namespace

void PreloadWithoutLeaktrace(const char* preload, char* out, unsigned long out_size) {
  size_t used = 0;
  out[0] = '\0';
  ForEachEntry(preload, [&](const char* start, size_t size) {
    if (NamesLeaktrace(start, size)) return false;
    if (used + (used ? 1 : 0) + size + 1 > out_size) return true;
    if (used) out[used++] = ' ';
    memcpy(out + used, start, size);
    used += size;
    out[used] = '\0';
    return false;
  });
}

namespace {

constexpr char kPreloadName[] = "LD_PRELOAD=";
constexpr size_t kPreloadNameSize = sizeof kPreloadName - 1;

// This process's LD_PRELOAD entry of `environ`, or nullptr.
char** PreloadEntry() {
  for (char** e = environ; e != nullptr && *e != nullptr; ++e)
    if (strncmp(*e, kPreloadName, kPreloadNameSize) == 0) return e;
  return nullptr;
}

// Whether `preload` has an entry naming libleaktrace; with `out_of_reach`,
// only one that is a path not there (access) from where the process is now.
bool NamesLeaktraceIn(const char* preload, bool out_of_reach) {
  bool named = false;
  ForEachEntry(preload, [&](const char* start, size_t size) {
    if (!NamesLeaktrace(start, size)) return false;
    if (!out_of_reach) return named = true;
    char path[4096];
    if (memchr(start, '/', size) == nullptr || size >= sizeof path) return false;  // searched for, or too long to test
    memcpy(path, start, size);
    path[size] = '\0';
    return named = access(path, R_OK) != 0;
  });
  return named;
}

}  // namespace

// The environment is edited in place, not through getenv/setenv/unsetenv:
// a program may define those itself (bash does, and keeps its own copy of
// the environment, which it builds from `environ` when main starts; a call
// to unsetenv from here would reach bash's, before bash is ready).
void StopFollowingExec() {
  static char entry[4096 + kPreloadNameSize];  // the new entry; lives as long as the process
  char** e = PreloadEntry();
  // Once removed, nothing to do (and `entry` may be the one in place).
  if (e == nullptr || !NamesLeaktraceIn(*e + kPreloadNameSize, false)) return;
  PreloadWithoutLeaktrace(*e + kPreloadNameSize, entry + kPreloadNameSize, sizeof entry - kPreloadNameSize);
  if (entry[kPreloadNameSize] == '\0') {
    for (char** rest = e; *rest != nullptr; ++rest) rest[0] = rest[1];  // drop it
  } else {
    memcpy(entry, kPreloadName, kPreloadNameSize);
    *e = entry;
  }
}

void StopFollowingExecOutOfReach() {
  char** e = PreloadEntry();
  if (e != nullptr && NamesLeaktraceIn(*e + kPreloadNameSize, true)) StopFollowingExec();
}

void QuietenWhatThisProcessRuns() {
  static char quiet[] = "LEAKTRACE_VERBOSE=0";
  constexpr size_t kNameSize = sizeof "LEAKTRACE_VERBOSE=" - 1;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e)
    if (strncmp(*e, quiet, kNameSize) == 0) *e = quiet;  // the entry, not its text: that may be read-only
}

}  // namespace leaktrace::preload
