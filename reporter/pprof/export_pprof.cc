#include "reporter/pprof/export_pprof.h"

#include <algorithm>
#include <map>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

#include "reporter/pprof/gzip.h"
#include "reporter/pprof/profile_builder.h"

namespace leaktrace::reporter::pprof {

namespace {

struct SampleType {
  const char* type;
  const char* unit;
  double (*value)(const format::Site&);
};

// Per resource, in the order described in export_pprof.h; the last one is
// the default.
std::vector<SampleType> SampleTypes(Resource resource) {
  switch (resource) {
    case Resource::kHeap:
      return {{"alloc_objects", "count", [](const format::Site& s) { return s.alloc_count; }},
              {"alloc_space", "bytes", [](const format::Site& s) { return s.alloc_bytes; }},
              {"inuse_objects", "count", [](const format::Site& s) { return s.live_count; }},
              {"inuse_space", "bytes", [](const format::Site& s) { return s.live_bytes; }}};
    case Resource::kMmap:
      return {{"inuse_mappings", "count", [](const format::Site& s) { return s.live_count; }},
              {"inuse_mapped_space", "bytes", [](const format::Site& s) { return s.live_bytes; }}};
    case Resource::kThread:
      return {{"inuse_thread_stack_space", "bytes", [](const format::Site& s) { return s.live_bytes; }},
              {"inuse_threads", "count", [](const format::Site& s) { return s.live_count; }}};
    case Resource::kFd:
      break;
  }
  return {{"inuse_fds", "count", [](const format::Site& s) { return s.live_count; }}};
}

const char* LabelKey(Resource resource) {
  switch (resource) {
    case Resource::kFd:
      return "fd";
    case Resource::kMmap:
      return "mmap";
    case Resource::kThread:
      return "thread";
    case Resource::kHeap:
      break;
  }
  return "label";
}

// What the symbolizer told about a mapping's locations, for its has_* flags.
struct Resolution {
  bool functions = false;
  bool filenames = false;
  bool line_numbers = false;
};

// Turns the dumps' modules and return addresses into mappings and locations.
class Stacks {
 public:
  Stacks(ProfileBuilder& builder, const FrameSource& source) : builder_(builder), source_(source) {}

  // Registers `dump`'s modules (call before Locations for that dump);
  // `dump` must outlive this object.
  void AddDump(const format::Dump& dump) {
    DumpModules& mine = dumps_[&dump];
    mine.scope = dumps_.size();
    std::vector<const format::Module*> modules;
    for (const format::Module& m : dump.modules)
      if (!m.segments.empty()) modules.push_back(&m);
    // The main executable first: pprof readers take mapping 1 as the program.
    std::stable_partition(modules.begin(), modules.end(), [&](const format::Module* m) {
      return m->path.empty() || m->path == dump.process.exe_path;
    });
    for (const format::Module* m : modules) {
      const std::string path = m->path.empty() ? dump.process.exe_path : m->path;
      const std::string build_id = m->BuildIdHex();
      const std::string identity = build_id.empty() ? "path:" + path : "build-id:" + build_id;
      auto it = mappings_.find(identity);
      if (it == mappings_.end()) {
        auto lowest = std::min_element(m->segments.begin(), m->segments.end(),
                                       [](const format::Segment& a, const format::Segment& b) { return a.start < b.start; });
        uint64_t limit = 0;
        for (const format::Segment& s : m->segments) limit = std::max(limit, s.end);
        const uint64_t id = builder_.AddMapping(lowest->start, limit, lowest->file_offset, path, build_id);
        it = mappings_.emplace(identity, std::make_pair(id, m->load_bias)).first;
      }
      // Unsigned wrap-around makes this right whichever bias is larger.
      mine.modules.push_back({m, it->second.first, it->second.second - m->load_bias});
    }
  }

  // The location ids of one recorded stack, innermost first, leaving out
  // addresses whose frames are all leaktrace's own.
  std::vector<uint64_t> Locations(const format::Dump& dump, const format::Stack& stack) {
    DumpModules& mine = dumps_.at(&dump);
    std::vector<uint64_t> ids;
    for (uint64_t pc : stack.pcs) {
      auto cached = mine.by_pc.find(pc);
      if (cached == mine.by_pc.end()) cached = mine.by_pc.emplace(pc, MakeLocation(dump, mine, pc)).first;
      if (cached->second != 0) ids.push_back(cached->second);
    }
    return ids;
  }

  // A location standing for "no stack was recorded".
  uint64_t NoStack() { return builder_.Location(0, 0, 0, {LineInfo{"[no stack]", "", 0, 0}}); }

  // Sets every mapping's has_* flags from what its locations carry.
  void FinishMappings() {
    for (const auto& [id, r] : resolution_) {
      perftools::profiles::Mapping& m = builder_.MappingById(id);
      m.set_has_functions(r.functions);
      m.set_has_filenames(r.filenames);
      m.set_has_line_numbers(r.line_numbers);
      // The symbolizer expands inline frames wherever it has DWARF, which is
      // where it has file names.
      m.set_has_inline_frames(r.filenames);
    }
  }

 private:
  struct ModuleInMapping {
    const format::Module* module;
    uint64_t mapping_id;
    uint64_t delta;  // added to this dump's addresses to get the mapping's
  };
  struct DumpModules {
    uint64_t scope = 0;  // tells apart addresses in no module, per dump
    std::vector<ModuleInMapping> modules;
    std::unordered_map<uint64_t, uint64_t> by_pc;  // 0: left out
  };

