// Test helpers: dumps built in memory and a table-driven FrameSource standing
// in for the real symbolizer.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "format/dump.h"
#include "reporter/model.h"
#include "reporter/report_from_dump.h"

namespace leaktrace::reporter::testing {

inline Frame Fn(std::string function, std::string file = "", uint32_t line = 0, bool inlined = false) {
  Frame f;
  f.function = std::move(function);
  f.file = std::move(file);
  f.line = line;
  f.inlined = inlined;
  return f;
}

// Symbols by (module base name, module offset); module path and offset are
// filled in from the dump the way the real symbolizer does.
class FakeSymbols {
 public:
  void Add(const std::string& module, uint64_t offset, std::vector<Frame> frames) {
    table_[{module, offset}] = std::move(frames);
  }
  FrameSource Source() const {
    return [this](const format::Dump& dump, uint64_t pc) {
      const format::Module* m = dump.FindModule(pc);
      uint64_t offset = m ? pc - m->load_bias : pc;
      std::vector<Frame> frames;
      auto it = m ? table_.find({ModuleBasename(m->path), offset}) : table_.end();
      if (it != table_.end()) frames = it->second;
      if (frames.empty()) frames.push_back(Frame{});
      for (Frame& f : frames) {
        f.module = m ? m->path : "";
        f.build_id = m ? m->BuildIdHex() : "";
        f.module_offset = offset;
      }
      return frames;
    };
  }

 private:
  std::map<std::pair<std::string, uint64_t>, std::vector<Frame>> table_;
};

// A dump with modules at `bias` (each module gets a 1 MiB window from its bias).
class DumpBuilder {
 public:
  DumpBuilder(std::string program = "server", uint32_t pid = 100, uint32_t seq = 1) {
    dump_.path = program + "." + std::to_string(pid) + "." + std::to_string(seq) + ".dump";
    dump_.process.program = program;
    dump_.process.exe_path = "/usr/bin/" + program;
    dump_.process.pid = pid;
    dump_.process.seq = seq;
    dump_.process.snapshot_realtime_ns = 1700000000000000000 + int64_t{seq} * 60000000000;
    dump_.process.snapshot_monotonic_ns = int64_t{seq} * 60000000000;
    dump_.process.start_realtime_ns = 1700000000000000000;
  }
  DumpBuilder& Exact(bool exact = true) {
    dump_.process.flags = exact ? format::kProcessExactMode : 0;
    dump_.process.sample_interval = exact ? 1 : 512 * 1024;
    return *this;
  }
  DumpBuilder& Module(const std::string& path, uint64_t bias, std::string build_id = "\x12\x34") {
    format::Module m;
    m.path = path;
    m.build_id = std::move(build_id);
    m.load_bias = bias;
    m.segments.push_back({bias, bias + 0x100000, 0, 5});
    dump_.modules.push_back(m);
    return *this;
  }
  DumpBuilder& Stack(uint32_t id, std::vector<uint64_t> pcs) {
    format::Stack s;
    s.id = id;
    s.pcs = std::move(pcs);
    dump_.stacks.push_back(std::move(s));
    return *this;
  }
  DumpBuilder& Site(format::Resource r, uint32_t stack, double bytes, double count, double var_bytes = 0,
                    std::string label = "") {
    format::Site s;
    s.resource = r;
    s.stack_id = stack;
    s.live_bytes = bytes;
    s.live_count = count;
    s.var_live_bytes = var_bytes;
    s.var_live_count = var_bytes > 0 ? count : 0;
    s.label = std::move(label);
    dump_.sites.push_back(std::move(s));
    return *this;
  }
  format::Dump Build() {
    std::sort(dump_.stacks.begin(), dump_.stacks.end(), [](auto& a, auto& b) { return a.id < b.id; });
    return dump_;
  }

 private:
  format::Dump dump_;
};

}  // namespace leaktrace::reporter::testing
