#include "reporter/export_flame.h"

#include <cmath>
#include <map>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

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

// A call tree; children by name, in first-seen order for a stable picture.
struct Node {
  std::string name;
  double value = 0;
  std::vector<std::unique_ptr<Node>> children;
  std::map<std::string, Node*> by_name;

  Node* Child(const std::string& n) {
    auto it = by_name.find(n);
    if (it != by_name.end()) return it->second;
    children.push_back(std::make_unique<Node>());
    children.back()->name = n;
    by_name[n] = children.back().get();
    return children.back().get();
  }
  nlohmann::json Json() const {
    nlohmann::json c = nlohmann::json::array();
    for (const auto& child : children) c.push_back(child->Json());
    return {{"n", name}, {"v", value}, {"c", std::move(c)}};
  }
};

// The page's script: lays the tree out as absolutely positioned boxes.
constexpr const char* kPage = R"HTML(<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>
body{{font:12px monospace;margin:8px;background:#fff;color:#000}}
#g{{position:relative;width:100%}}
#g div{{position:absolute;height:17px;overflow:hidden;white-space:nowrap;box-sizing:border-box;
border:1px solid #fff;border-radius:2px;padding:0 3px;cursor:pointer;line-height:15px}}
#info{{margin:6px 0;min-height:16px}}
</style></head><body>
<h3>{title}</h3>
<div>{subtitle} &mdash; click a frame to zoom, click the root to reset.</div>
<div id="info"></div><div id="g"></div>
<script>
const data = {data};
const unit = {unit};
const g = document.getElementById('g'), info = document.getElementById('info');
function fmt(v) {{
  if (unit !== 'bytes') return v.toLocaleString() + ' ' + unit;
  const u = ['B','KiB','MiB','GiB','TiB']; let i = 0;
  while (Math.abs(v) >= 1024 && i < u.length - 1) {{ v /= 1024; ++i; }}
  return (i ? v.toFixed(1) : v) + ' ' + u[i];
}}
function color(name) {{
  let h = 0; for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return 'hsl(' + (10 + h % 40) + ',' + (70 + h % 20) + '%,' + (55 + h % 15) + '%)';
}}
function draw(focus) {{
  g.innerHTML = '';
  let maxDepth = 0;
  function place(node, depth, x, w) {{
    if (w < 0.0005) return;
    maxDepth = Math.max(maxDepth, depth);
    const d = document.createElement('div');
    d.style.left = (x * 100) + '%'; d.style.width = (w * 100) + '%'; d.style.top = (depth * 18) + 'px';
    d.style.background = depth ? color(node.n) : '#ccc';
    d.textContent = node.n;
    const total = focus.v || 1;
    d.title = node.n + '\n' + fmt(node.v) + ' (' + (100 * node.v / total).toFixed(1) + '%)';
    d.onmouseover = () => {{ info.textContent = d.title.replace('\n', ': '); }};
    d.onclick = () => draw(node === focus ? data : node);
    g.appendChild(d);
    let cx = x;
    for (const c of node.c) {{ const cw = node.v ? w * c.v / node.v : 0; place(c, depth + 1, cx, cw); cx += cw; }}
  }}
  place(focus, 0, 0, 1);
  g.style.height = ((maxDepth + 1) * 18) + 'px';
}}
draw(data);
</script></body></html>
)HTML";

std::string HtmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
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

std::string RenderFlameHtml(const Report& report, Resource resource, const std::string& title) {
  Node root;
  root.name = "all";
  for (const Site& s : report.sites) {
    if (s.resource != resource) continue;
    double v = Value(s, resource);
    if (v <= 0) continue;
    root.value += v;
    Node* n = &root;
    for (const std::string& name : Path(s)) {
      n = n->Child(name);
      n->value += v;
    }
  }
  // JSON inside <script>: "</script>" or "<!--" in a symbol must not end it.
  std::string data = root.Json().dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
  std::string safe;
  for (char c : data) safe += c == '<' ? std::string("\\u003c") : std::string(1, c);
  const bool growth = report.kind == ReportKind::kGrowth;
  std::string what = resource == Resource::kFd       ? "open file descriptors"
                     : resource == Resource::kThread ? "live threads"
                     : resource == Resource::kMmap   ? "mapped bytes"
                                                     : "heap bytes";
  std::string subtitle = fmt::format("{} {} by call site, {} total", growth ? "growth of" : "live",
                                     what, CountedByNumber(resource) ? fmt::format("{}", root.value)
                                                                     : fmt::format("{} bytes", root.value));
  return fmt::format(kPage, fmt::arg("title", HtmlEscape(title)), fmt::arg("subtitle", HtmlEscape(subtitle)),
                     fmt::arg("data", safe),
                     fmt::arg("unit", resource == Resource::kFd       ? "\"descriptors\""
                                     : resource == Resource::kThread ? "\"threads\""
                                                                     : "\"bytes\""));
}

}  // namespace leaktrace::reporter
