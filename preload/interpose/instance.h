// This copy of the library's own mark (instance.cc): its address is what
// the exported leaktrace_instance resolves to when this copy is the first
// in the process's symbol scope.
#pragma once

namespace leaktrace::preload {

extern const char g_instance_self;

}  // namespace leaktrace::preload
