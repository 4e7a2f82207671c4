#include "tests/support/dump_builder.h"

#include <algorithm>
#include <fstream>
#include <utility>

#include "format/dump_reader.h"

namespace leaktrace::test_support {
namespace {

using namespace format;

constexpr int64_t kStartRealtimeNs = 1700000000000000000;
constexpr int64_t kMinuteNs = 60000000000;
constexpr uint64_t kDefaultInterval = 512 * 1024;
constexpr uint64_t kModuleSpan = 0x100000;

ProcessRecord ProcessRecordOf(const ProcessInfo& p, const std::string& cmdline) {
  ProcessRecord r;
  r.pid = p.pid;
  r.ppid = p.ppid;
  r.seq = p.seq;
  r.flags = p.flags;
  r.trigger = p.trigger;
  r.sample_interval = p.sample_interval;
  r.snapshot_realtime_ns = p.snapshot_realtime_ns;
  r.snapshot_monotonic_ns = p.snapshot_monotonic_ns;
  r.start_realtime_ns = p.start_realtime_ns;
  r.start_monotonic_ns = p.start_monotonic_ns;
  r.program = p.program.c_str();
  r.exe_path = p.exe_path.c_str();
  r.cmdline = cmdline.data();
  r.cmdline_size = cmdline.size();
  return r;
}

void WriteModule(DumpWriter& w, const Module& m) {
  std::vector<SegmentRecord> segments;
  for (const Segment& s : m.segments) segments.push_back(SegmentRecord{s.start, s.end, s.file_offset, s.prot});
  ModuleRecord r;
  r.path = m.path.c_str();
  r.build_id = reinterpret_cast<const uint8_t*>(m.build_id.data());
  r.build_id_size = static_cast<uint32_t>(m.build_id.size());
  r.load_bias = m.load_bias;
  r.flags = m.flags;
  r.segments = segments.data();
  r.segment_count = static_cast<uint32_t>(segments.size());
  w.WriteModule(r);
}

SiteRecord SiteRecordOf(const Site& s) {
  SiteRecord r;
  r.resource = s.resource;
  r.stack_id = s.stack_id;
  r.live_count = s.live_count;
  r.live_bytes = s.live_bytes;
  r.alloc_count = s.alloc_count;
  r.alloc_bytes = s.alloc_bytes;
  r.var_live_count = s.var_live_count;
  r.var_live_bytes = s.var_live_bytes;
  r.live_samples = s.live_samples;
  r.label = s.label.c_str();
  return r;
}

}  // namespace

DumpBuilder::DumpBuilder(std::string program, uint32_t pid, uint32_t seq) {
  ProcessInfo& p = dump_.process;
  p.pid = pid;
  p.ppid = 1;
  p.seq = seq;
  p.sample_interval = kDefaultInterval;
  p.snapshot_realtime_ns = kStartRealtimeNs + int64_t{seq} * kMinuteNs;
  p.snapshot_monotonic_ns = int64_t{seq} * kMinuteNs;
  p.start_realtime_ns = kStartRealtimeNs;
  p.exe_path = "/usr/bin/" + program;
  p.program = std::move(program);
  dump_.path = p.program + "." + std::to_string(pid) + "." + std::to_string(seq) + ".dump";
}

DumpBuilder& DumpBuilder::Path(std::string path) {
  dump_.path = std::move(path);
  return *this;
}

DumpBuilder& DumpBuilder::Exact(bool exact) {
  dump_.process.flags = exact ? (dump_.process.flags | kProcessExactMode) : (dump_.process.flags & ~kProcessExactMode);
  dump_.process.sample_interval = exact ? 1 : kDefaultInterval;
  return *this;
}

DumpBuilder& DumpBuilder::SampleInterval(uint64_t bytes) {
  dump_.process.sample_interval = bytes;
  return *this;
}

DumpBuilder& DumpBuilder::Attached() {
  dump_.process.flags |= kProcessAttached;
  return *this;
}

DumpBuilder& DumpBuilder::Trigger(format::Trigger trigger) {
  dump_.process.trigger = trigger;
  return *this;
}

DumpBuilder& DumpBuilder::Ppid(uint32_t ppid) {
  dump_.process.ppid = ppid;
  return *this;
}

DumpBuilder& DumpBuilder::ExePath(std::string path) {
  dump_.process.exe_path = std::move(path);
  return *this;
}

DumpBuilder& DumpBuilder::Argv(std::vector<std::string> argv) {
  dump_.process.argv = std::move(argv);
  return *this;
}

DumpBuilder& DumpBuilder::SnapshotTime(int64_t realtime_ns, int64_t monotonic_ns) {
  dump_.process.snapshot_realtime_ns = realtime_ns;
  dump_.process.snapshot_monotonic_ns = monotonic_ns;
  return *this;
}

DumpBuilder& DumpBuilder::StartTime(int64_t realtime_ns, int64_t monotonic_ns) {
  dump_.process.start_realtime_ns = realtime_ns;
  dump_.process.start_monotonic_ns = monotonic_ns;
  return *this;
}

DumpBuilder& DumpBuilder::Module(const std::string& path, uint64_t bias, std::string build_id, uint32_t flags) {
  format::Module m;
  m.path = path;
  m.build_id = std::move(build_id);
  m.load_bias = bias;
  m.flags = flags;
  m.segments.push_back({bias, bias + kModuleSpan, 0, 5});
  return Module(std::move(m));
}

DumpBuilder& DumpBuilder::MainProgram(const std::string& path, uint64_t bias, std::string build_id) {
  dump_.process.exe_path = path;
  return Module(path, bias, std::move(build_id), kModuleMainProgram);
}

DumpBuilder& DumpBuilder::Module(format::Module module) {
  dump_.modules.push_back(std::move(module));
  return *this;
}

DumpBuilder& DumpBuilder::Stack(uint32_t id, std::vector<uint64_t> pcs, uint16_t flags) {
  dump_.stacks.push_back(format::Stack{id, flags, std::move(pcs)});
  next_stack_id_ = std::max(next_stack_id_, id + 1);
  return *this;
}

DumpBuilder& DumpBuilder::Site(Resource resource, uint32_t stack, double bytes, double count, double var_bytes,
                               std::string label) {
  format::Site s;
  s.resource = resource;
  s.stack_id = stack;
  s.live_bytes = bytes;
  s.live_count = count;
  s.var_live_bytes = var_bytes;
  s.var_live_count = var_bytes > 0 ? count : 0;
  s.label = std::move(label);
  return Site(std::move(s));
}

DumpBuilder& DumpBuilder::SiteAt(Resource resource, uint64_t offset, double bytes, double count, double var_bytes,
                                 std::string label) {
  const uint32_t id = next_stack_id_;
  const uint64_t bias = dump_.modules.empty() ? 0 : dump_.modules.front().load_bias;
  Stack(id, {bias + offset});
  format::Site s;
  s.resource = resource;
  s.stack_id = id;
  s.live_bytes = s.alloc_bytes = bytes;
  s.live_count = s.alloc_count = count;
  s.var_live_bytes = var_bytes;
  s.label = std::move(label);
  return Site(std::move(s));
}

DumpBuilder& DumpBuilder::Site(format::Site site) {
  dump_.sites.push_back(std::move(site));
  return *this;
}

DumpBuilder& DumpBuilder::Health(std::string name, uint64_t value) {
  dump_.health.emplace_back(std::move(name), value);
  return *this;
}

DumpBuilder& DumpBuilder::Ages() {
  dump_.has_ages = true;
  return *this;
}

DumpBuilder& DumpBuilder::Age(uint32_t site, int64_t birth_monotonic_ns, double weight, uint64_t size) {
  dump_.ages.push_back(format::Age{site, birth_monotonic_ns, weight, size});
  return Ages();
}

DumpBuilder& DumpBuilder::Memory() {
  dump_.has_memory = true;
  return *this;
}

DumpBuilder& DumpBuilder::Memory(std::string name, uint64_t value) {
  dump_.memory.emplace_back(std::move(name), value);
  return Memory();
}

DumpBuilder& DumpBuilder::Then(std::function<void(DumpWriter&, DumpBuffer&)> write) {
  then_.push_back(std::move(write));
  return *this;
}

DumpBuilder& DumpBuilder::RawSection(uint32_t type, std::vector<uint8_t> payload) {
  return Then([type, payload = std::move(payload)](DumpWriter& w, DumpBuffer& buffer) {
    w.EndSection();  // the section header below is written by hand
    const uint32_t flags = 0;
    const uint64_t length = payload.size();
    buffer.Append(&type, sizeof type);
    buffer.Append(&flags, sizeof flags);
    buffer.Append(&length, sizeof length);
    buffer.Append(payload.data(), payload.size());
  });
}

std::vector<uint8_t> DumpBuilder::Bytes() const {
  DumpBuffer buffer;
  DumpWriter w(buffer);
  std::string cmdline;
  for (const std::string& arg : dump_.process.argv) {
    if (!cmdline.empty()) cmdline.push_back('\0');
    cmdline += arg;
  }
  w.WriteProcess(ProcessRecordOf(dump_.process, cmdline));

  w.BeginSection(SectionType::kModules);
  for (const format::Module& m : dump_.modules) WriteModule(w, m);
  w.EndSection();

  w.BeginSection(SectionType::kStacks);
  for (const format::Stack& s : dump_.stacks)
    w.WriteStack(StackRecord{s.id, s.flags, s.pcs.data(), static_cast<uint32_t>(s.pcs.size())});
  w.EndSection();

  w.BeginSection(SectionType::kSites);
  for (const format::Site& s : dump_.sites) w.WriteSite(SiteRecordOf(s));
  w.EndSection();

  if (dump_.has_ages) {
    w.BeginSection(SectionType::kAges);
    for (const format::Age& a : dump_.ages) w.WriteAge(AgeRecord{a.site, a.birth_monotonic_ns, a.weight, a.size});
    w.EndSection();
  }
  if (!dump_.health.empty()) {
    w.BeginSection(SectionType::kHealth);
    for (const auto& [name, value] : dump_.health) w.WriteHealth(name.c_str(), value);
    w.EndSection();
  }
  if (dump_.has_memory) {
    w.BeginSection(SectionType::kMemory);
    for (const auto& [name, value] : dump_.memory) w.WriteMemoryFigure(name.c_str(), value);
    w.EndSection();
  }
  for (const auto& write : then_) write(w, buffer);
  if (!w.Finish()) return {};  // out of memory: no half dump
  return std::vector<uint8_t>(buffer.data(), buffer.data() + buffer.size());
}

bool DumpBuilder::WriteFile(const std::string& path) const {
  const std::vector<uint8_t> bytes = Bytes();
  if (bytes.empty()) return false;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

format::Dump DumpBuilder::Build() const { return ParseDump(Bytes(), dump_.path); }

format::Dump DumpBuilder::InMemory() const {
  format::Dump d = dump_;
  d.version = kVersion;
  std::sort(d.stacks.begin(), d.stacks.end(), [](const format::Stack& a, const format::Stack& b) { return a.id < b.id; });
  return d;
}

}  // namespace leaktrace::test_support
