// The process-memory part of report, diff and trend output: the parts RSS
// splits into (memory.h), as a JSON object and as a short text table with a
// one-line reading.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "reporter/check.h"
#include "reporter/render.h"
#include "reporter/sizes.h"

namespace leaktrace::reporter {

namespace {

using json = nlohmann::ordered_json;

json Bytes(double v) { return static_cast<int64_t>(std::llround(v)); }

// A reading needs something worth explaining: RSS grew by at least this much.
constexpr double kReadingMinBytes = 1 << 20;
// A part "carries" the growth when it is at least half of it.
constexpr double kDominantShare = 0.5;
// A part the process could not measure (MemoryParts::mmap_measured).
constexpr const char* kNotMeasured = "not measured (in unexplained: the process could not read its pagemap)";

std::string Advice(const std::string& allocator) {
  if (allocator == "jemalloc") return "see MALLOC_CONF dirty_decay_ms / narenas";
  if (allocator == "tcmalloc") return "see TCMALLOC_RELEASE_RATE / ReleaseFreeMemory";
  return "see MALLOC_ARENA_MAX / malloc_trim";
}

// Beside allocator free, when the allocator holds more than can be resident
// (memory.h, allocator_held): "(it holds 9.9 MiB, the rest not resident)",
// or in a growth "(held +9.9 MiB)".
std::string HeldBeyond(const MemoryParts& m, bool growth) {
  if (m.allocator.empty() || std::abs(m.allocator_held - m.allocator_free) < 4096) return "";
  if (growth) return fmt::format("   (held {})", FormatSignedBytes(m.allocator_held));
  return fmt::format("   (it holds {}, the rest not resident)", FormatBytes(m.allocator_held));
}

// Under allocator free in a report, when much of it is what the allocator
// counts as handed out (memory.h, allocator_untracked_in_use): beyond the
// heap estimate's noise, 1 MiB, and a tenth of allocator free. With
// jemalloc preloaded, 40 MB of live `new char[1000]` read as 40 MiB of
// allocator free, as if fragmentation.
std::string UntrackedInUse(const MemoryParts& m, bool exact) {
  if (m.allocator.empty() || !m.allocator_not_asked.empty()) return "";
  const double noise = exact ? 0 : kNoiseSigmas * std::sqrt(std::max(0.0, m.heap_var));
  const double untracked = std::min(m.allocator_untracked_in_use, m.allocator_free) - noise;
  if (untracked < (1 << 20) || untracked < 0.1 * m.allocator_free) return "";
  return fmt::format("  {:<15} of it {} the allocator counts as handed out: its size classes and headers, or blocks "
                     "that reached it past leaktrace's hooks (a C++ operator new of {}'s own is not tracked)\n",
                     "", FormatBytes(untracked), m.allocator);
}

}  // namespace

nlohmann::ordered_json MemoryJson(const MemoryParts& m, bool exact) {
  if (!m.known) return nullptr;
  // Rounded part by part, the remainder last: the integers add up to rss.
  const int64_t rss = std::llround(m.rss), heap = std::llround(m.heap), free = std::llround(m.allocator_free),
                mmap = std::llround(m.mmap), stacks = std::llround(m.thread_stacks),
                own = std::llround(m.leaktrace);
  json j = {{"rss", rss},
            {"heap", heap},
            {"allocator_free", free},
            {"mmap", mmap},
            {"thread_stacks", stacks},
            {"leaktrace", own},
            {"unexplained", rss - heap - free - mmap - stacks - own}};
  if (!exact) j["heap_stderr"] = std::sqrt(std::max(0.0, m.heap_var));
  j["heap_peak"] = Bytes(m.heap_peak);
  if (m.heap_peak_error > 0) j["heap_peak_error"] = Bytes(m.heap_peak_error);
  j["rss_anon"] = Bytes(m.rss_anon);
  j["rss_file"] = Bytes(m.rss_file);
  j["rss_shmem"] = Bytes(m.rss_shmem);
  j["rss_peak"] = Bytes(m.rss_peak);
  j["allocator"] = m.allocator.empty() ? json(nullptr) : json(m.allocator);
  if (!m.allocator.empty()) j["allocator_in_use"] = Bytes(m.allocator_in_use);
  if (!m.allocator.empty()) j["allocator_held"] = Bytes(m.allocator_held);
  j["threads"] = Bytes(m.threads);
  j["threads_unlocated"] = Bytes(m.threads_unlocated);
  // Parts the process could not measure (0 above, their bytes in
  // unexplained): named, so a 0 is never read as a measurement.
  json not_measured = json::array();
  if (!m.mmap_measured) not_measured.push_back("mmap");
  if (!m.stacks_measured) not_measured.push_back("thread_stacks");
  if (!m.allocator_not_asked.empty()) not_measured.push_back("allocator_free");
  if (!not_measured.empty()) j["not_measured"] = not_measured;
  return j;
}

std::string MemoryReading(const MemoryParts& m) {
  if (!m.known || m.rss < kReadingMinBytes) return "";
  const double half = kDominantShare * m.rss;
  const std::string rss = "RSS " + FormatSignedBytes(m.rss);
  const std::string heap = "live heap " + FormatSignedBytes(m.heap);
  if (m.allocator_free >= half)
    return fmt::format("{}: {}, held free by the allocator {} (fragmentation, not a leak: {})", rss, heap,
                       FormatSignedBytes(m.allocator_free), Advice(m.allocator));
  if (m.unexplained >= half && (!m.mmap_measured || !m.stacks_measured || !m.allocator_not_asked.empty())) {
    std::vector<std::string> parts;
    if (!m.allocator_not_asked.empty()) parts.push_back("allocator's free memory");
    if (!m.mmap_measured) parts.push_back("mappings");
    if (!m.stacks_measured) parts.push_back("thread stacks");
    std::string named = parts[0];
    for (size_t i = 1; i < parts.size(); ++i) named += (i + 1 == parts.size() ? " and " : ", ") + parts[i];
    return fmt::format("{} of which {} unexplained, with the {} this process could not measure", rss,
                       FormatSignedBytes(m.unexplained), named);
  }
  if (m.unexplained >= half)
    return fmt::format("{} of which {} unexplained: memory leaktrace does not see (static allocator? raw mmap "
                       "syscalls? code and data of libraries loaded since?)",
                       rss, FormatSignedBytes(m.unexplained));
  if (m.heap >= half) return fmt::format("{}: mostly {} (the heap sites below)", rss, heap);
  if (m.mmap >= half)
    return fmt::format("{}: mostly mappings {} (the mmap sites below)", rss, FormatSignedBytes(m.mmap));
  if (m.thread_stacks >= half)
    return fmt::format("{}: mostly thread stacks {} ({} threads)", rss, FormatSignedBytes(m.thread_stacks),
                       FormatSignedCount(m.threads));
  if (m.leaktrace >= half) return fmt::format("{}: mostly leaktrace's own memory {}", rss, FormatSignedBytes(m.leaktrace));
  return "";
}

std::string MemoryText(const MemoryParts& m, bool growth, bool exact) {
  if (!m.known) return "";
  auto bytes = [&](double v) { return growth ? FormatSignedBytes(v) : FormatBytes(v); };
  std::string out = fmt::format("memory: RSS {} (anon {}, file {}, shmem {})", bytes(m.rss), bytes(m.rss_anon),
                                bytes(m.rss_file), bytes(m.rss_shmem));
  if (!growth) out += fmt::format(", peak RSS {}", FormatBytes(m.rss_peak));
  out += !m.allocator.empty()              ? fmt::format(", allocator {}\n", m.allocator)
         : !m.allocator_not_asked.empty() ? ", allocator not asked\n"
                                          : ", allocator not known\n";
  std::string heap = bytes(m.heap);
  if (!exact && m.heap_var > 0) heap += " ± " + FormatBytes(std::sqrt(m.heap_var));
  std::string peak = fmt::format("peak {}{}", growth ? "moved " + FormatSignedBytes(m.heap_peak) : FormatBytes(m.heap_peak),
                                 m.heap_peak_error > 0 ? " ± " + FormatBytes(m.heap_peak_error) : "");
  const std::pair<const char*, std::string> rows[] = {
      {"live heap", heap + "   (" + peak + ")"},
      // What the allocator holds minus the live heap: the heap estimate's error
      // is its error too (it can read below 0 when the estimate is high).
      {"allocator free", !m.allocator_not_asked.empty()
                             ? "not measured (in unexplained: " + m.allocator_not_asked + ")"
                             : bytes(m.allocator_free) + (!exact && m.heap_var > 0 && !m.allocator.empty()
                                                              ? " ± " + FormatBytes(std::sqrt(m.heap_var))
                                                              : "") + HeldBeyond(m, growth)},
      {"mappings", m.mmap_measured ? bytes(m.mmap) : std::string(kNotMeasured)},
      {"thread stacks", !m.stacks_measured ? std::string(kNotMeasured)
                        : bytes(m.thread_stacks) + (m.threads_unlocated > 0 && !growth
                                                        ? fmt::format("   ({} running threads not located)",
                                                                      FormatCount(m.threads_unlocated))
                                                        : "")},
      {"leaktrace", bytes(m.leaktrace)},
      {"unexplained", bytes(m.unexplained)},
  };
  for (const auto& [name, value] : rows) {
    out += fmt::format("  {:<15} {}\n", name, value);
    if (!growth && std::string_view(name) == "allocator free") out += UntrackedInUse(m, exact);
  }
  if (growth) {
    const std::string reading = MemoryReading(m);
    if (!reading.empty()) out += reading + "\n";
  }
  return out;
}

}  // namespace leaktrace::reporter
