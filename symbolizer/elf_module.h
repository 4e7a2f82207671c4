// One binary on disk, opened with libdwfl once and kept for every lookup.
#pragma once

#include <elfutils/libdwfl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "symbolizer/dwarf_index.h"
#include "symbolizer/symbol_table.h"
#include "symbolizer/symbolizer.h"

namespace leaktrace::symbolizer {

// Not thread-safe. Never throws for a bad, missing or foreign file (only
// std::bad_alloc escapes): it becomes a state and a warning.
//
// The file is reported to its own Dwfl at base 0 with p_vaddr added, so the
// Dwfl address space *is* the link-time address space, for ET_DYN (PIE,
// shared libraries) and ET_EXEC alike: callers pass pc - load_bias.
class ElfModule {
 public:
  enum class State {
    kReady,            // lookups may find names and lines
    kUnavailable,      // missing, unreadable, not ELF, or a kernel pseudo-module
    kBuildIdMismatch,  // the file is not the binary that ran: never symbolized
  };

  // Opens `path` now; debug information is searched for on the first lookup.
  // `expected_build_id` holds the raw bytes the dump recorded; empty means the
  // dump had none and the file is trusted as is.
  ElfModule(const std::string& path, const std::string& expected_build_id);
  ~ElfModule();
  ElfModule(const ElfModule&) = delete;
  ElfModule& operator=(const ElfModule&) = delete;

  State state() const { return state_; }

  // A message for the user that has not been handed out yet (empty message
  // if none): why the module is not kReady, or that it has no debug
  // information.
  ModuleWarning TakeWarning();

  // The frames at link-time address `addr` (function, file, line, column,
  // inlined; innermost first), cached per address. Empty when nothing is
  // known or the module is not kReady. Without DWARF the function name comes
  // from the ELF symbol tables (.symtab, else .dynsym).
  // The reference is valid until the next call.
  const std::vector<Frame>& Lookup(uint64_t addr);

 private:
  void Open(const std::string& path, const std::string& expected_build_id);
  std::vector<Frame> Resolve(uint64_t addr);
  std::string SymbolName(uint64_t addr);

  std::string path_;
  State state_ = State::kUnavailable;
  std::string warning_;
  ModuleWarning::Kind warning_kind_ = ModuleWarning::Kind::kUnavailable;
  bool checked_debuginfo_ = false;
  Dwfl* dwfl_ = nullptr;
  Dwfl_Module* module_ = nullptr;
  DwarfIndex dwarf_index_;  // after module_: destroyed before dwfl_end
  std::optional<SymbolTable> symbols_;  // read at the first name DWARF did not give
  absl::flat_hash_map<uint64_t, std::vector<Frame>> cache_;
};

// "[vdso]", "linux-vdso.so.1", "[vsyscall]": mapped by the kernel, no file to
// read, nothing worth a warning.
bool IsPseudoModule(const std::string& path);

}  // namespace leaktrace::symbolizer
