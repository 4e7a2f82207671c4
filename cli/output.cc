#include "cli/output.h"

#include <cstdio>
#include <cstdlib>

#include <unistd.h>

#include "cli/errors.h"
#include "reporter/age_filter.h"
#include "reporter/sizes.h"

namespace leaktrace::cli {

// Text is read by people: twenty sites per resource is a screenful.
constexpr size_t kDefaultTextTop = 20;

void AddOutputOptions(CLI::App& cmd, OutputOptions& options, const std::vector<std::string>& formats) {
  if (!formats.empty()) {
    std::string help = "Output format: text (for people)";
    for (const std::string& f : formats) {
      if (f == "json") help += ", json (for scripts)";
      if (f == "junit") help += ", junit (JUnit XML for CI test reports)";
    }
    options.format = formats.front();
    cmd.add_option("--format", options.format, help)->check(CLI::IsMember(formats))->default_str(formats.front());
  }
  cmd.add_option("--top", options.top,
                 formats.size() > 1
                     ? "Show at most N sites per resource (default: 20 for text, all otherwise; 0 = all)"
                     : "Show at most N sites per resource (default: 20; 0 = all)")
      ->type_name("N");
  cmd.add_option("--min-bytes", options.min_bytes,
                 "Leave out heap and mmap sites smaller than SIZE (suffixes k, m, g; fd sites are always shown)")
      ->type_name("SIZE");
  cmd.add_option("--group-by", options.group_by,
                 "What makes a call site: 'stack' (default), each distinct stack; 'function', the function of the "
                 "innermost user frame (the first frame outside libc, libstdc++, the allocator and inlined system "
                 "headers), whatever called it")
      ->check(CLI::IsMember({"stack", "function"}))
      ->default_str("stack");
  cmd.add_option("--depth", options.depth,
                 "Fold stacks on fewer frames: with --group-by stack, the innermost N frames; with --group-by "
                 "function, the user frame's function and N-1 callers")
      ->type_name("N");
}

void AddStackOptions(CLI::App& cmd, reporter::StackOptions& options) {
  cmd.add_option("--alloc-fn", options.alloc_fns,
                 "Strip frames of this allocator wrapper from the top of every stack (glob with '*'; repeatable), "
                 "beside the built-in list: zmalloc*, zcalloc*, zrealloc*, xmalloc, xcalloc, xrealloc, g_malloc*, "
                 "PyMem_*, PyObject_Malloc, operator new*, je_* and a few more")
      ->type_name("PATTERN")
      ->allow_extra_args(false);  // one pattern per --alloc-fn: never swallow the dumps after it
  cmd.add_flag("--full-stacks", options.full_stacks,
               "Keep the C start-up frames (_start, __libc_start_*, start_thread, clone) at the bottom of stacks");
}

void AddOlderThanOption(CLI::App& cmd, std::string& value, const char* help) {
  cmd.add_option("--older-than", value, help)->type_name("DURATION");
}

std::optional<double> ParseOlderThan(const std::string& value) {
  if (value.empty()) return std::nullopt;
  std::optional<double> seconds = reporter::ParseDuration(value);
  if (!seconds)
    throw UsageError("--older-than: '" + value + "' is not a duration (expected e.g. 90, 90s, 10m, 2h, 1d)");
  return seconds;
}

double ParseSizeOption(const std::string& option, const std::string& value) {
  std::optional<uint64_t> size = reporter::ParseSize(value);
  if (!size) throw UsageError(option + ": '" + value + "' is not a size (expected e.g. 4096, 64k, 2m, 1g)");
  return static_cast<double>(*size);
}

bool ShouldColor(int fd) {
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color && *no_color) return false;
  return isatty(fd) == 1;
}

reporter::RenderOptions ToRenderOptions(const OutputOptions& options) {
  reporter::RenderOptions r;
  bool json = options.format != "text";
  if (options.top.empty()) {
    r.top = json ? 0 : kDefaultTextTop;
  } else {
    const std::string& t = options.top;
    if (t.size() > 9 || t.find_first_not_of("0123456789") != std::string::npos)
      throw UsageError("--top: '" + t + "' is not a number of sites (0 or more; 0 = all)");
    r.top = std::stoul(t);
  }
  if (!options.min_bytes.empty()) r.min_bytes = ParseSizeOption("--min-bytes", options.min_bytes);
  r.color = options.format == "text" && ShouldColor(STDOUT_FILENO);
  return r;
}

reporter::Grouping ToGrouping(const OutputOptions& options) {
  reporter::Grouping g;
  g.by = options.group_by == "function" ? reporter::GroupBy::kFunction : reporter::GroupBy::kStack;
  if (!options.depth.empty()) {
    const std::string& d = options.depth;
    if (d.size() > 9 || d.find_first_not_of("0123456789") != std::string::npos)
      throw UsageError("--depth: '" + d + "' is not a number of frames (1 or more)");
    if (std::stoul(d) == 0) throw UsageError("--depth: must be at least 1");
    g.depth = std::stoul(d);
  }
  return g;
}

void WriteStdout(const std::string& text) {
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0)
    throw CliError(kExitUsage, "cannot write to standard output");
}

}  // namespace leaktrace::cli
