#include "symbolizer/demangle.h"

#include <cxxabi.h>

#include <cstdlib>
#include <cstring>

namespace leaktrace::symbolizer {

std::string Demangle(const char* name) {
  if (name == nullptr) return {};
  // Only "_Z…" names are mangled; "main" or "malloc" would otherwise be
  // demangled as types by __cxa_demangle ("i" -> "int").
  if (std::strncmp(name, "_Z", 2) != 0) return name;
  int status = 0;
  char* out = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  if (status != 0 || out == nullptr) {
    std::free(out);
    return name;
  }
  std::string result(out);
  std::free(out);
  return result;
}

}  // namespace leaktrace::symbolizer
