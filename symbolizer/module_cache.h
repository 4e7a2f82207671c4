// Every module the Symbolizer has opened, and the warnings about them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "symbolizer/elf_module.h"

namespace leaktrace::symbolizer {

// Not thread-safe. Keyed by path + build id, not by load address, so the same
// library mapped at different addresses in several dumps is opened and
// symbolized once; and a rebuilt binary at the same path (another build id)
// gets its own entry, judged against the file separately.
class ModuleCache {
 public:
  // The module for (path, raw build id), opened on first use. The reference
  // stays valid for the cache's lifetime.
  ElfModule& Get(const std::string& path, const std::string& build_id);

  // Queues `warning` unless its message is empty or was queued before (ever).
  void Warn(ModuleWarning warning);
  // The queued warnings, oldest first; the queue is then empty.
  std::vector<ModuleWarning> TakeWarnings();

 private:
  absl::flat_hash_map<std::string, std::unique_ptr<ElfModule>> modules_;
  absl::flat_hash_set<std::string> warned_;
  std::vector<ModuleWarning> pending_;
};

}  // namespace leaktrace::symbolizer
