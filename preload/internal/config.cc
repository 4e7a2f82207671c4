#include "preload/internal/config.h"

#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>

#include "format/snapshot_signal.h"
#include "preload/internal/log.h"
#include "preload/internal/raw_syscall.h"
#include "preload/record/stack_table.h"

namespace leaktrace::preload {
namespace {

struct SignalName {
  const char* name;
  int number;
};
constexpr SignalName kSignals[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},   {"TERM", SIGTERM}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},
    {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},   {"URG", SIGURG},   {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
    {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO}, {"PWR", SIGPWR},
    {"SYS", SIGSYS},
};

// Strict decimal parse of the whole string; -1 when not a number.
long ParseDecimal(const char* s) {
  if (*s == '\0') return -1;
  long v = 0;
  for (; *s; ++s) {
    if (*s < '0' || *s > '9' || v > 100000000) return -1;
    v = v * 10 + (*s - '0');
  }
  return v;
}

// Where the settings come from: the environment, or (leaktrace attach) the
// text handed to leaktrace_attach, "KEY=VALUE" lines.
const char* g_settings = nullptr;

// The value of `key` in the settings: a pointer into a static copy (one
// setting is read at a time, and LoadConfig copies what it keeps).
const char* Setting(const char* key) {
  if (g_settings == nullptr) return getenv(key);
  static char value[4096];
  const size_t key_size = strlen(key);
  for (const char* line = g_settings; *line != '\0';) {
    const char* end = strchr(line, '\n');
    const size_t size = end ? static_cast<size_t>(end - line) : strlen(line);
    if (size > key_size && strncmp(line, key, key_size) == 0 && line[key_size] == '=') {
      const size_t n = size - key_size - 1 < sizeof value - 1 ? size - key_size - 1 : sizeof value - 1;
      memcpy(value, line + key_size + 1, n);
      value[n] = '\0';
      return value;
    }
    if (end == nullptr) break;
    line = end + 1;
  }
  return nullptr;
}

}  // namespace

int ParseSignal(const char* text) {
  if (text == nullptr || *text == '\0') return -1;
  const long number = ParseDecimal(text);
  if (number >= 0) return number < NSIG ? static_cast<int>(number) : -1;
  const char* name = strncmp(text, "SIG", 3) == 0 ? text + 3 : text;
  if (strncmp(name, "RTMIN", 5) == 0 || strncmp(name, "RTMAX", 5) == 0) {
    const bool from_min = name[3] == 'I';
    long offset = 0;
    if (name[5] == '+' || name[5] == '-') {
      offset = ParseDecimal(name + 6);
      if (offset < 0) return -1;
      if (name[5] == '-') offset = -offset;
    } else if (name[5] != '\0') {
      return -1;
    }
    const long sig = (from_min ? SIGRTMIN : SIGRTMAX) + offset;
    return sig >= SIGRTMIN && sig <= SIGRTMAX ? static_cast<int>(sig) : -1;
  }
  for (const SignalName& s : kSignals)
    if (strcmp(name, s.name) == 0) return s.number;
  return -1;
}

uint64_t ParseSize(const char* text) {
  if (text == nullptr || *text == '\0') return 0;
  uint64_t v = 0;
  const char* p = text;
  for (; *p >= '0' && *p <= '9'; ++p) {
    if (v > (uint64_t{1} << 40)) return 0;
    v = v * 10 + static_cast<uint64_t>(*p - '0');
  }
  if (p == text) return 0;
  uint64_t unit = 1;
  if (*p == 'k' || *p == 'K') unit = 1024, ++p;
  else if (*p == 'm' || *p == 'M') unit = 1024 * 1024, ++p;
  else if (*p == 'g' || *p == 'G') unit = uint64_t{1} << 30, ++p;
  if (*p != '\0') return 0;
  return v * unit;
}

