// Text to put inside HTML markup or a double-quoted attribute, for the
// self-contained pages the exports write (flame graph, memory chart).
#pragma once

#include <string>

namespace leaktrace::reporter {

inline std::string HtmlEscape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace leaktrace::reporter
