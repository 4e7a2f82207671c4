// The in-memory form of one dump file, as the tools see it after reading.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "format/dump_layout.h"

namespace leaktrace::format {

struct ProcessInfo {
  uint32_t pid = 0;
  uint32_t ppid = 0;
  uint32_t seq = 0;
  uint32_t flags = 0;
  Trigger trigger = Trigger::kSignal;
  uint64_t sample_interval = 0;
  int64_t snapshot_realtime_ns = 0;
  int64_t snapshot_monotonic_ns = 0;
  int64_t start_realtime_ns = 0;
  int64_t start_monotonic_ns = 0;
  std::string program;
  std::string exe_path;
  std::vector<std::string> argv;

  bool exact() const { return (flags & kProcessExactMode) != 0; }
  bool attached() const { return (flags & kProcessAttached) != 0; }
};

struct Segment {
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t file_offset = 0;
  uint32_t prot = 0;
};

struct Module {
  std::string path;
  std::string build_id;  // raw bytes; empty when the module has none
  uint64_t load_bias = 0;
  uint32_t flags = 0;
  std::vector<Segment> segments;

  bool Contains(uint64_t address) const {
    for (const Segment& s : segments)
      if (address >= s.start && address < s.end) return true;
    return false;
  }
  std::string BuildIdHex() const;
};

struct Stack {
  uint32_t id = 0;
  uint16_t flags = 0;
  std::vector<uint64_t> pcs;  // return addresses, innermost first

  bool truncated() const { return (flags & kStackTruncated) != 0; }
  bool folded() const { return (flags & kStackFolded) != 0; }
};

struct Site {
  Resource resource = Resource::kHeap;
  uint32_t stack_id = 0;
  double live_count = 0;
  double live_bytes = 0;
  double alloc_count = 0;
  double alloc_bytes = 0;
  double var_live_count = 0;
  double var_live_bytes = 0;
  uint64_t live_samples = 0;
  std::string label;
};

// When one live object was created. `site` indexes Dump::sites; the object
// stands for `weight` objects of `size` bytes each (1 for exact records).
struct Age {
  uint32_t site = 0;
  int64_t birth_monotonic_ns = 0;  // same clock as ProcessInfo::snapshot_monotonic_ns
  double weight = 1;
  uint64_t size = 0;
};

struct Dump {
  std::string path;  // where it was read from
  uint32_t version = 0;
  ProcessInfo process;
  std::vector<Module> modules;
  std::vector<Stack> stacks;  // sorted by id
  std::vector<Site> sites;
  std::vector<std::pair<std::string, uint64_t>> health;
  std::vector<Age> ages;
  bool has_ages = false;  // the ages section was present (written by a library that records ages)
  // The memory section's named figures (docs/dump-format.md, memory), in
  // file order; empty with has_memory false for a dump without one.
  std::vector<std::pair<std::string, uint64_t>> memory;
  bool has_memory = false;

  // The memory figure `name`, or `otherwise` when the dump has none.
  uint64_t MemoryFigure(const std::string& name, uint64_t otherwise = 0) const;
  bool HasMemoryFigure(const std::string& name) const;

  // The stack with this id, or nullptr.
  const Stack* FindStack(uint32_t id) const;
  // This dump's path, version, process, modules, stacks and health, with no
  // site, age or memory figure: the frame a tool fills with sites of its own
  // making (a filtered or relabelled copy of these).
  Dump WithoutSites() const;
  // The module whose segments contain `address`, or nullptr.
  const Module* FindModule(uint64_t address) const;
};

const char* ResourceName(Resource r);

}  // namespace leaktrace::format
