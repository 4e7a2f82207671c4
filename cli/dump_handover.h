// A dump the process could not write itself (it dropped privileges, and its
// dump directory is root's): the library leaves it in a memfd and names it in
// the control block (handover, handover_fd, handover_path); `leaktrace
// snapshot`, run by root or the process's owner, writes the file.
#pragma once

#include <sys/types.h>

#include <string>

#include "cli/control_block.h"

namespace leaktrace::cli {

// Copies the dump handed over in `block` out of process `pid` into
// block.handover_path, atomically (temporary name, then rename), mode 0600.
// Returns the path. Throws CliError (exit 1) when the memfd is gone or is not
// a dump, or when the file cannot be written.
std::string WriteHandedOverDump(pid_t pid, const ControlBlock& block);

}  // namespace leaktrace::cli
