// Renderers: text for people, JSON for scripts (shape in CONTRACT.md).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "reporter/check.h"
#include "reporter/model.h"

namespace leaktrace::reporter {

struct RenderOptions {
  size_t top = 0;          // at most this many sites per resource; 0 = all
  double min_bytes = 0;    // leave out heap/mmap sites whose |bytes| is smaller (fd sites stay)
  bool color = false;      // ANSI colour (text only); see ShouldColor
  size_t max_frames = 16;  // text: frames shown per site; 0 = all
  bool sort_allocated = false;  // report --sort allocated: sites also show what they allocated
};

// Colour only on a terminal, and never when NO_COLOR is set to anything
// non-empty (https://no-color.org).
bool ShouldColor(int fd);

// The sites a renderer shows, in order; `hidden` (optional) gets how many
// were left out by --top / --min-bytes. Sites of a report that hold nothing
// (0 bytes, 0 count) are never shown (with sort_allocated: unless they
// allocated something).
std::vector<const Site*> SelectSites(const Report& report, const RenderOptions& options, size_t* hidden);

// Text for people: a header naming the dumps, a one-line summary per report
// (totals per resource; for a diff also the snapshots' times and interval),
// then the top sites with compact aligned stacks.
std::string RenderText(const Report& report, const RenderOptions& options);

// The JSON document of CONTRACT.md plus extras ("kind", "exact", "dumps",
// "summary", "total_sites"; per site "label", "stderr_bytes", "stderr_count",
// "truncated"; per frame "column", "build_id", "offset", "inlined").
// Figures are integers for exact data, unbiased estimates (doubles) otherwise.
nlohmann::ordered_json ToJson(const Report& report, const RenderOptions& options);
// ToJson, pretty-printed, with a trailing newline.
std::string RenderJson(const Report& report, const RenderOptions& options);

// The process memory (memory.h) for scripts: the parts (integers that add
// up to "rss"), "heap_stderr" unless exact, "heap_peak" (and
// "heap_peak_error"), the RSS split, the allocator and its own in-use
// count, the threads; null when the dumps carry no memory section.
nlohmann::ordered_json MemoryJson(const MemoryParts& memory, bool exact);
// For people: a short table of the parts (live, or growth when `growth`)
// and, for growth, the one-line reading (MemoryReading). Empty when unknown.
std::string MemoryText(const MemoryParts& memory, bool growth, bool exact);
// One line saying where grown RSS went when one part carries at least half
// of it (fragmentation, unexplained memory, heap, mappings, stacks); empty
// when RSS grew by less than 1 MiB or no part dominates.
std::string MemoryReading(const MemoryParts& growth);

// The line a sampled diff, check or trend prints under its header: the
// detection limit, what it means over `seconds` (as a rate; < 0: unknown),
// and the way to see smaller leaks. `what` says what the limit bounds ("heap
// growth below it at a call site"). Empty when `limit_bytes` is 0 (exact).
std::string DetectionLimitText(double limit_bytes, double seconds, double sample_interval, const std::string& what);

// The result of `leaktrace check` for people: verdict, violations and the
// offending sites (as RenderText shows sites).
std::string RenderCheckText(const CheckResult& result, const Report& diff, const RenderOptions& options);

// One site as RenderText shows it ("#rank heap +4.7 KiB ..." and its stack).
std::string RenderSiteText(const Report& report, const Site& site, size_t rank, const RenderOptions& options);

// The result of `leaktrace check` for scripts: "kind": "check", "passed",
// "violations", "rules" (every rule applied, with its limit, the growth it
// judged and its standard error), "suppressed", "summary" (growth after
// suppressions), "dumps", and "sites": the offending sites, shaped as in a
// diff. `thresholds` lists the thresholds that were given.
nlohmann::ordered_json CheckToJson(const CheckResult& result, const Report& diff, const Thresholds& thresholds,
                                   const RenderOptions& options);
std::string RenderCheckJson(const CheckResult& result, const Report& diff, const Thresholds& thresholds,
                            const RenderOptions& options);

// The result of `leaktrace check` as JUnit XML, so CI systems list each rule
// and each call site as a test: one <testsuite name="leaktrace check">; one
// <testcase classname="leaktrace.rules"> per rule applied (with <failure>
// when violated); one <testcase classname="leaktrace.sites.<resource>"> per
// site that grew, named after its innermost user frame, with <failure> when
// it is an offender (message: growth ± standard error) and <skipped> when a
// suppression matched it.
std::string RenderCheckJunit(const CheckResult& result, const Report& diff, const RenderOptions& options);

// Text made safe for XML 1.0 attribute values and character data: markup
// characters escaped, control characters and invalid UTF-8 replaced by '?'.
std::string XmlEscape(std::string_view text);

}  // namespace leaktrace::reporter
