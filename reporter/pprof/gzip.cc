#include "reporter/pprof/gzip.h"

#include <zlib.h>

#include <stdexcept>

namespace leaktrace::reporter::pprof {

namespace {

// windowBits 15 (the largest window) + 16: write a gzip header and trailer
// rather than a zlib one. For inflate, + 16 accepts only gzip.
constexpr int kGzipWindowBits = 15 + 16;
constexpr size_t kChunk = 64 * 1024;

}  // namespace

std::string Gzip(std::string_view data) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kGzipWindowBits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("gzip: cannot initialize zlib");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());  // profiles stay far below 4 GiB
  std::string out;
  int rc;
  do {
    const size_t have = out.size();
    out.resize(have + kChunk);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + have);
    z.avail_out = kChunk;
    rc = deflate(&z, Z_FINISH);
    out.resize(have + kChunk - z.avail_out);
  } while (rc == Z_OK);  // each round has fresh output room, so Z_BUF_ERROR cannot mean "go on"
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("gzip: compression failed");
  return out;
}

std::string Gunzip(std::string_view data) {
  z_stream z{};
  if (inflateInit2(&z, kGzipWindowBits) != Z_OK) throw std::runtime_error("gunzip: cannot initialize zlib");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  std::string out;
  int rc;
  do {
    const size_t have = out.size();
    out.resize(have + kChunk);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + have);
    z.avail_out = kChunk;
    rc = inflate(&z, Z_NO_FLUSH);
    out.resize(have + kChunk - z.avail_out);
  } while (rc == Z_OK);
  inflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("gunzip: not a complete gzip stream");
  return out;
}

}  // namespace leaktrace::reporter::pprof
