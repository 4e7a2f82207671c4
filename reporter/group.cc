#include "reporter/group.h"

#include <algorithm>
#include <string_view>

#include "reporter/merge.h"

namespace leaktrace::reporter {

namespace {

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool IsRuntimeModule(std::string_view base) {
  static constexpr std::string_view kPrefixes[] = {
      "libc.so",      "libc-",       "libm.so",       "libpthread.so", "libdl.so",      "librt.so",
      "ld-linux",     "ld64.so",     "ld.so",         "libstdc++.so",  "libc++.so",     "libc++abi.so",
      "libgcc_s.so",  "libjemalloc", "libtcmalloc",   "libmimalloc",
  };
  for (std::string_view p : kPrefixes)
    if (StartsWith(base, p)) return true;
  return false;
}

bool IsSystemSource(std::string_view file) {
  return StartsWith(file, "/usr/include/") || StartsWith(file, "/usr/lib/gcc/") ||
         StartsWith(file, "/usr/local/include/c++/");
}

bool IsAllocationFunction(std::string_view f) {
  if (StartsWith(f, "operator new") || StartsWith(f, "operator delete")) return true;
  // Strip a parameter list ("malloc(unsigned long)" from a C++ build).
  f = f.substr(0, f.find('('));
  static constexpr std::string_view kNames[] = {"malloc",  "calloc", "realloc", "reallocarray", "aligned_alloc",
                                                "posix_memalign", "memalign", "valloc", "pvalloc", "strdup",
                                                "strndup"};
  for (std::string_view n : kNames)
    if (f == n) return true;
  return false;
}

bool IsRuntimeNamespace(std::string_view f) {
  return StartsWith(f, "std::") || StartsWith(f, "__gnu_cxx::") || StartsWith(f, "__cxxabiv1::");
}

// Function mode: a frame is identified by its function (any line), or by
// module and offset when it has no symbol.
SiteKey FunctionKey(const Site& s) {
  std::vector<InternedString> parts;
  parts.reserve(s.frames.size());
  for (const Frame& f : s.frames)
    parts.push_back(f.function.empty() ? SiteKey::FramePart(f) : InternedString("F" + f.function));
  return SiteKey(SiteKey::Head(s.resource, s.label), std::move(parts));
}

}  // namespace

bool IsRuntimeFrame(const Frame& frame) {
  if (!frame.module.empty() && IsRuntimeModule(ModuleBasename(frame.module))) return true;
  if (!frame.file.empty() && IsSystemSource(frame.file)) return true;
  if (!frame.function.empty() && (IsAllocationFunction(frame.function) || IsRuntimeNamespace(frame.function)))
    return true;
  return false;
}

size_t InnermostUserFrame(const std::vector<Frame>& frames) {
  for (size_t i = 0; i < frames.size(); ++i)
    if (!IsRuntimeFrame(frames[i])) return i;
  return 0;
}

std::vector<Site> Regroup(std::vector<Site> sites, const Grouping& grouping) {
  if (grouping.is_default()) return sites;
  if (grouping.by == GroupBy::kStack) {
    for (Site& s : sites) {
      if (s.frames.size() > grouping.depth) s.frames.resize(grouping.depth);
      s.key = SiteKey(s.resource, s.label, s.frames);
    }
    return CombineSites(std::move(sites));
  }

  const size_t depth = grouping.depth ? grouping.depth : 1;
  std::vector<Site> out;
  out.reserve(sites.size());
  SiteKeyIndex<size_t> index;  // refers to out[i].key
  for (Site& s : sites) {
    const size_t user = InnermostUserFrame(s.frames);
    std::vector<Frame> kept;
    for (size_t i = user; i < s.frames.size() && kept.size() < depth; ++i) kept.push_back(std::move(s.frames[i]));
    s.frames = std::move(kept);
    s.key = FunctionKey(s);
    auto it = index.find(s.key);
    if (it == index.end()) {
      out.push_back(std::move(s));
      index.emplace(out.back().key, out.size() - 1);  // reserve() keeps the references valid
      continue;
    }
    Site& into = out[it->second];
    into.bytes += s.bytes;
    into.count += s.count;
    into.var_bytes += s.var_bytes;
    into.var_count += s.var_count;
    into.truncated = into.truncated || s.truncated;
    into.folded = into.folded || s.folded;
    into.oldest_age_s = std::max(into.oldest_age_s, s.oldest_age_s);
    into.alloc_bytes += s.alloc_bytes;
    into.alloc_count += s.alloc_count;
    for (size_t i = 0; i < into.frames.size() && i < s.frames.size(); ++i) {
      Frame& f = into.frames[i];
      if (f.line != s.frames[i].line || f.file != s.frames[i].file) {
        f.line = 0;
        f.column = 0;
      }
      if (f.file != s.frames[i].file) f.file.clear();
    }
  }
  SortSites(out);
  return out;
}

void Regroup(Report& report, const Grouping& grouping) {
  report.sites = Regroup(std::move(report.sites), grouping);
}

}  // namespace leaktrace::reporter