void LoadConfig(Config& config, const char* settings) {
  g_settings = settings;
  config = Config{};
  config.sample_interval = kDefaultSampleInterval;
  config.snapshot_signal = SIGUSR2;

  if (const char* s = Setting("LEAKTRACE_SAMPLE"); s && *s) {
    const uint64_t v = ParseSize(s);
    if (v == 0) {
      Log("LEAKTRACE_SAMPLE=%s is not a size (use e.g. 1, 64k, 512k, 1m); tracking disabled", s);
      config.valid = false;
    }
    config.sample_interval = v;
  }
  if (config.sample_interval != 0) config.sample_per_byte = 1.0 / static_cast<double>(config.sample_interval);
  if (const char* s = Setting("LEAKTRACE_MAX_STACKS"); s && *s) {
    const uint64_t v = ParseSize(s);
    if (v == 0 || v > kMaxStacks) {
      Log("LEAKTRACE_MAX_STACKS=%s is not a count from 1 to 16m; tracking disabled", s);
      config.valid = false;
    } else {
      config.max_stacks = static_cast<uint32_t>(v);
    }
  }
  if (const char* s = Setting("LEAKTRACE_SIGNAL"); s && *s) {
    const int sig = ParseSignal(s);
    if (!format::UsableSnapshotSignal(sig)) {
      Log("LEAKTRACE_SIGNAL=%s is not a usable snapshot signal; tracking disabled", s);
      config.valid = false;
    }
    config.snapshot_signal = sig < 0 ? 0 : sig;
  }
  if (const char* s = Setting("LEAKTRACE_INTERVAL"); s && *s) {
    const long v = ParseDecimal(s);
    if (v < 0) {
      Log("LEAKTRACE_INTERVAL=%s is not a whole number of seconds; tracking disabled", s);
      config.valid = false;
    }
    config.interval_seconds = v < 0 ? 0 : static_cast<uint32_t>(v);
  }
  if (const char* s = Setting("LEAKTRACE_ON_EXIT"); s && *s) {
    if (strcmp(s, "0") != 0 && strcmp(s, "1") != 0 && strcmp(s, "all") != 0) {
      Log("LEAKTRACE_ON_EXIT=%s must be 0, 1 or all; tracking disabled", s);
      config.valid = false;
    }
    config.dump_on_exit = strcmp(s, "0") != 0;
    config.exit_dump_every_child = strcmp(s, "all") == 0;
  }
  if (const char* s = Setting("LEAKTRACE_FOLLOW_EXEC"); s && *s) {
    if (strcmp(s, "0") != 0 && strcmp(s, "1") != 0) {
      Log("LEAKTRACE_FOLLOW_EXEC=%s must be 0 or 1; tracking disabled", s);
      config.valid = false;
    }
    config.follow_exec = strcmp(s, "0") != 0;
  }
  if (const char* s = Setting("LEAKTRACE_VERBOSE"); s && *s) {
    if (strcmp(s, "0") != 0 && strcmp(s, "1") != 0 && strcmp(s, "first") != 0) {
      Log("LEAKTRACE_VERBOSE=%s must be 0, 1 or first; tracking disabled", s);
      config.valid = false;
    }
    config.verbose_first_only = strcmp(s, "first") == 0;
    config.verbose = strcmp(s, "1") == 0 || config.verbose_first_only;
  }
  if (const char* s = Setting("LEAKTRACE_PROGRAMS"); s && *s) {
    if (strlen(s) >= sizeof config.programs) {
      Log("LEAKTRACE_PROGRAMS is longer than %u bytes; tracking disabled", unsigned{sizeof config.programs - 1});
      config.valid = false;
    } else if (strspn(s, ",") == strlen(s)) {
      // Commas alone: a list that names no program (`leaktrace run --only ''`
      // is refused so too), not "every program" as an empty one is.
      Log("LEAKTRACE_PROGRAMS=%s names no program; tracking disabled", s);
      config.valid = false;
    } else {
      strcpy(config.programs, s);
    }
  }
  const char* dir = Setting("LEAKTRACE_DIR");
  if (dir != nullptr && *dir == '/') {
    strncpy(config.dump_dir, dir, sizeof config.dump_dir - 1);
  } else {
    // Relative (or unset): resolve against the working directory now, at
    // process start, so a later chdir does not move the dumps.
    // By the kernel's getcwd: a sanitizer's getcwd, reached through the
    // symbol, may not be set up yet (its runtime's start-up mallocs, and the
    // first malloc brings leaktrace up).
    char cwd[sizeof config.dump_dir];
    if (RawSyscall(SYS_getcwd, cwd, sizeof cwd) < 0 || cwd[0] != '/') {
      Log("cannot read the working directory; tracking disabled");
      config.valid = false;
      return;
    }
    // "." and leading "./" name the working directory itself: the dumps'
    // paths then read /srv/app/x.dump, not /srv/app/./x.dump.
    const char* rest = dir == nullptr ? "" : dir;
    for (;;) {
      if (rest[0] == '.' && rest[1] == '/') rest += 2;
      else if (rest[0] == '/') ++rest;
      else if (rest[0] == '.' && rest[1] == '\0') ++rest;
      else break;
    }
    if (*rest != '\0') {
      if (strlen(cwd) + 1 + strlen(rest) >= sizeof config.dump_dir) {
        Log("LEAKTRACE_DIR=%s is longer than %u bytes from the working directory; tracking disabled", dir,
            unsigned{sizeof config.dump_dir - 1});
        config.valid = false;
        return;
      }
      strcpy(config.dump_dir, cwd);
      if (strcmp(cwd, "/") != 0) strcat(config.dump_dir, "/");
      strcat(config.dump_dir, rest);
    } else {
      strcpy(config.dump_dir, cwd);
    }
  }
  size_t n = strlen(config.dump_dir);
  while (n > 1 && config.dump_dir[n - 1] == '/') config.dump_dir[--n] = '\0';
}

bool GlobMatch(const char* glob, size_t glob_size, const char* name) {
  // Iterative matcher: on a mismatch, go back to the last `*` and let it
  // take one more character.
  size_t g = 0, star = SIZE_MAX;
  const char* n = name;
  const char* star_name = nullptr;
  while (*n != '\0') {
    if (g < glob_size && (glob[g] == '?' || glob[g] == *n)) {
      ++g;
      ++n;
    } else if (g < glob_size && glob[g] == '*') {
      star = g++;
      star_name = n;
    } else if (star != SIZE_MAX) {
      g = star + 1;
      n = ++star_name;
    } else {
      return false;
    }
  }
  while (g < glob_size && glob[g] == '*') ++g;
  return g == glob_size;
}

bool ProgramSelected(const Config& config, const char* argv0_name, const char* exe_name) {
  const char* p = config.programs;
  if (*p == '\0') return true;
  while (true) {
    const char* end = strchr(p, ',');
    const size_t size = end ? static_cast<size_t>(end - p) : strlen(p);
    if (size > 0 && ((argv0_name && *argv0_name && GlobMatch(p, size, argv0_name)) ||
                     (exe_name && *exe_name && GlobMatch(p, size, exe_name))))
      return true;
    if (end == nullptr) return false;
    p = end + 1;
  }
}

}  // namespace leaktrace::preload
