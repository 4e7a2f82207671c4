// This copy of the library's mark in the process's symbol scope
// (startup.cc, AnotherCopyIsAhead): exported, so the first copy the loader
// meets defines it for every copy; each copy also knows its own by a
// hidden name. In a file of its own, so that the compiler reaches the
// exported one only through the GOT, as the loader bound it.
#include "preload/interpose/instance.h"

extern "C" __attribute__((visibility("default"))) const char leaktrace_instance = 0;

namespace leaktrace::preload {

extern const char g_instance_self __attribute__((alias("leaktrace_instance"), visibility("hidden")));

}  // namespace leaktrace::preload
