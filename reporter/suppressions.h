// LeakSanitizer-style suppressions for `leaktrace check`.
//
// File format, one rule per line:
//   # comment            (and blank lines)
//   leak:PATTERN         PATTERN is matched against the function, the file and
//                        the module path of every frame of a site (and, in
//                        the program's executable, the name it ran as:
//                        ProgramName); the site is
//                        suppressed if any of them matches. A pattern ending
//                        in ":LINE" (as output prints locations,
//                        "leaky_service.c:28") also matches a frame's
//                        "file:line", the line whole.
// As in LeakSanitizer, a pattern matches anywhere in the text (substring);
// `*` matches any run of characters, a leading `^` anchors at the start and a
// trailing `$` at the end.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "reporter/model.h"

namespace leaktrace::reporter {

// One line naming the file and line: "supp.txt:3: unknown rule type 'foo'".
class SuppressionError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// LeakSanitizer's template match (see above).
bool WildcardMatch(std::string_view pattern, std::string_view text);

class Suppressions {
 public:
  // `name` is used in error messages. Throws SuppressionError.
  static Suppressions Parse(std::string_view text, const std::string& name);
  // Throws SuppressionError (also when the file cannot be read).
  static Suppressions Load(const std::string& path);

  void Add(std::string pattern) { patterns_.push_back(std::move(pattern)); }
  bool empty() const { return patterns_.empty(); }
  size_t size() const { return patterns_.size(); }

  // The name a program ran as, beside the file it runs from: a frame in
  // `exe_path` matches `program` too (Debian's redis-server is a link to
  // redis-check-rdb: `leak:redis-server` matched nothing).
  struct ProgramName {
    std::string exe_path, program;
  };
  // The first pattern that matches a frame of `site`, or nullptr.
  const std::string* Match(const Site& site, const std::vector<ProgramName>& programs = {}) const;
  bool Matches(const Site& site) const { return Match(site) != nullptr; }

 private:
  std::vector<std::string> patterns_;
};

}  // namespace leaktrace::reporter
