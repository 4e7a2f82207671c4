#include "cli/output.h"

#include <cstdio>

#include <unistd.h>

#include "cli/errors.h"
#include "reporter/sizes.h"

namespace leaktrace::cli {

// Text is read by people: twenty sites per resource is a screenful.
constexpr size_t kDefaultTextTop = 20;

void AddOutputOptions(CLI::App& cmd, OutputOptions& options, bool with_format) {
  if (with_format)
    cmd.add_option("--format", options.format, "Output format: text (for people) or json (for scripts)")
        ->check(CLI::IsMember({"text", "json"}))
        ->default_str("text");
  cmd.add_option("--top", options.top,
                 with_format ? "Show at most N sites per resource (default: 20 for text, all for json; 0 = all)"
                             : "Show at most N sites per resource (default: 20; 0 = all)")
      ->type_name("N");
  cmd.add_option("--min-bytes", options.min_bytes,
                 "Leave out heap and mmap sites smaller than SIZE (suffixes k, m, g; fd sites are always shown)")
      ->type_name("SIZE");
}

double ParseSizeOption(const std::string& option, const std::string& value) {
  std::optional<uint64_t> size = reporter::ParseSize(value);
  if (!size) throw UsageError(option + ": '" + value + "' is not a size (expected e.g. 4096, 64k, 2m, 1g)");
  return static_cast<double>(*size);
}

reporter::RenderOptions ToRenderOptions(const OutputOptions& options) {
  reporter::RenderOptions r;
  bool json = options.format == "json";
  r.top = options.top ? *options.top : (json ? 0 : kDefaultTextTop);
  if (!options.min_bytes.empty()) r.min_bytes = ParseSizeOption("--min-bytes", options.min_bytes);
  r.color = !json && reporter::ShouldColor(STDOUT_FILENO);
  return r;
}

void WriteStdout(const std::string& text) {
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0)
    throw CliError(kExitUsage, "cannot write to standard output");
}

}  // namespace leaktrace::cli
