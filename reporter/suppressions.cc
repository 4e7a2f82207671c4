#include "reporter/suppressions.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace leaktrace::reporter {

namespace {

// Glob with '*' only, anchored at both ends.
bool GlobMatch(std::string_view p, std::string_view t) {
  size_t pi = 0, ti = 0;
  size_t star = std::string_view::npos, resume = 0;
  while (ti < t.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      resume = ti;
    } else if (pi < p.size() && p[pi] == t[ti]) {
      ++pi;
      ++ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++resume;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool WildcardMatch(std::string_view pattern, std::string_view text) {
  // Turn LeakSanitizer's substring semantics into one anchored glob.
  std::string glob;
  if (!pattern.empty() && pattern.front() == '^') pattern.remove_prefix(1);
  else glob += '*';
  bool anchored_end = !pattern.empty() && pattern.back() == '$';
  if (anchored_end) pattern.remove_suffix(1);
  glob += pattern;
  if (!anchored_end) glob += '*';
  return GlobMatch(glob, text);
}

Suppressions Suppressions::Parse(std::string_view text, const std::string& name) {
  Suppressions result;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = Trim(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos)
      throw SuppressionError(name + ":" + std::to_string(line_no) + ": expected 'leak:PATTERN', got '" +
                             std::string(line) + "'");
    std::string_view type = Trim(line.substr(0, colon));
    std::string_view pattern = Trim(line.substr(colon + 1));
    if (type != "leak")
      throw SuppressionError(name + ":" + std::to_string(line_no) + ": unknown rule type '" +
                             std::string(type) + "' (only 'leak:' is supported)");
    if (pattern.empty())
      throw SuppressionError(name + ":" + std::to_string(line_no) + ": empty pattern");
    result.Add(std::string(pattern));
  }
  return result;
}

Suppressions Suppressions::Load(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw SuppressionError(path + ": is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SuppressionError(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) throw SuppressionError(path + ": read error: " + std::strerror(errno));
  return Parse(content.str(), path);
}

namespace {

// "leaky_service.c:28", the way output prints a location, is matched against
// the frame's "file:line"; its line must match whole (":28" is not ":281").
bool MatchesLocation(const std::string& pattern, const Frame& f) {
  if (f.file.empty() || f.line == 0) return false;
  const size_t colon = pattern.rfind(':');
  if (colon == std::string::npos || colon + 1 >= pattern.size()) return false;
  std::string_view line = pattern;
  line.remove_prefix(colon + 1);
  const bool anchored = line.back() == '$';
  if (anchored) line.remove_suffix(1);
  if (line.empty() || line.find_first_not_of("0123456789") != std::string_view::npos) return false;
  return WildcardMatch(anchored ? pattern : pattern + "$", f.file + ":" + std::to_string(f.line));
}

}  // namespace

const std::string* Suppressions::Match(const Site& site, const std::vector<ProgramName>& programs) const {
  auto program_matches = [&](const std::string& p, const Frame& f) {
    for (const ProgramName& name : programs)
      if (!name.program.empty() && f.module == name.exe_path && WildcardMatch(p, name.program)) return true;
    return false;
  };
  for (const std::string& p : patterns_)
    for (const Frame& f : site.frames)
      if ((!f.function.empty() && WildcardMatch(p, f.function)) ||
          (!f.file.empty() && WildcardMatch(p, f.file)) ||
          (!f.module.empty() && (WildcardMatch(p, f.module) || program_matches(p, f))) || MatchesLocation(p, f))
        return &p;
  return nullptr;
}

}  // namespace leaktrace::reporter