  uint64_t MakeLocation(const format::Dump& dump, const DumpModules& mine, uint64_t pc) {
    std::vector<LineInfo> lines;
    bool named = false, filed = false, numbered = false;
    for (const Frame& f : source_(dump, pc)) {
      if (IsLeaktraceFrame(f)) continue;
      lines.push_back({DisplayName(f), f.file, f.line, f.column});
      named = named || !f.function.empty();
      filed = filed || !f.file.empty();
      numbered = numbered || f.line != 0;
    }
    if (lines.empty()) return 0;
    for (const ModuleInMapping& m : mine.modules) {
      if (!m.module->Contains(pc)) continue;
      Resolution& r = resolution_[m.mapping_id];
      r.functions = r.functions || named;
      r.filenames = r.filenames || filed;
      r.line_numbers = r.line_numbers || numbered;
      return builder_.Location(m.mapping_id, pc + m.delta, 0, lines);
    }
    return builder_.Location(0, pc, mine.scope, lines);
  }

  ProfileBuilder& builder_;
  const FrameSource& source_;
  std::map<std::string, std::pair<uint64_t, uint64_t>> mappings_;  // identity -> (id, load bias)
  std::map<uint64_t, Resolution> resolution_;                        // by mapping id
  std::unordered_map<const format::Dump*, DumpModules> dumps_;
};

std::string Describe(const format::Dump& d, bool is_base) {
  const std::string mode = d.process.exact()
                               ? std::string("exact (every allocation recorded)")
                               : fmt::format("heap sampled every {} bytes on average (unbiased estimates)",
                                             d.process.sample_interval);
  return fmt::format("{}{}: {} pid {} snapshot {}, {}", is_base ? "subtracted (base) " : "", d.path,
                     d.process.program, d.process.pid, d.process.seq, mode);
}

void SetHeader(perftools::profiles::Profile& profile, ProfileBuilder& builder,
               const std::vector<const format::Dump*>& dumps, const std::vector<const format::Dump*>& base,
               Resource resource) {
  const std::vector<SampleType> types = SampleTypes(resource);
  for (const SampleType& t : types) {
    perftools::profiles::ValueType* vt = profile.add_sample_type();
    vt->set_type(builder.String(t.type));
    vt->set_unit(builder.String(t.unit));
  }
  profile.set_default_sample_type(builder.String(types.back().type));

  const bool fd = resource == Resource::kFd, thread = resource == Resource::kThread;
  profile.mutable_period_type()->set_type(builder.String(fd ? "fds" : thread ? "threads" : "space"));
  profile.mutable_period_type()->set_unit(builder.String(fd || thread ? "count" : "bytes"));
  int64_t period = 1;
  if (resource == Resource::kHeap)
    for (const format::Dump* d : dumps)
      if (!d->process.exact()) period = std::max<int64_t>(period, static_cast<int64_t>(d->process.sample_interval));
  profile.set_period(period);

  const format::Dump* newest = nullptr;
  for (const format::Dump* d : dumps)
    if (!newest || d->process.snapshot_realtime_ns > newest->process.snapshot_realtime_ns) newest = d;
  if (newest) {
    profile.set_time_nanos(newest->process.snapshot_realtime_ns);
    // Live: what the process holds was built up since it started. Growth:
    // since the newest base snapshot.
    int64_t since = base.empty() ? newest->process.start_realtime_ns : 0;
    for (const format::Dump* b : base) since = std::max(since, b->process.snapshot_realtime_ns);
    if (since > 0 && since <= newest->process.snapshot_realtime_ns)
      profile.set_duration_nanos(newest->process.snapshot_realtime_ns - since);
  }
  profile.add_comment(builder.String(fmt::format("leaktrace {} profile", format::ResourceName(resource))));
  for (const format::Dump* d : dumps) profile.add_comment(builder.String(Describe(*d, false)));
  for (const format::Dump* d : base) profile.add_comment(builder.String(Describe(*d, true)));
}

void AddSamples(Stacks& stacks, ProfileBuilder& builder, const format::Dump& dump, Resource resource, double sign) {
  const std::vector<SampleType> types = SampleTypes(resource);
  for (const format::Site& site : dump.sites) {
    if (site.resource != resource) continue;
    std::vector<uint64_t> ids;
    std::vector<std::pair<std::string, std::string>> labels;
    if (const format::Stack* stack = dump.FindStack(site.stack_id)) {
      ids = stacks.Locations(dump, *stack);
      if (stack->truncated()) labels.emplace_back("truncated", "true");
    }
    if (ids.empty()) ids.push_back(stacks.NoStack());
    if (!site.label.empty()) labels.emplace_back(LabelKey(resource), site.label);
    std::vector<double> values;
    for (const SampleType& t : types) values.push_back(sign * t.value(site));
    builder.AddSample(ids, labels, values);
  }
}

}  // namespace

perftools::profiles::Profile BuildProfile(const std::vector<const format::Dump*>& dumps,
                                          const std::vector<const format::Dump*>& base, Resource resource,
                                          const FrameSource& source) {
  perftools::profiles::Profile profile;
  ProfileBuilder builder(profile);
  SetHeader(profile, builder, dumps, base, resource);
  Stacks stacks(builder, source);
  for (const format::Dump* d : dumps) stacks.AddDump(*d);
  for (const format::Dump* d : base) stacks.AddDump(*d);
  for (const format::Dump* d : dumps) AddSamples(stacks, builder, *d, resource, 1.0);
  for (const format::Dump* d : base) AddSamples(stacks, builder, *d, resource, -1.0);
  builder.FinishSamples();
  stacks.FinishMappings();
  return profile;
}

std::string RenderPprof(const std::vector<const format::Dump*>& dumps, const std::vector<const format::Dump*>& base,
                        Resource resource, const FrameSource& source) {
  return Gzip(BuildProfile(dumps, base, resource, source).SerializeAsString());
}

}  // namespace leaktrace::reporter::pprof
