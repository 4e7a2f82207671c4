#include "cli/library_path.h"

#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "cli/errors.h"

namespace leaktrace::cli {

namespace fs = std::filesystem;

namespace {

bool IsFile(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

std::string Absolute(const fs::path& p) {
  std::error_code ec;
  fs::path abs = fs::weakly_canonical(p, ec);
  return ec ? fs::absolute(p).string() : abs.string();
}

}  // namespace

std::string FindPreloadLibrary() {
  if (const char* env = std::getenv("LEAKTRACE_LIBRARY"); env && *env) {
    if (!IsFile(env)) throw UsageError(fmt::format("{}: no such file (from LEAKTRACE_LIBRARY)", env));
    return Absolute(env);
  }
  std::string tried;
#ifdef LEAKTRACE_BUILD_LIBRARY
  if (IsFile(LEAKTRACE_BUILD_LIBRARY)) return Absolute(LEAKTRACE_BUILD_LIBRARY);
  tried = LEAKTRACE_BUILD_LIBRARY ", ";
#endif
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path installed = self.parent_path() / ".." / "lib" / "leaktrace" / "libleaktrace.so";
    if (IsFile(installed)) return Absolute(installed);
    tried += installed.lexically_normal().string();
  }
  throw UsageError(fmt::format("cannot find libleaktrace.so (tried {}); set LEAKTRACE_LIBRARY", tried));
}

}  // namespace leaktrace::cli
