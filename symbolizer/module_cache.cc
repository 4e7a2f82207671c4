#include "symbolizer/module_cache.h"

#include <utility>

namespace leaktrace::symbolizer {

ElfModule& ModuleCache::Get(const std::string& path, const std::string& build_id) {
  // '\0' cannot occur in a path, so the key is unambiguous.
  std::string key = path;
  key.push_back('\0');
  key += build_id;
  auto it = modules_.find(key);
  if (it != modules_.end()) return *it->second;
  auto module = std::make_unique<ElfModule>(path, build_id);
  Warn(module->TakeWarning());
  return *modules_.emplace(std::move(key), std::move(module)).first->second;
}

void ModuleCache::Warn(ModuleWarning warning) {
  if (warning.message.empty() || !warned_.insert(warning.message).second) return;
  pending_.push_back(std::move(warning));
}

std::vector<ModuleWarning> ModuleCache::TakeWarnings() { return std::exchange(pending_, {}); }

}  // namespace leaktrace::symbolizer
