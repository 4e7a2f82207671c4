#include "reporter/memory_chart.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "reporter/html_escape.h"
#include "reporter/render.h"
#include "reporter/sizes.h"

namespace leaktrace::reporter {

namespace {

constexpr double kWidth = 960, kHeight = 400;
constexpr double kLeft = 90, kRight = 180, kTop = 20, kBottom = 50;

struct Series {
  const char* name;
  const char* color;
  double MemoryParts::*figure;
};
constexpr Series kSeries[] = {
    {"RSS", "#222222", &MemoryParts::rss},
    {"live heap", "#d62728", &MemoryParts::heap},
    {"allocator free", "#ff7f0e", &MemoryParts::allocator_free},
    {"thread stacks", "#2ca02c", &MemoryParts::thread_stacks},
    {"unexplained", "#9467bd", &MemoryParts::unexplained},
};

// A round step for about `ticks` gridlines over `span`: 1, 2 or 5 times a
// power of `base` (1024 for bytes, 10 for seconds).
double NiceStep(double span, int ticks, double base) {
  if (span <= 0) return 1;
  const double raw = span / ticks;
  double power = 1;
  while (power * base <= raw) power *= base;
  while (power > raw) power /= base;
  for (double m : {1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0})
    if (power * m >= raw) return power * m;
  return power * base;
}

}  // namespace

std::string RenderMemoryChartHtml(std::vector<DumpInfo> dumps) {
  if (std::optional<std::string> problem = NotOneProcess(dumps, "a memory chart"))
    throw std::invalid_argument(*problem);
  std::erase_if(dumps, [](const DumpInfo& d) { return !d.memory.known; });
  if (dumps.size() < 2)
    throw std::invalid_argument("a memory chart needs two or more dumps with memory figures (written by this "
                                "version's library)");
  std::stable_sort(dumps.begin(), dumps.end(), [](const DumpInfo& a, const DumpInfo& b) {
    return a.snapshot_realtime_ns < b.snapshot_realtime_ns;
  });
  bool all_allocator = true;
  for (const DumpInfo& d : dumps) all_allocator = all_allocator && !d.memory.allocator.empty();
  if (!all_allocator)
    for (DumpInfo& d : dumps) d.memory = WithoutAllocator(d.memory);
  std::vector<double> t;
  for (const DumpInfo& d : dumps)
    t.push_back(static_cast<double>(d.snapshot_realtime_ns - dumps.front().snapshot_realtime_ns) / 1e9);
  double lo = 0, hi = 0;
  for (const DumpInfo& d : dumps)
    for (const Series& s : kSeries) {
      lo = std::min(lo, d.memory.*s.figure);
      hi = std::max(hi, d.memory.*s.figure);
    }
  const double y_step = NiceStep(hi - lo, 6, 1024);
  lo = std::floor(lo / y_step) * y_step;
  hi = std::max(lo + y_step, std::ceil(hi / y_step) * y_step);
  const double t_end = std::max(t.back(), 1e-9);
  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  auto x = [&](double s) { return kLeft + plot_w * s / t_end; };
  auto y = [&](double v) { return kTop + plot_h * (1 - (v - lo) / (hi - lo)); };

  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" "
      "font-size=\"12\">\n",
      kWidth, kHeight);
  for (double v = lo; v <= hi + y_step / 2; v += y_step) {
    svg += fmt::format("<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>\n", kLeft,
                       kLeft + plot_w, y(v), y(v));
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", kLeft - 6, y(v) + 4,
                       HtmlEscape(FormatBytes(v)));
  }
  const double t_step = NiceStep(t_end, 8, 10);
  for (double s = 0; s <= t_end + t_step / 100; s += t_step) {
    svg += fmt::format("<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#eee\"/>\n", x(s), x(s),
                       kTop, kTop + plot_h);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{:g} s</text>\n", x(s),
                       kTop + plot_h + 18, s);
  }
  svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">seconds since the first snapshot</text>\n",
                     kLeft + plot_w / 2, kHeight - 8);
  double legend_y = kTop + 10;
  for (const Series& s : kSeries) {
    std::string points;
    for (size_t i = 0; i < dumps.size(); ++i)
      points += fmt::format("{:.1f},{:.1f} ", x(t[i]), y(dumps[i].memory.*s.figure));
    svg += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>\n", s.color, points);
    for (size_t i = 0; i < dumps.size(); ++i)
      svg += fmt::format(
          "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"><title>{} at {:.1f} s (snapshot #{}): {}</title>"
          "</circle>\n",
          x(t[i]), y(dumps[i].memory.*s.figure), s.color, s.name, t[i], dumps[i].seq,
          HtmlEscape(FormatBytes(dumps[i].memory.*s.figure)));
    svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"14\" height=\"4\" fill=\"{}\"/>\n", kWidth - kRight + 16,
                       legend_y - 4, s.color);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">{} {}</text>\n", kWidth - kRight + 36, legend_y, s.name,
                       HtmlEscape(FormatBytes(dumps.back().memory.*s.figure)));
    legend_y += 20;
  }
  svg += "</svg>\n";

  const DumpInfo& first = dumps.front();
  const MemoryParts growth = MemoryGrowth(first.memory, dumps.back().memory);
  const std::string reading = MemoryReading(growth);
  std::string rows;
  for (size_t i = 0; i < dumps.size(); ++i) {
    const MemoryParts& m = dumps[i].memory;
    rows += fmt::format("<tr><td>#{}</td><td>{:.1f} s</td>", dumps[i].seq, t[i]);
    for (const Series& s : kSeries) rows += "<td>" + HtmlEscape(FormatBytes(m.*s.figure)) + "</td>";
    rows += fmt::format("<td>{}</td><td>{}</td></tr>\n", HtmlEscape(FormatBytes(m.mmap)), HtmlEscape(FormatBytes(m.leaktrace)));
  }
  std::string head;
  for (const Series& s : kSeries) head += fmt::format("<th>{}</th>", s.name);
  return fmt::format(
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>leaktrace: memory of {0} (pid {1})</title>\n"
      "<style>body{{font-family:sans-serif;margin:20px}} table{{border-collapse:collapse}} "
      "td,th{{padding:2px 10px;text-align:right;border-bottom:1px solid #eee;white-space:nowrap}}</style></head><body>\n"
      "<h2>Memory of {0} (pid {1}) across {2} snapshots</h2>\n<p>{3}{4}</p>\n{5}\n"
      "<table><tr><th>snapshot</th><th>time</th>{6}<th>mappings</th><th>leaktrace</th></tr>\n{7}</table>\n"
      "<p>RSS = live heap + allocator free + mappings + thread stacks + leaktrace + unexplained "
      "(docs/cli.md, \"Where the RSS went\").</p>\n</body></html>\n",
      HtmlEscape(first.program), first.pid, dumps.size(),
      first.memory.allocator.empty() ? "allocator not known" : "allocator " + HtmlEscape(first.memory.allocator),
      reading.empty() ? "" : "<br>" + HtmlEscape(reading), svg, head, rows);
}

}  // namespace leaktrace::reporter
