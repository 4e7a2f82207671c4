#include "tests/cli/dump_files.h"

#include <fstream>

#include "format/dump_buffer.h"
#include "format/dump_writer.h"

namespace leaktrace::cli_test {

using namespace format;

bool WriteDump(const std::string& path, const DumpSpec& spec) {
  DumpBuffer buffer;
  DumpWriter w(buffer);
  ProcessRecord p;
  p.pid = spec.pid;
  p.ppid = 1;
  p.seq = spec.seq;
  p.flags = spec.exact ? kProcessExactMode : 0;
  p.sample_interval = spec.exact ? 1 : 512 * 1024;
  p.snapshot_realtime_ns = 1700000000000000000 + int64_t{spec.seq} * 60000000000;
  p.snapshot_monotonic_ns = int64_t{spec.seq} * 60000000000;
  p.start_realtime_ns = 1700000000000000000;
  p.program = spec.program.c_str();
  p.exe_path = spec.module.c_str();
  w.WriteProcess(p);

  w.BeginSection(SectionType::kModules);
  const uint8_t build_id[] = {0xde, 0xad, 0xbe, 0xef};
  SegmentRecord seg{spec.bias, spec.bias + 0x100000, 0, 5};
  ModuleRecord m;
  m.path = spec.module.c_str();
  m.build_id = build_id;
  m.build_id_size = sizeof build_id;
  m.load_bias = spec.bias;
  m.flags = kModuleMainProgram;
  m.segments = &seg;
  m.segment_count = 1;
  w.WriteModule(m);
  w.EndSection();

  w.BeginSection(SectionType::kStacks);
  std::vector<uint64_t> pcs;
  for (const SiteSpec& s : spec.sites) pcs.push_back(spec.bias + s.offset);
  for (size_t i = 0; i < pcs.size(); ++i) w.WriteStack(StackRecord{static_cast<uint32_t>(i + 1), 0, &pcs[i], 1});
  w.EndSection();

  w.BeginSection(SectionType::kSites);
  for (size_t i = 0; i < spec.sites.size(); ++i) {
    const SiteSpec& s = spec.sites[i];
    SiteRecord r;
    r.resource = s.resource;
    r.stack_id = static_cast<uint32_t>(i + 1);
    r.live_bytes = s.bytes;
    r.live_count = s.count;
    r.alloc_bytes = s.bytes;
    r.alloc_count = s.count;
    r.var_live_bytes = s.var_bytes;
    r.label = s.label.c_str();
    w.WriteSite(r);
  }
  w.EndSection();
  if (!w.Finish()) return false;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(buffer.data()), static_cast<std::streamsize>(buffer.size()));
  return static_cast<bool>(out);
}

}  // namespace leaktrace::cli_test
