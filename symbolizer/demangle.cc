#include "symbolizer/demangle.h"

#include <cxxabi.h>
// libiberty.h (which demangle.h includes) declares basename() unless told
// that <string.h> has: C++'s overloads of it would clash.
#define HAVE_DECL_BASENAME 1
#include <libiberty/demangle.h>

#include <cctype>
#include <cstdlib>
#include <cstring>

namespace leaktrace::symbolizer {
namespace {

// A legacy Rust name: Itanium-shaped ("_ZN" ... "E"), its last component
// the hash "17h" and 16 hex digits. Read as C++ it keeps Rust's escapes
// ("RawVecInner$LT$A$GT$") and the hash ("::h716f1bbe2d1a6ba8").
bool IsLegacyRustName(const char* name, size_t length) {
  constexpr size_t kHashTail = 3 + 16 + 1;  // "17h" + 16 hex digits + "E"
  if (length < 3 + kHashTail || std::strncmp(name, "_ZN", 3) != 0) return false;
  const char* tail = name + length - kHashTail;
  if (std::strncmp(tail, "17h", 3) != 0 || tail[kHashTail - 1] != 'E') return false;
  for (size_t i = 3; i < 3 + 16; ++i)
    if (!std::isxdigit(static_cast<unsigned char>(tail[i]))) return false;
  return true;
}

std::string Taken(char* out, const char* name) {
  if (out == nullptr) return name;
  std::string result(out);
  std::free(out);
  return result;
}

}  // namespace

std::string Demangle(const char* name) {
  if (name == nullptr) return {};
  const size_t length = std::strlen(name);
  // Rust's v0 names ("_R...") and its legacy ones: libiberty's Rust
  // demangler, as binutils and gdb read them ("alloc::raw_vec::RawVecInner<A>::try_allocate_in",
  // the hash dropped).
  if (std::strncmp(name, "_R", 2) == 0 || IsLegacyRustName(name, length))
    return Taken(cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_RUST), name);
  // Only "_Z…" names are mangled; "main" or "malloc" would otherwise be
  // demangled as types by __cxa_demangle ("i" -> "int").
  if (std::strncmp(name, "_Z", 2) != 0) return name;
  int status = 0;
  char* out = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  if (status != 0) {
    std::free(out);
    return name;
  }
  return Taken(out, name);
}

}  // namespace leaktrace::symbolizer
