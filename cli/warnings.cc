#include "cli/warnings.h"

#include <cstdio>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace leaktrace::cli {

void Warn(const std::string& message) { std::fprintf(stderr, "leaktrace: warning: %s\n", message.c_str()); }

void Warn(const std::vector<std::string>& messages) {
  for (const std::string& m : messages) Warn(m);
}

void WarnAboutModules(const std::vector<symbolizer::ModuleWarning>& warnings,
                      const std::vector<const reporter::Site*>& shown) {
  std::set<std::string> modules;
  for (const reporter::Site* s : shown)
    for (const reporter::Frame& f : s->frames) modules.insert(f.module);
  WarnAboutModules(warnings, modules);
}

void WarnAboutModules(const std::vector<symbolizer::ModuleWarning>& warnings, const std::set<std::string>& modules) {
  std::vector<std::string> no_debug;
  for (const symbolizer::ModuleWarning& w : warnings) {
    if (!modules.count(w.module)) continue;
    if (w.kind == symbolizer::ModuleWarning::Kind::kNoDebugInfo) {
      no_debug.push_back(reporter::ModuleBasename(w.module));
    } else {
      Warn(w.message);
    }
  }
  if (!no_debug.empty())
    Warn(fmt::format("no debug information for {}: function names only, no file:line (install -dbgsym packages, "
                     "or build with -g)",
                     fmt::join(no_debug, ", ")));
}

}  // namespace leaktrace::cli
