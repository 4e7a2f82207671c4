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
  size_t empty = 0;
  for (const Site& s : report.sites) {
    // A live site that holds nothing (all it allocated was freed) says
    // nothing about what is live; sorted by allocations it still counts.
    if (report.kind == ReportKind::kLive && s.bytes == 0 && s.count == 0 &&
        (!options.sort_allocated || (s.alloc_bytes == 0 && s.alloc_count == 0))) {
      ++empty;
      continue;
    }
    if (!CountedByNumber(s.resource) && options.min_bytes > 0 && std::fabs(s.bytes) < options.min_bytes) continue;
    size_t& n = per_resource[static_cast<size_t>(s.resource) % kResourceCount];
    if (options.top && n >= options.top) continue;
    ++n;
    shown.push_back(&s);
  }
  if (hidden) *hidden = report.sites.size() - shown.size() - empty;
  return shown;
}

}  // namespace leaktrace::reporter
