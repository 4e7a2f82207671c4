// `leaktrace check --format junit`: JUnit XML for CI systems (Jenkins,
// GitLab, GitHub test reporters), which show each failed <testcase>.
#include <cmath>
#include <ctime>
#include <map>

#include <fmt/format.h>

#include "reporter/group.h"
#include "reporter/render.h"
#include "reporter/sizes.h"

namespace leaktrace::reporter {

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0.
size_t Utf8Length(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return 0;
  if (n == 2 && c < 0xc2) return 0;  // overlong
  if (n == 3) {
    const auto c1 = static_cast<unsigned char>(s[i + 1]);
    if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 >= 0xa0)) return 0;  // overlong, surrogates
  }
  if (n == 4) {
    const auto c1 = static_cast<unsigned char>(s[i + 1]);
    if ((c == 0xf0 && c1 < 0x90) || c > 0xf4 || (c == 0xf4 && c1 >= 0x90)) return 0;
  }
  return n;
}

std::string IsoTime(int64_t realtime_ns) {
  if (realtime_ns <= 0) return "1970-01-01T00:00:00";
  time_t seconds = static_cast<time_t>(realtime_ns / 1000000000);
  struct tm tm {};
  gmtime_r(&seconds, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}

// "+4.7 KiB ± 1.0 KiB in ~+100 allocations", "+3 fds".
std::string Growth(const Report& diff, const Site& s) {
  bool integral = diff.exact || s.resource != Resource::kHeap;
  std::string count = FormatSignedCount(s.count);
  if (!integral) count = "~" + count;
  if (s.resource == Resource::kFd) return fmt::format("{} {}", count, std::fabs(std::round(s.count)) == 1 ? "fd" : "fds");
  if (s.resource == Resource::kThread)
    return fmt::format("{} {} (stacks {})", count, std::fabs(std::round(s.count)) == 1 ? "thread" : "threads",
                       FormatSignedBytes(s.bytes));
  std::string bytes = FormatSignedBytes(s.bytes);
  if (s.var_bytes > 0) bytes += " ± " + FormatBytes(std::sqrt(s.var_bytes));
  const char* noun = s.resource == Resource::kHeap ? "allocation" : "mapping";
  return fmt::format("{} in {} {}{}", bytes, count, noun, std::fabs(std::round(s.count)) == 1 ? "" : "s");
}

// "parse_header (src/http.c:120)": the site's innermost user frame.
std::string SiteName(const Site& s) {
  if (s.frames.empty()) return s.label.empty() ? "(no stack)" : "[" + s.label + "]";
  const Frame& f = s.frames[InnermostUserFrame(s.frames)];
  std::string name = DisplayName(f);
  if (!f.file.empty()) name += f.line ? fmt::format(" ({}:{})", f.file.str(), f.line) : fmt::format(" ({})", f.file.str());
  if (!s.label.empty()) name += " [" + s.label + "]";
  return name;
}

bool Grew(const Site& s) { return CountedByNumber(s.resource) ? s.count > 0 : s.bytes > 0; }

}  // namespace

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    switch (c) {
      case '&': out += "&amp;"; ++i; continue;
      case '<': out += "&lt;"; ++i; continue;
      case '>': out += "&gt;"; ++i; continue;
      case '"': out += "&quot;"; ++i; continue;
      case '\'': out += "&apos;"; ++i; continue;
      case '\n': case '\t': case '\r': out += c; ++i; continue;
      default: break;
    }
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += '?';
      ++i;
      continue;
    }
    const size_t n = Utf8Length(text, i);
    if (n == 0) {
      out += '?';
      ++i;
      continue;
    }
    out.append(text.substr(i, n));
    i += n;
  }
  return out;
}

