// Byte sizes: parsing thresholds from the command line, printing for people.
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

}  // namespace leaktrace::reporter
