// A progress line for long operations of the tools, e.g.
//   symbolizing 45,000/100,000 stacks
// on stderr, rewritten in place with '\r'.
//
// Contract: nothing at all is written unless stderr is a terminal, so logs,
// pipes and scripts never see it; nothing either until the work has taken
// the delay (0.5 s by default), so quick commands stay quiet; then at most
// ten updates a second; and the line is erased when the work ends (the
// destructor), leaving the terminal as it was. Not thread-safe: one
// operation, one thread.
//
// LEAKTRACE_PROGRESS_DELAY (seconds, fractions allowed) replaces the delay,
// e.g. 0 to see progress at once; a value that is not a number >= 0 is
// ignored. It is read by each ProgressLine.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "reporter/report_from_dump.h"

namespace leaktrace::cli {

class ProgressLine {
 public:
  // `verb` and `unit` make the line: "<verb> <done>/<total> <unit>".
  ProgressLine(std::string verb, std::string unit, size_t total);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // `done` items of `total` are finished. Cheap when nothing is to be shown
  // (a comparison, then a clock read).
  void Update(size_t done);

 private:
  using Clock = std::chrono::steady_clock;

  std::string verb_, unit_;
  size_t total_;
  bool enabled_;               // stderr is a terminal
  Clock::time_point start_;
  Clock::duration delay_;
  Clock::time_point next_;     // earliest time for the next line
  size_t width_ = 0;           // length of the line on screen, 0 = none shown
};

// A reporter::ProgressFn that shows the work it hears of on a ProgressLine
// ("<verb> <done>/<total> <unit>"): a line starts with a piece of work and
// is erased when the piece reports itself done (done == total).
reporter::ProgressFn ShowProgress(std::string verb, std::string unit);

}  // namespace leaktrace::cli
