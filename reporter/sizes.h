// Byte sizes: parsing thresholds from the command line; sizes, counts and
// times printed for people.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace leaktrace::reporter {

// "4096", "4k", "2M", "1.5g", "64KiB", "10kb" -> bytes; suffixes are powers of
// 1024 and case-insensitive. nullopt for anything else: empty, negative,
// garbage after the number, or more than 2^63.
std::optional<uint64_t> ParseSize(std::string_view text);

// "812 B", "4.7 KiB", "1.2 MiB", "3.0 GiB" (negative values keep their sign).
std::string FormatBytes(double bytes);
// As FormatBytes, with an explicit "+" on growth: "+4.7 KiB", "-1.0 MiB", "0 B".
std::string FormatSignedBytes(double bytes);

// Counts for people: "1,234" (rounded to an integer; estimates are shown
// with a leading "~" by the renderers, not here).
std::string FormatCount(double count);
std::string FormatSignedCount(double count);

// A wall-clock time in the local zone: "2026-11-26 17:30:12", or "17:30:12"
// without the date; "unknown time" for 0 or less.
std::string FormatLocalTime(int64_t realtime_ns, bool with_date);

}  // namespace leaktrace::reporter
