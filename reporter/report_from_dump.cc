#include "reporter/report_from_dump.h"

#include <algorithm>
#include <string_view>
#include <unordered_map>

#include "reporter/age_filter.h"
#include "reporter/merge.h"
#include "reporter/suppressions.h"

namespace leaktrace::reporter {

bool IsLeaktraceFrame(const Frame& f) {
  return ModuleBasename(f.module).rfind("libleaktrace", 0) == 0;
}

const std::vector<std::string> kBuiltinAllocFns = {
    "zmalloc*",         "zcalloc*",        "zrealloc*",       "ztrymalloc*",     "ztrycalloc*",
    "ztryrealloc*",     "xmalloc",         "xcalloc",         "xrealloc",        "g_malloc*",
    "g_try_malloc*",    "g_realloc*",      "PyMem_*",         "_PyMem_*",        "PyObject_Malloc",
    "PyObject_Calloc",  "PyObject_Realloc", "_PyObject_Malloc", "operator new*",  "je_*",
    "CRYPTO_malloc",    "CRYPTO_zalloc",   "CRYPTO_realloc",
};

namespace {

bool Glob(std::string_view pattern, std::string_view text) { return WildcardMatch("^" + std::string(pattern) + "$", text); }

// The address ranges of the modules the dump flags as libleaktrace itself:
// a copy of the library under another file name, whose frames
// IsLeaktraceFrame cannot tell by the name.
std::vector<format::Segment> LeaktraceSegments(const format::Dump& dump) {
  std::vector<format::Segment> segments;
  for (const format::Module& m : dump.modules)
    if ((m.flags & format::kModuleLeaktrace) != 0) segments.insert(segments.end(), m.segments.begin(), m.segments.end());
  return segments;
}

bool InSegments(const std::vector<format::Segment>& segments, uint64_t pc) {
  for (const format::Segment& s : segments)
    if (pc >= s.start && pc < s.end) return true;
  return false;
}

}  // namespace

bool IsAllocatorWrapper(const Frame& f, const StackOptions& options) {
  if (f.function.empty()) return false;
  const std::string_view full = f.function;
  // "xmalloc(unsigned long)" from a C++ build matches "xmalloc".
  const std::string_view bare = full.substr(0, full.rfind("operator", 0) == 0 ? full.size() : full.find('('));
  auto match = [&](const std::string& g) { return Glob(g, full) || Glob(g, bare); };
  for (const std::string& g : kBuiltinAllocFns)
    if (match(g)) return true;
  for (const std::string& g : options.alloc_fns)
    if (match(g)) return true;
  return false;
}

bool IsStartupFrame(const Frame& f) {
  const std::string_view fn = f.function;
  if (fn == "_start" || fn.rfind("__libc_start_", 0) == 0) return true;
  const std::string module = ModuleBasename(f.module);
  const bool libc = module.rfind("libc.so", 0) == 0 || module.rfind("libc-", 0) == 0;
  return libc && (fn == "start_thread" || fn == "clone" || fn == "clone3" || fn == "__clone" || fn == "__clone3");
}

void CleanStack(std::vector<std::vector<Frame>>& pcs, const StackOptions& options) {
  size_t total = 0;
  for (std::vector<Frame>& g : pcs) {
    std::erase_if(g, IsLeaktraceFrame);
    total += g.size();
  }
  // Top: leading wrappers, innermost first.
  size_t strip = 0;
  for (const std::vector<Frame>& g : pcs) {
    size_t i = 0;
    while (i < g.size() && IsAllocatorWrapper(g[i], options)) ++i;
    strip += i;
    if (i < g.size()) break;
  }
  if (strip >= total) strip = total ? total - 1 : 0;
  for (std::vector<Frame>& g : pcs) {
    const size_t n = std::min(strip, g.size());
    g.erase(g.begin(), g.begin() + static_cast<std::ptrdiff_t>(n));
    strip -= n;
    total -= n;
    if (strip == 0) break;
  }
  if (options.full_stacks) {
    std::erase_if(pcs, [](const std::vector<Frame>& g) { return g.empty(); });
    return;
  }
  // Bottom: trailing start-up frames, outermost first.
  size_t fold = 0;
  for (auto g = pcs.rbegin(); g != pcs.rend(); ++g) {
    size_t i = 0;
    while (i < g->size() && IsStartupFrame((*g)[g->size() - 1 - i])) ++i;
    fold += i;
    if (i < g->size()) break;
  }
  if (fold >= total) fold = total ? total - 1 : 0;
  for (auto g = pcs.rbegin(); g != pcs.rend() && fold > 0; ++g) {
    const size_t n = std::min(fold, g->size());
    g->resize(g->size() - n);
    fold -= n;
  }
  std::erase_if(pcs, [](const std::vector<Frame>& g) { return g.empty(); });
}

void CleanDumpStacks(format::Dump& dump, const FrameSource& source, const StackOptions& options) {
  const std::vector<format::Segment> own = LeaktraceSegments(dump);
  for (format::Stack& stack : dump.stacks) {
    std::vector<std::vector<Frame>> pcs;
    for (size_t i = 0; i < stack.pcs.size(); ++i) {
      if (InSegments(own, stack.pcs[i])) continue;
      pcs.push_back(source(dump, stack.pcs[i]));
      // CleanStack judges by function and module only: `line` can carry the
      // address's index, so the survivors are found again.
      for (Frame& f : pcs.back()) f.line = static_cast<uint32_t>(i);
    }
    CleanStack(pcs, options);
    std::vector<uint64_t> kept;
    for (const auto& g : pcs) kept.push_back(stack.pcs[g.front().line]);
    stack.pcs = std::move(kept);
  }
}

Report FromDump(const format::Dump& dump, const FrameSource& source, const StackOptions& options,
                const ProgressFn& progress) {
  // Stacks share most of their pcs; symbolize each pc once.
  std::unordered_map<uint64_t, std::vector<Frame>> by_pc;
  auto frames_of = [&](uint64_t pc) -> const std::vector<Frame>& {
    auto it = by_pc.find(pc);
    if (it == by_pc.end()) it = by_pc.emplace(pc, source(dump, pc)).first;
    return it->second;
  };

  const std::vector<format::Segment> own = LeaktraceSegments(dump);
  std::vector<Site> sites;
  sites.reserve(dump.sites.size());
  const std::vector<double> oldest = OldestAges(dump);  // indexed like dump.sites, as `sites` fills
  // Symbolizing a large dump can take a while: the caller may say how far it got.
  for (const format::Site& raw : dump.sites) {
    if (progress) progress(sites.size(), dump.sites.size());
    Site site;
    site.resource = raw.resource;
    site.label = raw.label;
    site.bytes = raw.live_bytes;
    site.count = raw.live_count;
    site.var_bytes = raw.var_live_bytes;
    site.var_count = raw.var_live_count;
    site.oldest_age_s = oldest[sites.size()];
    site.alloc_bytes = raw.alloc_bytes;
    site.alloc_count = raw.alloc_count;
    if (const format::Stack* stack = dump.FindStack(raw.stack_id)) {
      site.truncated = stack->truncated();
      site.folded = stack->folded();
      std::vector<std::vector<Frame>> pcs;
      pcs.reserve(stack->pcs.size());
      for (uint64_t pc : stack->pcs)
        if (!InSegments(own, pc)) pcs.push_back(frames_of(pc));
      CleanStack(pcs, options);
      for (std::vector<Frame>& g : pcs)
        for (Frame& f : g) site.frames.push_back(std::move(f));
    }
    site.key = SiteKey(site.resource, site.label, site.frames);
    sites.push_back(std::move(site));
  }

  if (progress) progress(dump.sites.size(), dump.sites.size());

  Report report;
  report.kind = ReportKind::kLive;
  report.dumps.push_back(DescribeDump(dump));
  report.exact = dump.process.exact();
  report.sites = CombineSites(std::move(sites));
  return report;
}

}  // namespace leaktrace::reporter
