#include "reporter/sizes.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <ctime>

#include <fmt/format.h>

namespace leaktrace::reporter {

std::optional<uint64_t> ParseSize(std::string_view text) {
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    return i - start;
  };
  size_t whole = digits();
  size_t fraction = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    fraction = digits();
  }
  if (whole == 0 && fraction == 0) return std::nullopt;
  std::string number(text.substr(0, i));

  double multiplier = 1;
  std::string suffix;
  for (char c : text.substr(i)) suffix += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!suffix.empty()) {
    switch (suffix[0]) {
      case 'k': multiplier = 1024.0; break;
      case 'm': multiplier = 1024.0 * 1024; break;
      case 'g': multiplier = 1024.0 * 1024 * 1024; break;
      case 't': multiplier = 1024.0 * 1024 * 1024 * 1024; break;
      case 'b': multiplier = 1; break;
      default: return std::nullopt;
    }
    std::string_view rest = std::string_view(suffix).substr(suffix[0] == 'b' ? 0 : 1);
    // Accept the unit spelled out: "k", "kb", "kib" (and a bare "b").
    if (!(rest.empty() || rest == "b" || rest == "ib")) return std::nullopt;
    if (suffix[0] == 'b' && rest != "b") return std::nullopt;
  }
  double value = std::strtod(number.c_str(), nullptr) * multiplier;
  if (!std::isfinite(value) || value >= 9.2e18) return std::nullopt;
  return static_cast<uint64_t>(std::llround(value));
}

std::string FormatBytes(double bytes) {
  static const char* const kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  double magnitude = std::fabs(bytes);
  const char* sign = bytes < 0 ? "-" : "";
  if (magnitude < 1024) return fmt::format("{}{:.0f} B", sign, std::round(magnitude));
  int unit = -1;
  while (magnitude >= 1024 && unit < 4) {
    magnitude /= 1024;
    ++unit;
  }
  // 1023.96 KiB would print as "1024.0 KiB"; move it to the next unit.
  if (magnitude >= 1023.95 && unit < 4) {
    magnitude /= 1024;
    ++unit;
  }
  return fmt::format("{}{:.1f} {}", sign, magnitude, kUnits[unit]);
}

std::string FormatSignedBytes(double bytes) {
  std::string s = FormatBytes(bytes);
  if (bytes > 0 && s != "0 B") s.insert(s.begin(), '+');
  return s;
}

std::string FormatCount(double count) {
  double rounded = std::round(count);
  if (rounded == 0) return "0";  // never "-0"
  // Group thousands by hand: fmt's 'L' would follow the user's locale.
  std::string digits = fmt::format("{:.0f}", std::fabs(rounded));
  std::string out = rounded < 0 ? "-" : "";
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string FormatSignedCount(double count) {
  std::string s = FormatCount(count);
  if (s != "0" && s[0] != '-') s.insert(s.begin(), '+');
  return s;
}

std::string FormatLocalTime(int64_t realtime_ns, bool with_date) {
  if (realtime_ns <= 0) return "unknown time";
  time_t seconds = static_cast<time_t>(realtime_ns / 1000000000);
  struct tm tm {};
  localtime_r(&seconds, &tm);
  char buf[64];
  strftime(buf, sizeof buf, with_date ? "%Y-%m-%d %H:%M:%S" : "%H:%M:%S", &tm);
  return buf;
}

}  // namespace leaktrace::reporter
