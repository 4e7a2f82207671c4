// libFuzzer target for the dump reader (format::ParseDump): whatever the
// bytes, it returns a Dump or throws DumpError, and never crashes, hangs,
// leaks or reads out of bounds (built with ASan + UBSan).
//
// Random mutations almost never keep the end section's checksum right, which
// would stop every input at the checksum check. So each input is parsed
// twice: as it is, and with its checksum recomputed when it ends in an end
// section, so mutations inside the sections reach the section parsers.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "format/dump_layout.h"
#include "format/dump_reader.h"

namespace {

using namespace leaktrace::format;

void Parse(const std::vector<uint8_t>& bytes) {
  try {
    const Dump dump = ParseDump(bytes, "fuzz.dump");
    // Walk what the tools walk.
    for (const Site& s : dump.sites)
      if (dump.FindStack(s.stack_id) == nullptr) std::abort();  // the reader promised
    for (const Stack& s : dump.stacks)
      for (uint64_t pc : s.pcs) (void)dump.FindModule(pc);
    for (const Module& m : dump.modules) (void)m.BuildIdHex();
  } catch (const DumpError& e) {
    // One line naming the file.
    if (std::strncmp(e.what(), "fuzz.dump: ", 11) != 0 || std::strchr(e.what(), '\n') != nullptr) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  Parse(bytes);

  constexpr size_t kEnd = kSectionHeaderBytes + sizeof(uint64_t);
  if (size >= kFileHeaderBytes + kEnd) {
    uint32_t type;
    std::memcpy(&type, data + size - kEnd, sizeof type);
    if (type == static_cast<uint32_t>(SectionType::kEnd)) {
      const uint64_t checksum = XXH3_64bits(data, size - kEnd);
      std::memcpy(bytes.data() + size - sizeof checksum, &checksum, sizeof checksum);
      Parse(bytes);
    }
  }
  return 0;
}
