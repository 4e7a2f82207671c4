// How commands fail: throw CliError; main prints its one-line message as
// "leaktrace: <message>" and exits with its code.
#pragma once

#include <stdexcept>
#include <string>

namespace leaktrace::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // check failed, or a wait timed out
inline constexpr int kExitUsage = 2;   // bad usage or unreadable input

class CliError : public std::runtime_error {
 public:
  CliError(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

inline CliError UsageError(const std::string& message) { return CliError(kExitUsage, message); }

}  // namespace leaktrace::cli
