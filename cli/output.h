// Output options shared by report, diff and check: --format, --top, --min-bytes.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "reporter/model.h"
#include "reporter/render.h"

namespace leaktrace::cli {

struct OutputOptions {
  std::string format = "text";
  std::optional<size_t> top;
  std::string min_bytes;
};

// Adds the options to `cmd`; `with_format` false for commands that only print text.
void AddOutputOptions(CLI::App& cmd, OutputOptions& options, bool with_format);

// RenderOptions for stdout: --top defaults to 20 for text and to all for
// JSON; colour per reporter::ShouldColor. UsageError on a bad --min-bytes.
reporter::RenderOptions ToRenderOptions(const OutputOptions& options);

// Parses a size option value ("4k", "2m", "1g"); UsageError naming `option`.
double ParseSizeOption(const std::string& option, const std::string& value);

void WriteStdout(const std::string& text);

}  // namespace leaktrace::cli
