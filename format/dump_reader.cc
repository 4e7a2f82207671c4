#include "format/dump_reader.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace leaktrace::format {
namespace {

// Bounds-checked little-endian cursor over one section's payload.
class Cursor {
 public:
  Cursor(const uint8_t* begin, const uint8_t* end, const std::string& name, const char* what)
      : p_(begin), end_(end), name_(name), what_(what) {}

  template <typename T>
  T Get() {
    Need(sizeof(T));
    T v;
    std::memcpy(&v, p_, sizeof v);
    p_ += sizeof v;
    return v;
  }
  double GetFinite() {
    const double v = Get<double>();
    if (!std::isfinite(v)) Fail("a figure that is not a finite number");
    return v;
  }
  std::string GetString() {
    const uint32_t size = Get<uint32_t>();
    Need(size);
    std::string s(reinterpret_cast<const char*>(p_), size);
    p_ += size;
    return s;
  }
  // Guards a record count against the bytes left, so a corrupt count cannot
  // make the reader reserve gigabytes.
  uint32_t GetCount(size_t min_record_bytes) {
    const uint32_t count = Get<uint32_t>();
    if (min_record_bytes != 0 && count > Remaining() / min_record_bytes) Fail("a record count larger than the section");
    return count;
  }
  size_t Remaining() const { return static_cast<size_t>(end_ - p_); }
  void ExpectEnd() {
    if (p_ != end_) Fail("trailing bytes");
  }
  [[noreturn]] void Fail(const std::string& problem) const {
    throw DumpError(name_ + ": corrupt dump: " + problem + " in the " + what_ + " section");
  }

 private:
  void Need(size_t n) const {
    if (Remaining() < n) Fail("a record that runs past its end");
  }
  const uint8_t* p_;
  const uint8_t* end_;
  const std::string& name_;
  const char* what_;
};

void ParseProcess(Cursor& c, ProcessInfo& p) {
  p.pid = c.Get<uint32_t>();
  p.ppid = c.Get<uint32_t>();
  p.seq = c.Get<uint32_t>();
  p.flags = c.Get<uint32_t>();
  const uint32_t trigger = c.Get<uint32_t>();
  if (trigger < 1 || trigger > 3) c.Fail("an unknown snapshot trigger");
  p.trigger = static_cast<Trigger>(trigger);
  c.Get<uint32_t>();
  p.sample_interval = c.Get<uint64_t>();
  p.snapshot_realtime_ns = c.Get<int64_t>();
  p.snapshot_monotonic_ns = c.Get<int64_t>();
  p.start_realtime_ns = c.Get<int64_t>();
  p.start_monotonic_ns = c.Get<int64_t>();
  p.program = c.GetString();
  p.exe_path = c.GetString();
  const std::string cmdline = c.GetString();
  size_t start = 0;
  while (start < cmdline.size()) {
    size_t nul = cmdline.find('\0', start);
    if (nul == std::string::npos) nul = cmdline.size();
    p.argv.push_back(cmdline.substr(start, nul - start));
    start = nul + 1;
  }
  if (p.sample_interval == 0) c.Fail("a zero sampling interval");
  c.ExpectEnd();
}

void ParseModules(Cursor& c, std::vector<Module>& modules) {
  const uint32_t count = c.GetCount(24);  // two empty strings, load bias, flags, no segments
  modules.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    Module m;
    m.path = c.GetString();
    m.build_id = c.GetString();
    m.load_bias = c.Get<uint64_t>();
    m.flags = c.Get<uint32_t>();
    const uint32_t segments = c.GetCount(32);
    for (uint32_t j = 0; j < segments; ++j) {
      Segment s;
      s.start = c.Get<uint64_t>();
      s.end = c.Get<uint64_t>();
      s.file_offset = c.Get<uint64_t>();
      s.prot = c.Get<uint32_t>();
      c.Get<uint32_t>();
      if (s.end < s.start) c.Fail("a segment that ends before it starts");
      m.segments.push_back(s);
    }
    modules.push_back(std::move(m));
  }
  c.ExpectEnd();
}

