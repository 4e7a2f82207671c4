#include "format/raw_mmap.h"

#include <errno.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

#include "format/raw_syscall.h"

namespace leaktrace::format {
namespace {

constexpr uintptr_t kPage = 4096;
constexpr uintptr_t kGiB = uintptr_t{1} << 30;
// How far the zone reaches below its top before it starts again from the
// top (ranges leaktrace unmapped meanwhile are free again), and how many
// taken ranges a mapping passes over before the kernel chooses.
constexpr uintptr_t kZoneSpan = uintptr_t{1} << 40;
constexpr int kTries = 8;

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

}  // namespace
}  // namespace leaktrace::format

// Defined by ThreadSanitizer's and MemorySanitizer's runtimes (gcc's
// libtsan.so, clang's -shared-libsan); null elsewhere.
extern "C" void __tsan_init() __attribute__((weak));
extern "C" void __msan_init() __attribute__((weak));

namespace leaktrace::format {
namespace {

// A program built with ThreadSanitizer or MemorySanitizer: their runtimes
// keep to their own map of where memory may lie and stop the program at a
// mapping elsewhere ("FATAL: ThreadSanitizer: unexpected memory mapping",
// exit 66, at start-up): leaktrace's memory goes where the kernel puts it.
bool SanitizerPlacesMemory() { return &__tsan_init != nullptr || &__msan_init != nullptr; }

void* Map(void* addr, size_t bytes, int prot, int flags) {
#if defined(__SANITIZE_THREAD__)
  return mmap(addr, bytes, prot, flags, -1, 0);
#else
  // Not through syscall(3): raw_syscall.h says why.
  return reinterpret_cast<void*>(RawSyscall(SYS_mmap, addr, bytes, prot, flags, -1, 0));
#endif
}

#if !defined(__SANITIZE_THREAD__)
// The zone's top and the next free address below it (0: not chosen yet).
// The top is a quarter of the way from this library's own code down to
// address 0, less a random number of 2 MiB steps (up to 64 GiB): far below
// the range where the kernel places mappings top-down (the libraries, the
// program's mmaps, thread stacks: terabytes of them would be needed to reach
// it) and far above the executable and its brk heap; with the kernel's
// legacy bottom-up layout (an unlimited stack size), below where it starts.
std::atomic<uintptr_t> g_zone_top{0};
std::atomic<uintptr_t> g_zone_next{0};

uintptr_t ZoneTop() {
  uintptr_t top = g_zone_top.load(std::memory_order_acquire);
  if (top != 0) return top;
  const uintptr_t anchor = reinterpret_cast<uintptr_t>(&ZoneTop);
  // The kernel's random bytes for this process image (AT_RANDOM), not a
  // clock: the library calls no clock_gettime another library may define
  // (libfaketime's, entered from a leaktrace hook).
  uint64_t random = 0;
  if (const auto* bytes = reinterpret_cast<const unsigned char*>(getauxval(AT_RANDOM)); bytes != nullptr)
    memcpy(&random, bytes + 8, sizeof random);
  const uint64_t mix = (random ^ reinterpret_cast<uintptr_t>(&random)) * 0x9E3779B97F4A7C15ULL;
  const uintptr_t jitter = ((mix >> 32) % (64 * kGiB / (2 << 20))) * (2 << 20);
  uintptr_t chosen = (anchor - anchor / 4) & ~(kGiB - 1);
  chosen = chosen > jitter + kZoneSpan / 4 ? chosen - jitter : chosen;
  uintptr_t expected = 0;
  if (g_zone_top.compare_exchange_strong(expected, chosen, std::memory_order_acq_rel)) {
    g_zone_next.store(chosen, std::memory_order_release);
    return chosen;
  }
  return expected;
}

// A range of `bytes` (whole pages) below the zone's next free address,
// taken from it. 0 when the zone is too close to address 0 to hold it.
uintptr_t NextRange(uintptr_t top, uintptr_t bytes) {
  uintptr_t next = g_zone_next.load(std::memory_order_relaxed);
  for (;;) {
    uintptr_t start = next - bytes;
    // Past the zone's span (or below address 0): from the top again.
    if (next < bytes || top - start > kZoneSpan) start = top - bytes;
    if (top < bytes || start < kGiB) return 0;
    if (g_zone_next.compare_exchange_weak(next, start, std::memory_order_relaxed)) return start;
  }
}
#endif

}  // namespace

void* RawMapOwn(size_t bytes, int prot, int flags) {
  flags |= MAP_ANONYMOUS;
#if !defined(__SANITIZE_THREAD__)  // ThreadSanitizer keeps to its own map of where memory may lie
  const uintptr_t whole = (bytes + kPage - 1) & ~(kPage - 1);
  const uintptr_t top = SanitizerPlacesMemory() ? 0 : ZoneTop();
  for (int i = 0; whole != 0 && top != 0 && i < kTries; ++i) {
    const uintptr_t start = NextRange(top, whole);
    if (start == 0) break;
    void* p = Map(reinterpret_cast<void*>(start), bytes, prot, flags | MAP_FIXED_NOREPLACE);
    if (p == reinterpret_cast<void*>(start)) return p;
    if (p != MAP_FAILED) {
      // A kernel older than MAP_FIXED_NOREPLACE (4.17) took the address as
      // a hint and chose elsewhere: the zone cannot be used; keep what it
      // chose.
      return p;
    }
    if (errno != EEXIST) break;  // not a taken range: let the kernel choose
    // Taken (the program's, or a mapping made in the zone since): passed
    // over; the next try is below it.
  }
#endif
  return Map(nullptr, bytes, prot, flags);
}

void RawUnmap(void* p, size_t bytes) {
#if defined(__SANITIZE_THREAD__)
  munmap(p, bytes);
#else
  RawSyscall(SYS_munmap, p, bytes);
#endif
}

void* RawRemap(void* p, size_t old_bytes, size_t new_bytes) {
#if defined(__SANITIZE_THREAD__)
  return mremap(p, old_bytes, new_bytes, MREMAP_MAYMOVE);
#else
  // In place when the range above is free (the zone grows downward, so it
  // rarely is); else onto a fresh range of the zone, which the move
  // replaces (MREMAP_FIXED), never where the kernel would choose.
  void* grown = reinterpret_cast<void*>(RawSyscall(SYS_mremap, p, old_bytes, new_bytes, 0, 0));
  if (grown != MAP_FAILED) return grown;
  void* target = RawMapAnonymous(new_bytes);
  if (target == MAP_FAILED) return MAP_FAILED;
  void* moved = reinterpret_cast<void*>(
      RawSyscall(SYS_mremap, p, old_bytes, new_bytes, MREMAP_MAYMOVE | MREMAP_FIXED, target));
  if (moved == MAP_FAILED) RawUnmap(target, new_bytes);
  return moved;
#endif
}

}  // namespace leaktrace::format
