#include "reporter/export_flame.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "reporter/html_escape.h"
#include "reporter/sizes.h"
#include "reporter/web/flame_assets.h"

namespace leaktrace::reporter {

namespace {

double Value(const Site& s, Resource resource) {
  return std::llround(CountedByNumber(resource) ? s.count : s.bytes);
}

std::string FoldedName(const Frame& f) {
  std::string name = DisplayName(f);
  for (char& c : name) {
    if (c == ';') c = ':';
    if (static_cast<unsigned char>(c) < 0x20) c = '?';
  }
  return name;
}

std::vector<std::string> Path(const Site& s) {
  std::vector<std::string> path;
  for (auto it = s.frames.rbegin(); it != s.frames.rend(); ++it) path.push_back(FoldedName(*it));
  if (path.empty()) path.push_back("[no stack]");
  return path;
}

// What a frame box shows after the name: "http.c:120" (the file's base
// name), else "(module)" for a function without line information.
std::string Location(const Frame& f) {
  if (!f.file.empty()) {
    std::string base = ModuleBasename(f.file);
    return f.line ? fmt::format("{}:{}", base, f.line) : base;
  }
  if (!f.module.empty()) return "(" + ModuleBasename(f.module) + ")";
  return "";
}

// The tooltip's full location: "src/http.c:120".
std::string FullLocation(const Frame& f) {
  if (f.file.empty()) return "";
  return f.line ? fmt::format("{}:{}", f.file.str(), f.line) : f.file.str();
}

// A call tree. Children are keyed by what the page shows of a frame (name,
// location, inlined), in first-seen order for a stable picture.
struct Node {
  std::string name;
  std::string loc;     // "file:line", "file", "(module)" or empty
  std::string source;  // FullLocation
  std::string module;  // full path as recorded
  bool inlined = false;
  double value = 0;
  std::vector<std::unique_ptr<Node>> children;
  std::map<std::string, Node*> by_key;

