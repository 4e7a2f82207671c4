// Output options shared by report, diff and check: --format, --top,
// --min-bytes, --group-by, --depth.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "reporter/group.h"
#include "reporter/model.h"
#include "reporter/render.h"
#include "reporter/report_from_dump.h"

namespace leaktrace::cli {

struct OutputOptions {
  std::string format = "text";
  std::string top;  // parsed by ToRenderOptions (CLI11 would take -1 and wrap it)
  std::string min_bytes;
  std::string group_by = "stack";
  std::string depth;  // parsed by ToGrouping
};

// Adds the options to `cmd`; `formats` are the --format values the command
// accepts (the first is the default; none: no --format option).
void AddOutputOptions(CLI::App& cmd, OutputOptions& options, const std::vector<std::string>& formats);

// Colour only on a terminal, and never when NO_COLOR is set to anything
// non-empty (https://no-color.org).
bool ShouldColor(int fd);

// RenderOptions for stdout: --top defaults to 20 for text and to all for
// JSON and JUnit; colour per ShouldColor, text only. UsageError on a bad
// --min-bytes.
reporter::RenderOptions ToRenderOptions(const OutputOptions& options);

// --group-by / --depth; UsageError on --depth 0.
reporter::Grouping ToGrouping(const OutputOptions& options);

// --alloc-fn PATTERN (repeatable) and --full-stacks (report, diff, check,
// trend, export): what reporter::CleanStack strips.
void AddStackOptions(CLI::App& cmd, reporter::StackOptions& options);

// --older-than DURATION (report, diff, check): only objects live for at
// least DURATION at their snapshot count (reporter/age_filter.h).
void AddOlderThanOption(CLI::App& cmd, std::string& value, const char* help);
// Its value in seconds; nullopt when not given; UsageError when malformed.
std::optional<double> ParseOlderThan(const std::string& value);

// Parses a size option value ("4k", "2m", "1g"); UsageError naming `option`.
double ParseSizeOption(const std::string& option, const std::string& value);

void WriteStdout(const std::string& text);

}  // namespace leaktrace::cli
