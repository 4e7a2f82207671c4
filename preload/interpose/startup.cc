// The first hook of the process starts the library here: the real
// functions, the settings, the mode (internal/mode.h).
#include <errno.h>
#include <link.h>
#include <sched.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "preload/heap/block_header.h"
#include "preload/internal/log.h"
#include "preload/internal/mode.h"
#include "preload/interpose/allocator_self_calls.h"
#include "preload/interpose/instance.h"
#include "preload/interpose/malloc_dispatch.h"
#include "preload/interpose/real_functions.h"
#include "preload/record/thread_state.h"
#include "preload/record/tracker.h"
#include "preload/internal/elf_symbols.h"
#include "preload/internal/kernel_clock.h"
#include "preload/internal/libc_functions.h"
#include "preload/internal/raw_syscall.h"

namespace leaktrace::preload {

std::atomic<Mode> g_mode{Mode::kUninitialized};
Config g_config;
uint64_t g_check_secret = 0;
bool g_attached = false;
const char* g_attach_settings = nullptr;
Mode g_attach_mode = Mode::kUninitialized;

void PublishMode(Mode mode) {
  SelectMallocHooks(mode);
  g_mode.store(mode, std::memory_order_release);
}

namespace {

std::atomic<int> g_init_state{0};  // 0 not started, 1 running, 2 done
std::atomic<bool> g_constructor_reached{false};

// A sanitizer's runtime loaded as a library of its own (gcc's -fsanitize=
// thread and =address, clang's -shared-libsan), whose interceptors of the
// C library's functions (getcwd, strcpy ...) jump to a null pointer until
// its own start-up has set them up. Read off the loader's list of modules:
// no call, no lock, no allocation.
bool SanitizerRuntimeLoaded() {
  static constexpr const char* kRuntimes[] = {"libasan.so", "libtsan.so", "liblsan.so", "libhwasan.so",
                                              "libmsan.so", "libclang_rt."};
  for (const link_map* m = _r_debug.r_map; m != nullptr; m = m->l_next) {
    const char* base = ModuleBaseName(m);
    for (const char* runtime : kRuntimes)
      if (strncmp(base, runtime, strlen(runtime)) == 0) return true;
  }
  return false;
}

// Before leaktrace's own constructor, the first hook (another library's
// constructor allocating, the loader's dlsym) starts the library only where
// that is safe. Not while the C library has not set the environment yet (an
// executable's preinit functions run first: ASan's __asan_init, whose
// calls reach leaktrace's hooks when libasan comes first in LD_PRELOAD;
// every setting would read as unset). Not beside a sanitizer's runtime,
// whose start-up allocates (its dlsym's error messages) before its
// interceptors work: leaktrace's start-up called its getcwd and strcpy, null
// pointers then (SIGSEGV before main).
bool TooEarlyToStart() {
  if (g_constructor_reached.load(std::memory_order_acquire) || g_attached) return false;
  return environ == nullptr || SanitizerRuntimeLoaded();
}

uint64_t MakeSecret() {
  uint64_t secret = 0;
  // Not through getrandom(3): an interposer may define it (libfaketime).
  if (RawSyscall(SYS_getrandom, reinterpret_cast<long>(&secret), sizeof secret, GRND_NONBLOCK) != sizeof secret) {
    timespec ts;
    KernelClockGettime(CLOCK_MONOTONIC, &ts);
    secret = static_cast<uint64_t>(ts.tv_nsec) * 0x9E3779B97F4A7C15ULL ^ reinterpret_cast<uintptr_t>(&ts);
  }
  return secret;
}

// Whether another copy of the library (another build, an installed one,
// listed twice in LD_PRELOAD) comes before this one in the symbol scope:
// every copy exports leaktrace_instance and refers to it through its GOT,
// which the loader binds to the first definition in scope
// (preload/interpose/instance.cc). No call, no allocation.
extern "C" const char leaktrace_instance;
bool AnotherCopyIsAhead() { return &leaktrace_instance != &leaktrace::preload::g_instance_self; }

// LEAKTRACE_PROGRAMS: decided before anything is recorded, from the name the
// program was started as (glibc sets it before any constructor runs) and its
// executable's name. A launcher (a pyenv shim, a wrapper script) left out
// still passes the library on to the program it starts.
bool ThisProgramSelected() {
  if (g_config.programs[0] == '\0') return true;
  char exe[4096];
  const ssize_t n = RawSyscall(SYS_readlink, "/proc/self/exe", exe, sizeof exe - 1);
  exe[n > 0 ? n : 0] = '\0';
  const char* slash = strrchr(exe, '/');
  return ProgramSelected(g_config, program_invocation_short_name, slash ? slash + 1 : exe);
}

void Initialize() {
  BusyScope busy;  // dlsym allocates: those go to the bootstrap heap
  NoteStderr();  // which file the program's stderr is, before anything is said
  LibcFunctionsResolve();  // before the program has threads
  EnsureReal();
  if (!RealAllocatorFound()) {
    Log("cannot find the real allocator (dlsym RTLD_NEXT failed); leaktrace cannot run");
    PublishMode(Mode::kInert);
    return;
  }
  if (AnotherCopyIsAhead()) {
    // Its hooks take the program's calls first and pass them on to ours
    // (inert: to the real functions): two copies would count everything
    // twice, each count the other's thread as the program's, and write two
    // exit dumps of one process.
    PublishMode(Mode::kInert);
    return;
  }
  if (getauxval(AT_SECURE) != 0) {
    // setuid/setgid or file capabilities: never write files for this
    // process, never read its environment's settings.
    PublishMode(Mode::kInert);
    return;
  }
  LoadConfig(g_config, g_attached ? g_attach_settings : nullptr);
  g_check_secret = MakeSecret();
  if (!g_config.valid || !ThisProgramSelected()) {
    PublishMode(Mode::kInert);
    return;
  }
  const Mode mode = g_config.sample_interval == 1 ? Mode::kExact : Mode::kSampled;
  g_attach_mode = mode;
  if (g_attached && mode == Mode::kExact) {
    // Exact mode needs a header on every block, and the blocks allocated
    // before the attach have none (attach.cc refuses it).
    PublishMode(Mode::kInert);
    return;
  }
  // Attached, the allocator came before the library and its calls never
  // reach the hooks.
  if (!g_attached) BindAllocatorToItself();
  StartRecording();
  // Attached: everything passes through until every module's imports point
  // at the hooks (attach.cc then stores g_attach_mode).
  PublishMode(g_attached ? Mode::kInert : mode);
}

}  // namespace

void NoteConstructorReached() { g_constructor_reached.store(true, std::memory_order_release); }

void EnsureInitialized(bool even_early) {
  if (g_init_state.load(std::memory_order_acquire) == 2) return;
  if (!even_early && g_init_state.load(std::memory_order_acquire) == 0 && TooEarlyToStart()) return;
  int expected = 0;
  if (g_init_state.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
    Initialize();
    g_init_state.store(2, std::memory_order_release);
    return;
  }
  // Another thread is initialising; if it is this one (re-entered through
  // dlsym), the caller is busy and uses the bootstrap heap instead.
  while (g_init_state.load(std::memory_order_acquire) != 2) sched_yield();
}

}  // namespace leaktrace::preload
