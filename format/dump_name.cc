#include "format/dump_name.h"

namespace leaktrace::format {

namespace {

std::optional<uint32_t> Number(std::string_view s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(v);
}

}  // namespace

std::optional<DumpName> ParseDumpName(std::string_view name) {
  constexpr std::string_view kSuffix = ".dump";
  if (name.size() <= kSuffix.size() || name.substr(name.size() - kSuffix.size()) != kSuffix) return std::nullopt;
  name.remove_suffix(kSuffix.size());
  // Parse from the right: the program name may contain dots.
  size_t dot = name.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::optional<uint32_t> seq = Number(name.substr(dot + 1));
  name = name.substr(0, dot);
  dot = name.rfind('.');
  if (!seq || dot == std::string_view::npos || dot == 0) return std::nullopt;
  std::optional<uint32_t> pid = Number(name.substr(dot + 1));
  if (!pid) return std::nullopt;
  return DumpName{std::string(name.substr(0, dot)), *pid, *seq};
}

std::string TemporaryDumpPath(std::string_view final_path) {
  const size_t slash = final_path.rfind('/');
  const size_t base = slash == std::string_view::npos ? 0 : slash + 1;
  return std::string(final_path.substr(0, base)) + "." + std::string(final_path.substr(base)) + ".tmp";
}

}  // namespace leaktrace::format
