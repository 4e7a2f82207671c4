#include "preload/interpose/exec_policy.h"

#include <string.h>
#include <unistd.h>

namespace leaktrace::preload {
namespace {

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
  const char* p = preload;
  while (*p) {
    while (*p == ' ' || *p == ':') ++p;
    const char* start = p;
    while (*p && *p != ' ' && *p != ':') ++p;
    const size_t size = static_cast<size_t>(p - start);
    if (size == 0 || NamesLeaktrace(start, size)) continue;
    if (used + (used ? 1 : 0) + size + 1 > out_size) break;
    if (used) out[used++] = ' ';
    memcpy(out + used, start, size);
    used += size;
    out[used] = '\0';
  }
}

// The environment is edited in place, not through getenv/setenv/unsetenv:
// a program may define those itself (bash does, and keeps its own copy of
// the environment, which it builds from `environ` when main starts; a call
// to unsetenv from here would reach bash's, before bash is ready).
void StopFollowingExec() {
  constexpr char kName[] = "LD_PRELOAD=";
  constexpr size_t kNameSize = sizeof kName - 1;
  static char entry[4096 + kNameSize];  // the new entry; lives as long as the process
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (strncmp(*e, kName, kNameSize) != 0) continue;
    PreloadWithoutLeaktrace(*e + kNameSize, entry + kNameSize, sizeof entry - kNameSize);
    if (entry[kNameSize] == '\0') {
      for (char** rest = e; *rest != nullptr; ++rest) rest[0] = rest[1];  // drop it
    } else {
      memcpy(entry, kName, kNameSize);
      *e = entry;
    }
    return;
  }
}

}  // namespace leaktrace::preload