void ParseStacks(Cursor& c, std::vector<Stack>& stacks) {
  const uint32_t count = c.GetCount(8);
  stacks.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    Stack s;
    s.id = c.Get<uint32_t>();
    const uint16_t depth = c.Get<uint16_t>();
    s.flags = c.Get<uint16_t>();
    if (depth > kMaxStackDepth) c.Fail("a stack deeper than the format allows");
    s.pcs.resize(depth);
    for (uint16_t d = 0; d < depth; ++d) s.pcs[d] = c.Get<uint64_t>();
    stacks.push_back(std::move(s));
  }
  c.ExpectEnd();
  std::sort(stacks.begin(), stacks.end(), [](const Stack& a, const Stack& b) { return a.id < b.id; });
  for (size_t i = 1; i < stacks.size(); ++i)
    if (stacks[i].id == stacks[i - 1].id) c.Fail("two stacks with one id");
}

void ParseSites(Cursor& c, std::vector<Site>& sites) {
  const uint32_t count = c.GetCount(68);
  sites.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    Site s;
    const uint8_t resource = c.Get<uint8_t>();
    if (resource > static_cast<uint8_t>(Resource::kThread)) c.Fail("an unknown resource kind");
    s.resource = static_cast<Resource>(resource);
    c.Get<uint8_t>();
    c.Get<uint16_t>();
    s.stack_id = c.Get<uint32_t>();
    s.live_count = c.GetFinite();
    s.live_bytes = c.GetFinite();
    s.alloc_count = c.GetFinite();
    s.alloc_bytes = c.GetFinite();
    s.var_live_count = c.GetFinite();
    s.var_live_bytes = c.GetFinite();
    s.live_samples = c.Get<uint64_t>();
    s.label = c.GetString();
    sites.push_back(std::move(s));
  }
  c.ExpectEnd();
}

void ParseHealth(Cursor& c, std::vector<std::pair<std::string, uint64_t>>& health) {
  const uint32_t count = c.GetCount(12);
  for (uint32_t i = 0; i < count; ++i) {
    std::string name = c.GetString();
    health.emplace_back(std::move(name), c.Get<uint64_t>());
  }
  c.ExpectEnd();
}

void ParseAges(Cursor& c, std::vector<Age>& ages) {
  const uint32_t count = c.GetCount(32);
  ages.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    Age a;
    a.site = c.Get<uint32_t>();
    if (c.Get<uint32_t>() != 0) c.Fail("reserved bits set");
    a.birth_monotonic_ns = c.Get<int64_t>();
    a.weight = c.GetFinite();
    if (!(a.weight > 0)) c.Fail("an object weight that is not positive");
    a.size = c.Get<uint64_t>();
    ages.push_back(a);
  }
  c.ExpectEnd();
}

const char* SectionName(uint32_t type) {
  switch (static_cast<SectionType>(type)) {
    case SectionType::kProcess: return "process";
    case SectionType::kModules: return "modules";
    case SectionType::kStacks: return "stacks";
    case SectionType::kSites: return "sites";
    case SectionType::kHealth: return "health";
    case SectionType::kAges: return "ages";
    case SectionType::kMemory: return "memory";
    case SectionType::kEnd: return "end";
  }
  return "unknown";
}

}  // namespace

