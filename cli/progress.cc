#include "cli/progress.h"

#include <unistd.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "reporter/sizes.h"

namespace leaktrace::cli {

namespace {

constexpr std::chrono::milliseconds kDefaultDelay{500};
constexpr std::chrono::milliseconds kMinGap{100};  // at most ten lines a second

std::chrono::steady_clock::duration DelayFromEnvironment() {
  const char* text = std::getenv("LEAKTRACE_PROGRESS_DELAY");
  if (!text || !*text) return kDefaultDelay;
  char* end = nullptr;
  const double seconds = std::strtod(text, &end);
  if (*end != '\0' || !(seconds >= 0) || seconds > 1e6) return kDefaultDelay;
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
}

}  // namespace

ProgressLine::ProgressLine(std::string verb, std::string unit, size_t total)
    : verb_(std::move(verb)),
      unit_(std::move(unit)),
      total_(total),
      enabled_(isatty(STDERR_FILENO) == 1),
      start_(Clock::now()),
      delay_(enabled_ ? DelayFromEnvironment() : kDefaultDelay),
      next_(start_ + delay_) {}

ProgressLine::~ProgressLine() {
  if (width_ == 0) return;
  // Blank the line and return to its start: the next output begins clean.
  std::fprintf(stderr, "\r%*s\r", static_cast<int>(width_), "");
  std::fflush(stderr);
}

void ProgressLine::Update(size_t done) {
  if (!enabled_) return;
  const Clock::time_point now = Clock::now();
  if (now < next_) return;
  next_ = now + kMinGap;
  std::string line = verb_ + " " + reporter::FormatCount(static_cast<double>(done)) + "/" +
                     reporter::FormatCount(static_cast<double>(total_)) + " " + unit_;
  // Pad over a longer previous line (counts only grow, but be safe).
  const size_t shown = line.size();
  if (line.size() < width_) line.append(width_ - line.size(), ' ');
  width_ = std::max(width_, shown);
  std::fprintf(stderr, "\r%s", line.c_str());
  std::fflush(stderr);
}

reporter::ProgressFn ShowProgress(std::string verb, std::string unit) {
  auto line = std::make_shared<std::optional<ProgressLine>>();
  return [line, verb = std::move(verb), unit = std::move(unit)](size_t done, size_t total) {
    if (!*line) line->emplace(verb, unit, total);
    (*line)->Update(done);
    if (done >= total) line->reset();
  };
}

}  // namespace leaktrace::cli