std::string RenderCheckJunit(const CheckResult& result, const Report& diff, const RenderOptions& options) {
  RenderOptions plain = options;
  plain.color = false;
  plain.max_frames = 0;

  struct Case {
    std::string classname, name, body;
  };
  std::vector<Case> cases;
  size_t failures = 0, skipped = 0;

  Report offending;
  offending.kind = ReportKind::kGrowth;
  offending.exact = diff.exact;

  for (const RuleResult& r : result.rules) {
    Case c{"leaktrace.rules", r.name + ": " + r.summary, ""};
    if (!r.passed) {
      ++failures;
      std::string details;
      size_t rank = 0;
      for (const std::string& key : r.offending_keys)
        for (const Site& s : result.offending)
          if (s.key.str() == key) details += RenderSiteText(offending, s, ++rank, plain) + "\n";
      c.body = fmt::format("<failure type=\"threshold\" message=\"{}\">{}</failure>", XmlEscape(r.message),
                           XmlEscape(details));
    }
    cases.push_back(std::move(c));
  }

  std::map<std::string, int> seen_names;
  auto site_case = [&](const Site& s) {
    Case c{fmt::format("leaktrace.sites.{}", format::ResourceName(s.resource)), SiteName(s), ""};
    if (int n = ++seen_names[c.classname + c.name]; n > 1) c.name += fmt::format(" #{}", n);
    return c;
  };
  std::map<SiteKey, bool> offender;
  for (const Site& s : result.offending) offender[s.key] = true;
  size_t rank = 0;
  for (const Site& s : result.checked) {
    if (!Grew(s) && !offender.count(s.key)) continue;
    Case c = site_case(s);
    if (offender.count(s.key)) {
      ++failures;
      c.body = fmt::format("<failure type=\"leak\" message=\"{}\">{}</failure>",
                           XmlEscape(fmt::format("{} grew by {}", format::ResourceName(s.resource), Growth(diff, s))),
                           XmlEscape(RenderSiteText(offending, s, ++rank, plain)));
    } else {
      c.body = fmt::format("<system-out>{}</system-out>",
                           XmlEscape(fmt::format("{} grew by {}, within the thresholds",
                                                 format::ResourceName(s.resource), Growth(diff, s))));
    }
    cases.push_back(std::move(c));
  }
  for (const SuppressedSite& x : result.suppressed_sites) {
    if (!Grew(x.site)) continue;
    Case c = site_case(x.site);
    ++skipped;
    c.body = fmt::format("<skipped message=\"{}\"/>",
                         XmlEscape(fmt::format("suppressed by leak:{} ({} grew by {})", x.pattern,
                                               format::ResourceName(x.site.resource), Growth(diff, x.site))));
    cases.push_back(std::move(c));
  }

  int64_t after_ns = 0;
  for (const DumpInfo& d : diff.dumps) after_ns = std::max(after_ns, d.snapshot_realtime_ns);
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format(
      "<testsuite name=\"leaktrace check\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"0\" "
      "timestamp=\"{}\">\n",
      cases.size(), failures, skipped, IsoTime(after_ns));
  out += "  <properties>\n";
  for (const DumpInfo& d : diff.baseline)
    out += fmt::format("    <property name=\"before\" value=\"{}\"/>\n", XmlEscape(d.path));
  for (const DumpInfo& d : diff.dumps)
    out += fmt::format("    <property name=\"after\" value=\"{}\"/>\n", XmlEscape(d.path));
  out += fmt::format("    <property name=\"exact\" value=\"{}\"/>\n", diff.exact ? "true" : "false");
  out += fmt::format("    <property name=\"suppressed\" value=\"{}\"/>\n", result.suppressed);
  out += "  </properties>\n";
  for (const Case& c : cases) {
    out += fmt::format("  <testcase classname=\"{}\" name=\"{}\" time=\"0\"", XmlEscape(c.classname),
                       XmlEscape(c.name));
    out += c.body.empty() ? "/>\n" : fmt::format(">{}</testcase>\n", c.body);
  }
  out += "</testsuite>\n";
  return out;
}

}  // namespace leaktrace::reporter
