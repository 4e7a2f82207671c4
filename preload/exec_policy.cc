#include "preload/exec_policy.h"

#include <stdlib.h>
#include <string.h>

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

void StopFollowingExec() {
  const char* preload = getenv("LD_PRELOAD");
  if (preload == nullptr) return;
  char rest[4096];
  PreloadWithoutLeaktrace(preload, rest, sizeof rest);
  if (rest[0] == '\0') {
    unsetenv("LD_PRELOAD");
  } else {
    setenv("LD_PRELOAD", rest, 1);
  }
}

}  // namespace leaktrace::preload
