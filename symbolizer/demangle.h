// C++ and Rust symbol names -> what a person reads.
#pragma once

#include <string>

namespace leaktrace::symbolizer {

// The demangled form of `name` ("ns::Cache<int>::grow(unsigned long)",
// "alloc::vec::from_elem::<u8>"), or `name` unchanged when it is not an
// Itanium- or Rust-mangled name or cannot be demangled (C functions, corrupt
// names). `name` may be null: returns "".
std::string Demangle(const char* name);

}  // namespace leaktrace::symbolizer