Dump ParseDump(const std::vector<uint8_t>& bytes, const std::string& name) {
  auto fail = [&](const std::string& problem) -> DumpError { return DumpError(name + ": " + problem); };
  if (bytes.empty()) throw fail("empty file, not a leaktrace dump");
  if (bytes.size() < kFileHeaderBytes || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    throw fail("not a leaktrace dump (bad magic)");
  Dump dump;
  dump.path = name;
  std::memcpy(&dump.version, bytes.data() + 8, 4);
  if (dump.version > kVersion)
    throw fail("dump format version " + std::to_string(dump.version) + " is newer than this leaktrace reads (" +
               std::to_string(kVersion) + "); upgrade leaktrace");
  if (dump.version != kVersion) throw fail("unsupported dump format version " + std::to_string(dump.version));
  uint32_t header_size = 0;
  std::memcpy(&header_size, bytes.data() + 12, 4);
  if (header_size != kFileHeaderBytes)
    throw fail("corrupt dump: file header size " + std::to_string(header_size) + " (version " +
               std::to_string(kVersion) + " has " + std::to_string(kFileHeaderBytes) + ")");

  size_t offset = kFileHeaderBytes;
  bool seen[8] = {};
  bool ended = false;
  while (!ended) {
    if (bytes.size() - offset < kSectionHeaderBytes) throw fail("truncated dump (no end marker)");
    uint32_t type, flags;
    uint64_t length;
    std::memcpy(&type, bytes.data() + offset, 4);
    std::memcpy(&flags, bytes.data() + offset + 4, 4);
    if (flags != 0) throw fail(std::string("corrupt dump: reserved flags set on the ") + SectionName(type) + " section");
    std::memcpy(&length, bytes.data() + offset + 8, 8);
    const size_t payload = offset + kSectionHeaderBytes;
    if (length > bytes.size() - payload) throw fail(std::string("truncated dump (") + SectionName(type) + " section cut short)");
    Cursor c(bytes.data() + payload, bytes.data() + payload + length, name, SectionName(type));
    if (type == static_cast<uint32_t>(SectionType::kEnd)) {
      const uint64_t expected = c.Get<uint64_t>();
      if (XXH3_64bits(bytes.data(), offset) != expected) throw fail("corrupt dump: checksum mismatch");
      if (payload + length != bytes.size()) throw fail("corrupt dump: bytes after the end marker");
      ended = true;
      break;
    }
    if (type >= 1 && type <= 7) {
      if (seen[type]) c.Fail("a repeated section");
      seen[type] = true;
    }
    switch (static_cast<SectionType>(type)) {
      case SectionType::kProcess: ParseProcess(c, dump.process); break;
      case SectionType::kModules: ParseModules(c, dump.modules); break;
      case SectionType::kStacks: ParseStacks(c, dump.stacks); break;
      case SectionType::kSites: ParseSites(c, dump.sites); break;
      case SectionType::kHealth: ParseHealth(c, dump.health); break;
      case SectionType::kAges:
        ParseAges(c, dump.ages);
        dump.has_ages = true;
        break;
      case SectionType::kMemory:
        ParseHealth(c, dump.memory);  // the same encoding: named u64 figures
        dump.has_memory = true;
        break;
      default: break;  // unknown sections of this version are skipped
    }
    offset = payload + length;
  }
  if (!seen[static_cast<int>(SectionType::kProcess)]) throw fail("corrupt dump: no process section");
  for (const Site& s : dump.sites)
    if (dump.FindStack(s.stack_id) == nullptr)
      throw fail("corrupt dump: a site refers to stack " + std::to_string(s.stack_id) + ", which is missing");
  for (const Age& a : dump.ages)
    if (a.site >= dump.sites.size())
      throw fail("corrupt dump: an age record refers to site " + std::to_string(a.site) + ", which is missing");
  return dump;
}

Dump ReadDump(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw DumpError(path + ": is a directory, not a dump");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DumpError(path + ": cannot open: " + std::strerror(errno));
  // The magic first: a file that is no dump (a log, a core file, /dev/zero
  // by a typo) is refused before it is read whole (gigabytes of memory, or
  // for ever). ParseDump says why.
  std::vector<uint8_t> bytes(sizeof kMagic);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<size_t>(in.gcount()));
  if (bytes.size() == sizeof kMagic && std::memcmp(bytes.data(), kMagic, sizeof kMagic) == 0)
    bytes.insert(bytes.end(), std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) throw DumpError(path + ": read error: " + std::strerror(errno));
  return ParseDump(bytes, path);
}

}  // namespace leaktrace::format
