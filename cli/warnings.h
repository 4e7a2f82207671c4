// What the commands tell the user besides their output: one line each on
// stderr, "leaktrace: warning: <message>".
#pragma once

#include <set>
#include <string>
#include <vector>

#include "reporter/model.h"
#include "symbolizer/symbolizer.h"

namespace leaktrace::cli {

// "leaktrace: warning: <message>" on stderr.
void Warn(const std::string& message);
// Each of `messages` (a use case's warnings, reporter::Loaded::warnings).
void Warn(const std::vector<std::string>& messages);

// Prints the module warnings that concern the sites shown, so a module no
// shown frame is in stays quiet: an unreadable file or another build on disk,
// one line each; missing debug information, one line for all such modules.
void WarnAboutModules(const std::vector<symbolizer::ModuleWarning>& warnings,
                      const std::vector<const reporter::Site*>& shown);
// The same for output that shows frames of exactly these modules (paths as
// Frame::module carries them).
void WarnAboutModules(const std::vector<symbolizer::ModuleWarning>& warnings, const std::set<std::string>& modules);

}  // namespace leaktrace::cli
