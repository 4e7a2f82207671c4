#include "reporter/symbolize.h"

#include <unordered_map>

#include "reporter/age_filter.h"
#include "reporter/merge.h"
#include "reporter/progress.h"

namespace leaktrace::reporter {

bool IsLeaktraceFrame(const Frame& f) {
  return ModuleBasename(f.module).rfind("libleaktrace", 0) == 0;
}

Report FromDump(const format::Dump& dump, const FrameSource& source) {
  // Stacks share most of their pcs; symbolize each pc once.
  std::unordered_map<uint64_t, std::vector<Frame>> by_pc;
  auto frames_of = [&](uint64_t pc) -> const std::vector<Frame>& {
    auto it = by_pc.find(pc);
    if (it == by_pc.end()) it = by_pc.emplace(pc, source(dump, pc)).first;
    return it->second;
  };

  std::vector<Site> sites;
  sites.reserve(dump.sites.size());
  const std::vector<double> oldest = OldestAges(dump);  // indexed like dump.sites, as `sites` fills
  // Symbolizing a large dump can take a while; say how far it got (only on
  // a terminal, only once it has taken a while; see progress.h).
  ProgressLine progress("symbolizing", "stacks", dump.sites.size());
  for (const format::Site& raw : dump.sites) {
    progress.Update(sites.size());
    Site site;
    site.resource = raw.resource;
    site.label = raw.label;
    site.bytes = raw.live_bytes;
    site.count = raw.live_count;
    site.var_bytes = raw.var_live_bytes;
    site.var_count = raw.var_live_count;
    site.oldest_age_s = oldest[sites.size()];
    if (const format::Stack* stack = dump.FindStack(raw.stack_id)) {
      site.truncated = stack->truncated();
      for (uint64_t pc : stack->pcs)
        for (const Frame& f : frames_of(pc))
          if (!IsLeaktraceFrame(f)) site.frames.push_back(f);
    }
    site.key = SiteKey(site.resource, site.label, site.frames);
    sites.push_back(std::move(site));
  }

  Report report;
  report.kind = ReportKind::kLive;
  report.dumps.push_back(DescribeDump(dump));
  report.exact = dump.process.exact();
  report.sites = CombineSites(std::move(sites));
  return report;
}

}  // namespace leaktrace::reporter
