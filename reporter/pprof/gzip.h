// gzip (RFC 1952) compression and decompression with zlib: pprof readers take
// profile.proto gzipped.
#pragma once

#include <string>
#include <string_view>

namespace leaktrace::reporter::pprof {

// The gzip-wrapped deflate of `data`. Throws std::runtime_error only if zlib
// itself fails (out of memory).
std::string Gzip(std::string_view data);

// The inverse, for tests and tools; throws std::runtime_error on data that is
// not a complete gzip stream.
std::string Gunzip(std::string_view data);

}  // namespace leaktrace::reporter::pprof
