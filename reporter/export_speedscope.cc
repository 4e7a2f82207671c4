#include "reporter/export_speedscope.h"

#include <cmath>
#include <functional>
#include <map>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace leaktrace::reporter {

namespace {

using Json = nlohmann::ordered_json;

// The shared frame table, each distinct frame once.
class FrameTable {
 public:
  size_t Index(const Frame& f) {
    std::string name = DisplayName(f) + (f.inlined ? " [inlined]" : "");
    std::string file = f.file.empty() ? f.module : f.file;
    auto key = std::make_tuple(name, file, f.line, f.column);
    auto [it, added] = index_.try_emplace(key, frames_.size());
    if (added) {
      Json j = {{"name", name}};
      if (!file.empty()) j["file"] = file;
      if (f.line) j["line"] = f.line;
      if (f.column) j["col"] = f.column;
      frames_.push_back(std::move(j));
    }
    return it->second;
  }
  size_t NoStack() {
    Frame none;
    none.function = "[no stack]";
    return Index(none);
  }
  Json Frames() const { return frames_; }

 private:
  std::map<std::tuple<std::string, std::string, uint32_t, uint32_t>, size_t> index_;
  Json frames_ = Json::array();
};

struct Value {
  Resource resource;
  const char* name;  // "heap live bytes", ...
  const char* unit;  // speedscope's ValueUnit
  std::function<double(const Site&)> of;
};

// Bytes as integers; counts keep the fraction a sampled estimate has.
double Weight(double v, const char* unit) { return std::string(unit) == "bytes" ? std::round(v) : v; }

}  // namespace

std::string RenderSpeedscope(const Report& report, const std::string& exporter) {
  const bool growth = report.kind == ReportKind::kGrowth;
  std::vector<Value> values = {
      {Resource::kHeap, growth ? "heap growth (bytes)" : "heap live (bytes)", "bytes", [](const Site& s) { return s.bytes; }},
      {Resource::kHeap, growth ? "heap growth (allocations)" : "heap live (allocations)", "none",
       [](const Site& s) { return s.count; }},
      {Resource::kMmap, growth ? "mmap growth (bytes)" : "mmap live (bytes)", "bytes", [](const Site& s) { return s.bytes; }},
      {Resource::kMmap, growth ? "mmap growth (mappings)" : "mmap live (mappings)", "none",
       [](const Site& s) { return s.count; }},
      {Resource::kFd, growth ? "fd growth (descriptors)" : "fd open (descriptors)", "none",
       [](const Site& s) { return s.count; }},
      {Resource::kThread, growth ? "thread growth (stack bytes)" : "thread live (stack bytes)", "bytes",
       [](const Site& s) { return s.bytes; }},
      {Resource::kThread, growth ? "thread growth (threads)" : "thread live (threads)", "none",
       [](const Site& s) { return s.count; }},
  };
  if (!growth) {
    values.push_back({Resource::kHeap, "heap allocated since start (bytes)", "bytes",
                      [](const Site& s) { return s.alloc_bytes; }});
    values.push_back({Resource::kHeap, "heap allocated since start (allocations)", "none",
                      [](const Site& s) { return s.alloc_count; }});
  }

  std::string program = report.dumps.empty() ? std::string() : report.dumps[0].program;
  std::string who = program;
  if (report.dumps.size() == 1) who += fmt::format(" pid {} #{}", report.dumps[0].pid, report.dumps[0].seq);
  if (report.dumps.size() > 1) who += fmt::format(" ({} dumps)", report.dumps.size());
  if (growth && report.baseline.size() == 1) who += fmt::format(" since #{}", report.baseline[0].seq);
  if (!report.exact) who += ", heap sampled";

  FrameTable frames;
  Json profiles = Json::array();
  for (const Value& value : values) {
    Json samples = Json::array(), weights = Json::array();
    double total = 0;
    for (const Site& s : report.sites) {
      if (s.resource != value.resource) continue;
      const double w = Weight(value.of(s), value.unit);
      if (!(w > 0)) continue;
      Json stack = Json::array();
      if (s.frames.empty()) stack.push_back(frames.NoStack());
      for (auto it = s.frames.rbegin(); it != s.frames.rend(); ++it) stack.push_back(frames.Index(*it));
      samples.push_back(std::move(stack));
      weights.push_back(w);
      total += w;
    }
    if (total <= 0) continue;
    profiles.push_back({{"type", "sampled"},
                        {"name", fmt::format("{}: {}", value.name, who)},
                        {"unit", value.unit},
                        {"startValue", 0},
                        {"endValue", total},
                        {"samples", std::move(samples)},
                        {"weights", std::move(weights)}});
  }
  if (profiles.empty())  // nothing positive anywhere: one empty heap profile
    profiles.push_back({{"type", "sampled"},
                        {"name", fmt::format("{}: {}", values[0].name, who)},
                        {"unit", "bytes"},
                        {"startValue", 0},
                        {"endValue", 0},
                        {"samples", Json::array()},
                        {"weights", Json::array()}});

  Json doc = {{"$schema", "https://www.speedscope.app/file-format-schema.json"},
              {"name", fmt::format("leaktrace: {}", who)},
              {"exporter", exporter},
              {"activeProfileIndex", 0},
              {"shared", {{"frames", frames.Frames()}}},
              {"profiles", std::move(profiles)}};
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace leaktrace::reporter
