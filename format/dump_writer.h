// Encodes a dump into a DumpBuffer. Used inside the preload library, so it
// must not allocate through malloc and must not throw: all inputs are plain
// records with borrowed pointers, and all memory is the DumpBuffer's own.
#pragma once

#include <cstddef>
#include <cstdint>

#include "format/dump_buffer.h"
#include "format/dump_layout.h"

namespace leaktrace::format {

struct ProcessRecord {
  uint32_t pid = 0;
  uint32_t ppid = 0;
  uint32_t seq = 0;
  uint32_t flags = 0;  // kProcessExactMode
  Trigger trigger = Trigger::kSignal;
  uint64_t sample_interval = 0;  // mean bytes between samples; 1 = exact
  int64_t snapshot_realtime_ns = 0;
  int64_t snapshot_monotonic_ns = 0;
  int64_t start_realtime_ns = 0;
  int64_t start_monotonic_ns = 0;
  const char* program = "";   // executable base name
  const char* exe_path = "";  // /proc/self/exe, read at the first dump (without " (deleted)")
  const char* cmdline = "";   // arguments separated by NUL bytes
  size_t cmdline_size = 0;
};

struct SegmentRecord {
  uint64_t start = 0;        // runtime address, inclusive
  uint64_t end = 0;          // runtime address, exclusive
  uint64_t file_offset = 0;  // p_offset of the PT_LOAD header
  uint32_t prot = 0;         // PROT_READ | PROT_WRITE | PROT_EXEC
};

struct ModuleRecord {
  const char* path = "";
  const uint8_t* build_id = nullptr;
  uint32_t build_id_size = 0;
  uint64_t load_bias = 0;  // runtime address = link-time address + load_bias
  uint32_t flags = 0;      // kModuleUnloaded, kModuleMainProgram, kModuleLeaktrace
  const SegmentRecord* segments = nullptr;
  uint32_t segment_count = 0;
};

struct StackRecord {
  uint32_t id = 0;
  uint16_t flags = 0;  // kStackTruncated
  const uint64_t* pcs = nullptr;  // return addresses, innermost first
  uint32_t depth = 0;             // at most kMaxStackDepth
};

// One call site's totals. For sampled heap data every figure is an unbiased
// (Horvitz-Thompson) estimate; var_* are the variances of the live estimates.
struct SiteRecord {
  Resource resource = Resource::kHeap;
  uint32_t stack_id = 0;
  double live_count = 0;
  double live_bytes = 0;
  double alloc_count = 0;  // ever allocated at this site
  double alloc_bytes = 0;
  double var_live_count = 0;
  double var_live_bytes = 0;
  uint64_t live_samples = 0;  // raw number of sampled objects still live
  const char* label = "";     // resource detail (fd kind, mapping path); may be empty
};

// When one live object was created (ages section). `site` is the index of
// its site in the sites section, in the order written. Heap objects from a
// sample carry their Horvitz-Thompson weight; exact records weigh 1.
struct AgeRecord {
  uint32_t site = 0;
  int64_t birth_monotonic_ns = 0;  // CLOCK_MONOTONIC, as snapshot_monotonic_ns
  double weight = 1;
  uint64_t size = 0;               // bytes of one object (0 for descriptors)
};

// Not thread-safe. Sections must be opened and closed in order; a record
// written outside its section type is a programming error (ignored).
class DumpWriter {
 public:
  explicit DumpWriter(DumpBuffer& out);

  void WriteProcess(const ProcessRecord& process);

  void BeginSection(SectionType type);
  void WriteModule(const ModuleRecord& module);
  void WriteStack(const StackRecord& stack);
  void WriteSite(const SiteRecord& site);
  void WriteHealth(const char* name, uint64_t value);
  void WriteAge(const AgeRecord& age);
  // One named figure of the memory section (docs/dump-format.md, memory):
  // the same encoding as a health counter.
  void WriteMemoryFigure(const char* name, uint64_t value) { WriteHealth(name, value); }
  void EndSection();

  // Appends the END section with the checksum. Returns false if the buffer ran
  // out of memory at any point: the content must then not be written out.
  bool Finish();

  // The process section is the first (WriteProcess comes before any
  // other), so its seq lies here in every dump this writer makes.
  static constexpr size_t kSeqOffset = kFileHeaderBytes + kSectionHeaderBytes + 8;
  // The END section's checksum: the last 8 bytes of a finished dump.
  static constexpr size_t kChecksumBytes = 8;

 private:
  void PutU8(uint8_t v) { out_.Append(&v, 1); }
  void PutU16(uint16_t v) { out_.Append(&v, sizeof v); }
  void PutU32(uint32_t v) { out_.Append(&v, sizeof v); }
  void PutU64(uint64_t v) { out_.Append(&v, sizeof v); }
  void PutF64(double v) { out_.Append(&v, sizeof v); }
  void PutString(const char* s, size_t size);
  void PutString(const char* s);

  DumpBuffer& out_;
  size_t section_start_ = 0;
  uint32_t section_records_ = 0;
  bool in_section_ = false;
};

// Gives a finished dump another seq: patches the process section's and
// recomputes the checksum. For a dump whose name another process took
// meanwhile (the same pid in another pid namespace, writing to the same
// directory): the file, already written, needs only the bytes at
// DumpWriter::kSeqOffset and its last DumpWriter::kChecksumBytes rewritten.
// False when `buffer` is no finished dump. Must not allocate.
bool RenumberDump(DumpBuffer& buffer, uint32_t seq);

}  // namespace leaktrace::format
