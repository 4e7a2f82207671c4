// Programs the loader never gives libleaktrace.so, whatever LD_PRELOAD says:
// `leaktrace run` says so before it starts one, rather than let the user
// read only "no dumps were written" at its end.
#pragma once

#include <optional>
#include <string>

namespace leaktrace::cli {

// Why the program `command` (as posix_spawnp would find it: a path when it
// holds a '/', else the first executable of that name on PATH) runs without
// the library, or nullopt when nothing says it will: statically linked (no
// program interpreter), 32-bit (the library is 64-bit), or set-user-ID,
// set-group-ID or with file capabilities for this user (secure execution:
// the loader ignores LD_PRELOAD). A script, or a file that cannot be read,
// says nothing.
std::optional<std::string> WhyUntracked(const std::string& command);

}  // namespace leaktrace::cli
