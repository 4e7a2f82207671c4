#include <cmath>
#include <cstdlib>

#include <unistd.h>

#include "reporter/render.h"

namespace leaktrace::reporter {

bool ShouldColor(int fd) {
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color && *no_color) return false;
  return isatty(fd) == 1;
}

std::vector<const Site*> SelectSites(const Report& report, const RenderOptions& options, size_t* hidden) {
  // --top counts per resource: a few big heap sites must not push every fd
  // leak out of view.
  std::vector<const Site*> shown;
  size_t per_resource[kResourceCount] = {};
  for (const Site& s : report.sites) {
    if (s.resource != Resource::kFd && options.min_bytes > 0 && std::fabs(s.bytes) < options.min_bytes) continue;
    size_t& n = per_resource[static_cast<size_t>(s.resource) % kResourceCount];
    if (options.top && n >= options.top) continue;
    ++n;
    shown.push_back(&s);
  }
  if (hidden) *hidden = report.sites.size() - shown.size();
  return shown;
}

}  // namespace leaktrace::reporter
