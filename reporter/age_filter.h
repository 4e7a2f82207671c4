// --older-than: reports restricted to the objects that have been live for
// at least a given time at their snapshot, from the dump's ages section
// (docs/dump-format.md), the way long-running leak detectors report "not
// freed after N seconds".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "format/dump.h"

namespace leaktrace::reporter {

// "90", "90s", "1.5m", "10m", "2h", "1d" -> seconds (a bare number is
// seconds). nullopt for anything else: empty, negative, not finite, garbage
// after the number.
std::optional<double> ParseDuration(std::string_view text);

// "87 us", "115 ms", "45 s", "12.5 min", "3.0 h", "2.0 d" for people.
std::string FormatDuration(double seconds);

// The dump with each site's live figures recomputed from the age records
// whose age at the snapshot (snapshot_monotonic_ns - birth) is at least
// `seconds`: count = sum of weights, bytes = sum of weight * size, variances
// sum w(w-1) and w(w-1)size^2 (0 for exact records). Sites with no such
// object are dropped, and only the kept records stay in `ages`.
//
// Exact-mode heap ages are a weighted sample (age_sample_interval in the
// health section), so with `seconds` > 0 an exact dump's heap figures become
// estimates: the result is marked sampled at that interval. `seconds` <= 0
// keeps everything (every object is at least 0 s old): the dump unchanged.
//
// Throws format::DumpError (one line naming the file) when the dump has no
// ages section, i.e. was written by a library that did not record ages.
format::Dump KeepOlderThan(const format::Dump& dump, double seconds);

// Age in seconds of the oldest object of each site with a recorded birth,
// indexed like dump.sites; -1 where none is recorded.
std::vector<double> OldestAges(const format::Dump& dump);

}  // namespace leaktrace::reporter
