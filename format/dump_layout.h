// The leaktrace dump format, version 1: constants shared by the writer (in the
// preload library) and the reader (in the tools). docs/dump-format.md is the
// prose description of the same layout; keep the two in step.
#pragma once

#include <cstdint>

namespace leaktrace::format {

inline constexpr char kMagic[8] = {'L', 'K', 'T', 'R', 'D', 'U', 'M', 'P'};
inline constexpr uint32_t kVersion = 1;
inline constexpr uint32_t kFileHeaderBytes = 16;     // magic, version, header size
inline constexpr uint32_t kSectionHeaderBytes = 16;  // type, flags, payload length

enum class SectionType : uint32_t {
  kProcess = 1,
  kModules = 2,
  kStacks = 3,
  kSites = 4,
  kHealth = 5,
  kAges = 6,     // optional: when each live object was created (docs/dump-format.md)
  kMemory = 7,   // optional: the process's memory as the kernel and the allocator see it
  kEnd = 0xFFFF,  // payload: XXH3-64 of every byte before this section's header
};

enum class Resource : uint8_t { kHeap = 0, kMmap = 1, kFd = 2, kThread = 3 };

// Why a snapshot was taken.
enum class Trigger : uint32_t { kSignal = 1, kInterval = 2, kExit = 3 };

// ProcessInfo.flags
inline constexpr uint32_t kProcessExactMode = 1u << 0;
// Tracking started in a running process (leaktrace attach): start_* are the
// attach time, and what was allocated before it is not in the dump.
inline constexpr uint32_t kProcessAttached = 1u << 1;
// Module.flags
inline constexpr uint32_t kModuleUnloaded = 1u << 0;
inline constexpr uint32_t kModuleMainProgram = 1u << 1;
// The module is libleaktrace itself, whatever its file is called (a copy
// under another name): the tools drop its frames from every stack.
inline constexpr uint32_t kModuleLeaktrace = 1u << 2;
// Stack.flags
inline constexpr uint16_t kStackTruncated = 1u << 0;
// The stack is the innermost frames of longer ones, recorded after the
// process had as many distinct stacks as LEAKTRACE_MAX_STACKS allows
// (docs/preload.md, "Memory"): every stack that ends in these frames and
// came after the budget was spent is counted here.
inline constexpr uint16_t kStackFolded = 1u << 1;

// Deepest stack the format carries.
inline constexpr uint32_t kMaxStackDepth = 256;

}  // namespace leaktrace::format
