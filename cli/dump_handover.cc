#include "cli/dump_handover.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "cli/errors.h"
#include "format/control_block.h"
#include "format/dump_layout.h"
#include "format/dump_name.h"

namespace leaktrace::cli {

namespace {

[[noreturn]] void Fail(pid_t pid, const std::string& what) {
  throw CliError(kExitFailed, fmt::format("process {} handed its dump over, but {}", pid, what));
}

std::string ReadHandedOver(pid_t pid, int fd, uint64_t offset) {
  const std::string link = fmt::format("/proc/{}/fd/{}", pid, fd);
  char target[256];
  const ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
  // In a memfd of its own, or after the control block in the block's memfd
  // (a process with no descriptor left).
  const std::string_view name = offset == 0 ? format::control::kHandoverMemfdName : format::control::kMemfdName;
  if (n < 0 || !IsMemfdNamed(std::string_view(target, static_cast<size_t>(n)), name))
    Fail(pid, "it is gone (a newer dump replaced it, or the process exited)");
  const int in = open(link.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) Fail(pid, fmt::format("it cannot be read: {}", std::strerror(errno)));
  std::string data;
  char buf[1 << 16];
  for (off_t at = static_cast<off_t>(offset);;) {
    const ssize_t got = pread(in, buf, sizeof buf, at);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    data.append(buf, static_cast<size_t>(got));
    at += got;
  }
  close(in);
  if (data.size() < sizeof format::kMagic || std::memcmp(data.data(), format::kMagic, sizeof format::kMagic) != 0)
    Fail(pid, "what it holds is not a dump");
  return data;
}

}  // namespace

std::string WriteHandedOverDump(pid_t pid, const ControlBlock& block) {
  const std::string data = ReadHandedOver(pid, block.handover_fd, block.handover_offset);
  const std::string& path = block.handover_path;
  const std::string temp = format::TemporaryDumpPath(path);
  const int out = open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (out < 0 && errno == ENOENT)  // the directory is gone for us too, not only as the process sees it (chroot)
    throw CliError(kExitFailed, fmt::format("process {} cannot write its dump to {}: cannot create {}: {}", pid,
                                            block.dir, temp, std::strerror(ENOENT)));
  if (out < 0) Fail(pid, fmt::format("{} cannot be created: {}", temp, std::strerror(errno)));
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = write(out, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  const int write_errno = errno;
  const bool ok = done == data.size() && fsync(out) == 0;
  close(out);
  if (!ok || std::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = ok ? errno : write_errno;
    unlink(temp.c_str());
    Fail(pid, fmt::format("{} cannot be written: {}", path, std::strerror(err)));
  }
  return path;
}

}  // namespace leaktrace::cli