  Node* Child(const Frame& f) {
    std::string loc = Location(f);
    std::string key = FoldedName(f) + '\0' + loc + (f.inlined ? "\1" : "");
    auto it = by_key.find(key);
    if (it != by_key.end()) return it->second;
    children.push_back(std::make_unique<Node>());
    Node* n = children.back().get();
    n->name = DisplayName(f);
    n->loc = std::move(loc);
    n->source = FullLocation(f);
    n->module = f.module;
    n->inlined = f.inlined;
    by_key[key] = n;
    return n;
  }
  nlohmann::ordered_json Json() const {
    nlohmann::ordered_json j = {{"name", name}, {"value", std::llround(value)}};
    if (!loc.empty()) j["loc"] = loc;
    if (!source.empty()) j["src"] = source;
    if (!module.empty()) j["mod"] = module;
    if (inlined) j["inl"] = true;
    nlohmann::ordered_json c = nlohmann::ordered_json::array();
    for (const auto& child : children) c.push_back(child->Json());
    j["children"] = std::move(c);
    return j;
  }
};

// The values `resource` draws, as a tree rooted at "all"; `count` gets the
// number of objects (allocations, mappings, descriptors) of the drawn sites.
Node BuildTree(const Report& report, Resource resource, double* count) {
  Node root;
  root.name = "all";
  for (const Site& s : report.sites) {
    if (s.resource != resource) continue;
    double v = Value(s, resource);
    if (v <= 0) continue;
    root.value += v;
    *count += s.count;
    Node* n = &root;
    if (s.frames.empty()) {
      Frame none;
      none.function = "[no stack]";
      n = n->Child(none);
      n->value += v;
    }
    for (auto it = s.frames.rbegin(); it != s.frames.rend(); ++it) {
      n = n->Child(*it);
      n->value += v;
    }
  }
  return root;
}

// JSON inside <script>: "</script>" or "<!--" in a symbol must not end it.
std::string ScriptSafe(const std::string& json) {
  std::string safe;
  for (char c : json) safe += c == '<' ? std::string("\\u003c") : std::string(1, c);
  return safe;
}

// "leaky_service, pid 4242, snapshot #2 at 2026-11-26 17:30:12 (signal)"
std::string DescribeDump(const DumpInfo& d) {
  return fmt::format("{}, pid {}, snapshot #{} at {} ({})", d.program, d.pid, d.seq,
                     FormatLocalTime(d.snapshot_realtime_ns, true), TriggerName(d.trigger));
}

// One <p> per dump, at most kShown of them, then how many more.
std::string DescribeDumps(const std::string& label, const std::vector<DumpInfo>& dumps) {
  constexpr size_t kShown = 6;
  std::string out;
  for (size_t i = 0; i < dumps.size() && i < kShown; ++i)
    out += fmt::format("<p>{}{} <span class=\"path\">{}</span></p>\n", HtmlEscape(label), HtmlEscape(DescribeDump(dumps[i])),
                       HtmlEscape(dumps[i].path));
  if (dumps.size() > kShown) out += fmt::format("<p>{}and {} more dumps</p>\n", HtmlEscape(label), dumps.size() - kShown);
  return out;
}

std::string SamplingLine(const Report& report) {
  if (report.exact) return "every allocation recorded (exact)";
  uint64_t interval = 0;
  for (const DumpInfo& d : report.dumps) interval = std::max(interval, d.sample_interval);
  for (const DumpInfo& d : report.baseline) interval = std::max(interval, d.sample_interval);
  return fmt::format("heap sampled every {} on average: heap sizes and counts are estimates",
                     FormatBytes(static_cast<double>(interval)));
}

const char* WhatName(Resource resource) {
  switch (resource) {
    case Resource::kHeap: return "heap";
    case Resource::kMmap: return "mapped memory";
    case Resource::kFd: return "open file descriptors";
    case Resource::kThread: return "threads";
  }
  return "";
}

const char* CountNoun(Resource resource) {
  switch (resource) {
    case Resource::kHeap: return "allocations";
    case Resource::kMmap: return "mappings";
    case Resource::kFd: return "descriptors";
    case Resource::kThread: return "threads";
  }
  return "";
}

std::string Header(const Report& report, Resource resource, const Node& root, double count, size_t sites) {
  const bool growth = report.kind == ReportKind::kGrowth;
  const std::string program = report.dumps.empty() ? std::string("?") : report.dumps[0].program;
  std::string out = fmt::format("<h1>{} {} of {}</h1>\n", growth ? "Growth of" : "Live", WhatName(resource),
                                HtmlEscape(program));
  if (growth) {
    out += DescribeDumps("before: ", report.baseline);
    out += DescribeDumps("after: ", report.dumps);
  } else {
    out += DescribeDumps("", report.dumps);
  }
  if (resource == Resource::kHeap) out += "<p>" + HtmlEscape(SamplingLine(report)) + "</p>\n";
  const bool estimate = resource == Resource::kHeap && !report.exact;
  const std::string figure = CountedByNumber(resource) ? FormatCount(root.value) + " " + CountNoun(resource)
                                                        : FormatBytes(root.value);
  std::string total = fmt::format("{}: {}", growth ? "total growth" : "total", figure);
  if (!CountedByNumber(resource)) total += fmt::format(" in {}{} {}", estimate ? "~" : "", FormatCount(count), CountNoun(resource));
  total += fmt::format(" at {} call site{}", sites, sites == 1 ? "" : "s");
  if (growth) {
    const double seconds = IntervalSeconds(report);
    if (seconds > 0) total += fmt::format(" over {:.1f} s", seconds);
    total += " (only call sites that grew are drawn)";
  }
  out += "<p class=\"total\">" + HtmlEscape(total) + "</p>\n";
  return out;
}

// Fills each {{NAME}} of `page` from `values` in one pass (inserted text is
// not scanned again). An unknown name is left as it is.
std::string FillTemplate(std::string_view page, const std::map<std::string, std::string_view>& values) {
  std::string out;
  out.reserve(page.size());
  size_t pos = 0;
  while (pos < page.size()) {
    size_t open = page.find("{{", pos);
    if (open == std::string_view::npos) break;
    size_t close = page.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    auto it = values.find(std::string(page.substr(open + 2, close - open - 2)));
    out.append(page.substr(pos, open - pos));
    if (it != values.end()) {
      out.append(it->second);
    } else {
      out.append(page.substr(open, close + 2 - open));
    }
    pos = close + 2;
  }
  out.append(page.substr(pos));
  return out;
}

}  // namespace

std::string RenderFolded(const Report& report, Resource resource) {
  std::string out;
  for (const Site& s : report.sites) {
    if (s.resource != resource) continue;
    double v = Value(s, resource);
    if (v <= 0) continue;
    out += fmt::format("{} {}\n", fmt::join(Path(s), ";"), static_cast<long long>(v));
  }
  return out;
}

bool FlameHtmlAvailable() { return web::kFlameAssetsBuilt; }

std::string RenderFlameHtml(const Report& report, Resource resource) {
  double count = 0;
  const Node root = BuildTree(report, resource, &count);
  size_t sites = 0;
  for (const Site& s : report.sites)
    if (s.resource == resource && Value(s, resource) > 0) ++sites;
  const std::string data = ScriptSafe(root.Json().dump(-1, ' ', true, nlohmann::ordered_json::error_handler_t::replace));
  const std::string program = report.dumps.empty() ? std::string() : report.dumps[0].program;
  const std::string title = HtmlEscape(fmt::format("leaktrace: {} {} of {}", report.kind == ReportKind::kGrowth ? "growth of" : "live",
                                                   WhatName(resource), program));
  const std::string header = Header(report, resource, root, count, sites);
  const std::string unit = resource == Resource::kFd       ? "\"descriptors\""
                           : resource == Resource::kThread ? "\"threads\""
                                                           : "\"bytes\"";
  return FillTemplate(web::kPageTemplate, {{"TITLE", title},
                                           {"HEADER", header},
                                           {"DATA", data},
                                           {"UNIT", unit},
                                           {"VERSIONS", web::kVersions},
                                           {"D3_JS", web::kD3Js},
                                           {"FLAMEGRAPH_JS", web::kFlameGraphJs}});
}

}  // namespace leaktrace::reporter
