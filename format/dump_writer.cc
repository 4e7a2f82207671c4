#include "format/dump_writer.h"

#include <cstring>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace leaktrace::format {
namespace {

// The format is little-endian; so is every machine leaktrace runs on (x86-64,
// aarch64), and this keeps the writer free of byte shuffling.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "dump format is little-endian");

size_t StrLen(const char* s) { return s == nullptr ? 0 : std::strlen(s); }

}  // namespace

DumpWriter::DumpWriter(DumpBuffer& out) : out_(out) {
  out_.Append(kMagic, sizeof kMagic);
  PutU32(kVersion);
  PutU32(kFileHeaderBytes);
}


void DumpWriter::PutString(const char* s, size_t size) {
  PutU32(static_cast<uint32_t>(size));
  if (size != 0) out_.Append(s, size);
}

void DumpWriter::PutString(const char* s) { PutString(s, StrLen(s)); }

void DumpWriter::BeginSection(SectionType type) {
  if (in_section_) EndSection();
  section_start_ = out_.size();
  section_records_ = 0;
  in_section_ = true;
  PutU32(static_cast<uint32_t>(type));
  PutU32(0);  // flags, reserved
  PutU64(0);  // payload length, patched by EndSection
  if (type != SectionType::kProcess) PutU32(0);  // record count, patched by EndSection
}

void DumpWriter::EndSection() {
  if (!in_section_) return;
  // A buffer that ran out of memory may not hold the section's header (nor
  // any byte: a process at its address-space limit): nothing to patch, and
  // the caller sees failed().
  if (section_start_ + kSectionHeaderBytes > out_.size()) {
    in_section_ = false;
    return;
  }
  uint32_t type;
  std::memcpy(&type, out_.data() + section_start_, sizeof type);
  const uint64_t payload = out_.size() - section_start_ - kSectionHeaderBytes;
  out_.Patch(section_start_ + 8, &payload, sizeof payload);
  if (type != static_cast<uint32_t>(SectionType::kProcess)) {
    out_.Patch(section_start_ + kSectionHeaderBytes, &section_records_, sizeof section_records_);
  }
  in_section_ = false;
}

void DumpWriter::WriteProcess(const ProcessRecord& p) {
  BeginSection(SectionType::kProcess);
  PutU32(p.pid);
  PutU32(p.ppid);
  PutU32(p.seq);
  PutU32(p.flags);
  PutU32(static_cast<uint32_t>(p.trigger));
  PutU32(0);  // reserved
  PutU64(p.sample_interval);
  PutU64(static_cast<uint64_t>(p.snapshot_realtime_ns));
  PutU64(static_cast<uint64_t>(p.snapshot_monotonic_ns));
  PutU64(static_cast<uint64_t>(p.start_realtime_ns));
  PutU64(static_cast<uint64_t>(p.start_monotonic_ns));
  PutString(p.program);
  PutString(p.exe_path);
  PutString(p.cmdline, p.cmdline_size);
  EndSection();
}

void DumpWriter::WriteModule(const ModuleRecord& m) {
  ++section_records_;
  PutString(m.path);
  PutString(reinterpret_cast<const char*>(m.build_id), m.build_id_size);
  PutU64(m.load_bias);
  PutU32(m.flags);
  PutU32(m.segment_count);
  for (uint32_t i = 0; i < m.segment_count; ++i) {
    PutU64(m.segments[i].start);
    PutU64(m.segments[i].end);
    PutU64(m.segments[i].file_offset);
    PutU32(m.segments[i].prot);
    PutU32(0);
  }
}

void DumpWriter::WriteStack(const StackRecord& s) {
  ++section_records_;
  const uint32_t depth = s.depth > kMaxStackDepth ? kMaxStackDepth : s.depth;
  const uint16_t flags = s.depth > kMaxStackDepth ? (s.flags | kStackTruncated) : s.flags;
  PutU32(s.id);
  PutU16(static_cast<uint16_t>(depth));
  PutU16(flags);
  out_.Append(s.pcs, depth * sizeof(uint64_t));
}

void DumpWriter::WriteSite(const SiteRecord& s) {
  ++section_records_;
  PutU8(static_cast<uint8_t>(s.resource));
  PutU8(0);
  PutU16(0);
  PutU32(s.stack_id);
  PutF64(s.live_count);
  PutF64(s.live_bytes);
  PutF64(s.alloc_count);
  PutF64(s.alloc_bytes);
  PutF64(s.var_live_count);
  PutF64(s.var_live_bytes);
  PutU64(s.live_samples);
  PutString(s.label);
}

void DumpWriter::WriteHealth(const char* name, uint64_t value) {
  ++section_records_;
  PutString(name);
  PutU64(value);
}

void DumpWriter::WriteAge(const AgeRecord& a) {
  ++section_records_;
  PutU32(a.site);
  PutU32(0);  // reserved
  PutU64(static_cast<uint64_t>(a.birth_monotonic_ns));
  PutF64(a.weight);
  PutU64(a.size);
}

bool DumpWriter::Finish() {
  EndSection();
  const uint64_t checksum = XXH3_64bits(out_.data(), out_.size());
  PutU32(static_cast<uint32_t>(SectionType::kEnd));
  PutU32(0);
  PutU64(sizeof checksum);
  PutU64(checksum);
  return !out_.failed();
}

bool RenumberDump(DumpBuffer& buffer, uint32_t seq) {
  constexpr size_t kEndBytes = kSectionHeaderBytes + DumpWriter::kChecksumBytes;
  if (buffer.size() < DumpWriter::kSeqOffset + sizeof seq + kEndBytes) return false;
  uint32_t first_section;
  std::memcpy(&first_section, buffer.data() + kFileHeaderBytes, sizeof first_section);
  if (first_section != static_cast<uint32_t>(SectionType::kProcess)) return false;
  buffer.Patch(DumpWriter::kSeqOffset, &seq, sizeof seq);
  const size_t content = buffer.size() - kEndBytes;
  const uint64_t checksum = XXH3_64bits(buffer.data(), content);
  buffer.Patch(buffer.size() - DumpWriter::kChecksumBytes, &checksum, sizeof checksum);
  return true;
}

}  // namespace leaktrace::format
