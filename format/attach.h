// leaktrace attach: what crosses the process boundary between the command
// (cli/attach/) and the library it loads into a running process
// (preload/attach.cc). The command calls, inside the process,
//   int leaktrace_attach(const char* settings)
// after dlopen of libleaktrace.so. `settings` holds "KEY=VALUE" lines with the
// environment's names (LEAKTRACE_DIR, LEAKTRACE_SAMPLE, LEAKTRACE_INTERVAL,
// LEAKTRACE_SIGNAL, LEAKTRACE_ON_EXIT); the result is an AttachStatus.
#pragma once

namespace leaktrace::format {

inline constexpr char kAttachFunction[] = "leaktrace_attach";

enum AttachStatus : int {
  kAttachTracking = 0,        // the hooks are live
  kAttachAlreadyTracking = 1, // the library was already initialised in this process
  kAttachExactRefused = 2,    // LEAKTRACE_SAMPLE=1: exact mode needs a header on every block
  kAttachBadSettings = 3,     // a setting the library rejects
  kAttachNoAllocator = 4,     // malloc and friends not found in the global scope
  kAttachSecure = 5,          // a setuid/setgid or file-capability process (AT_SECURE)
};

// The reason, for the command's one-line error.
inline const char* AttachStatusText(int status) {
  switch (status) {
    case kAttachTracking: return "tracking";
    case kAttachAlreadyTracking: return "the process is already tracked by leaktrace";
    case kAttachExactRefused:
      return "exact mode (--sample 1) cannot be attached: it needs a header on every heap block, and the blocks "
             "allocated before the attach have none";
    case kAttachBadSettings: return "the library rejected the settings";
    case kAttachNoAllocator: return "the library could not find malloc in the process";
    case kAttachSecure: return "the process runs setuid/setgid or with file capabilities; leaktrace stays out";
    default: return "unknown status";
  }
}

}  // namespace leaktrace::format
