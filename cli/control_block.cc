#include "cli/control_block.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "cli/errors.h"
#include "cli/process_state.h"
#include "format/control_block.h"

namespace leaktrace::cli {

namespace {

namespace control = format::control;

template <typename T>
bool ToNumber(std::string_view s, T& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

std::string ReadAll(int fd) {
  std::string text;
  char buf[4096];
  off_t offset = 0;
  for (;;) {
    ssize_t n = pread(fd, buf, sizeof buf, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
    offset += n;
    // The block, never what may follow it (a dump handed over after it).
    if (text.size() >= control::kBlockBytes) {
      text.resize(control::kBlockBytes);
      break;
    }
  }
  return text;
}

}  // namespace

bool IsMemfdNamed(std::string_view link, std::string_view name) {
  constexpr std::string_view kPrefix = "/memfd:";
  if (link.substr(0, kPrefix.size()) != kPrefix) return false;
  link.remove_prefix(kPrefix.size());
  if (link.substr(0, name.size()) != name) return false;
  link.remove_prefix(name.size());
  return link.empty() || link == " (deleted)";
}

std::optional<ControlBlock> ParseControlBlock(std::string_view text) {
  ControlBlock b;
  bool have_version = false, have_pid = false, have_signal = false, have_completed = false;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == control::kKeyVersion) have_version = ToNumber(value, b.version);
    else if (key == control::kKeyPid) have_pid = ToNumber(value, b.pid);
    else if (key == control::kKeySignal) have_signal = ToNumber(value, b.signal);
    else if (key == control::kKeyCompleted) have_completed = ToNumber(value, b.completed);
    else if (key == control::kKeyStarted) ToNumber(value, b.started);
    else if (key == control::kKeySignalTid) ToNumber(value, b.signal_tid);
    else if (key == control::kKeyDir) b.dir = value;
    else if (key == control::kKeyProgram) b.program = value;
    else if (key == control::kKeyLast) b.last = value;
    else if (key == control::kKeyFailed) ToNumber(value, b.failed);
    else if (key == control::kKeyError) b.error = value;
    else if (key == control::kKeyHandover) ToNumber(value, b.handover);
    else if (key == control::kKeyHandoverFd) ToNumber(value, b.handover_fd);
    else if (key == control::kKeyHandoverPath) b.handover_path = value;
    else if (key == control::kKeyHandoverOffset) ToNumber(value, b.handover_offset);
    else if (key == control::kKeyReaderMark) b.reader_mark = value == "1";
    else if (key == control::kKeyThreadRequest) b.thread_request = value == "1";
    else if (key == control::kKeySnapshotRequest) b.snapshot_request = value == "1";
  }
  if (!have_version || b.version != control::kVersion || !have_pid || !have_signal || !have_completed) return std::nullopt;
  b.started = std::max(b.started, b.completed);  // a block without the line: nothing under way
  return b;
}

std::optional<ControlHandle> ControlHandle::Find(pid_t pid) { return Scan(pid, /*own=*/true); }

std::optional<ControlHandle> ControlHandle::FindInherited(pid_t pid) { return Scan(pid, /*own=*/false); }

std::optional<ControlHandle> ControlHandle::Scan(pid_t pid, bool own) {
  std::string fd_dir = fmt::format("/proc/{}/fd", pid);
  DIR* d = opendir(fd_dir.c_str());
  if (!d) {
    int err = errno;
    if (err == ENOENT) throw UsageError(fmt::format("process {} does not exist", pid));
    throw UsageError(fmt::format("cannot inspect process {}: {}", pid, std::strerror(err)));
  }
  // In a pid namespace (a container, unshare --pid) the library knows
  // itself by its pid there: 1, say, where we see 4740.
  const pid_t self = PidInOwnNamespace(pid);
  std::optional<ControlHandle> found;
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::string link_path = fd_dir + "/" + e->d_name;
    char target[256];
    ssize_t n = readlink(link_path.c_str(), target, sizeof target - 1);
    if (n <= 0) continue;
    if (!IsMemfdNamed(std::string_view(target, static_cast<size_t>(n)), control::kMemfdName)) continue;
    int fd = open(link_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ControlHandle handle(fd, std::atoi(e->d_name));
    std::optional<ControlBlock> block = handle.Read();
    // A block whose pid differs was inherited from a parent across fork.
    if (block && (block->pid == self) == own) {
      found.emplace(std::move(handle));
      break;
    }
  }
  closedir(d);
  return found;
}

ControlHandle::~ControlHandle() {
  if (fd_ >= 0) close(fd_);
}

bool ControlHandle::WriteRequest(const char* line) const {
  // Our descriptor is read-only; the same file opened again for writing.
  const std::string self = fmt::format("/proc/self/fd/{}", fd_);
  const int fd = open(self.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  constexpr size_t n = control::kThreadRequestBytes;
  const bool written = pwrite(fd, line, n, control::kThreadRequestOffset) == static_cast<ssize_t>(n);
  close(fd);
  return written;
}

bool ControlHandle::AskForDumperThread() const { return WriteRequest(control::kThreadWantedLine); }

bool ControlHandle::AskForSnapshot() const { return WriteRequest(control::kSnapshotWantedLine); }

bool ControlHandle::HeldBy(pid_t pid) const {
  struct stat ours;
  if (fstat(fd_, &ours) != 0) return true;  // cannot tell: the caller's other checks speak
  const auto same = [&](const std::string& link) {
    struct stat theirs;
    return stat(link.c_str(), &theirs) == 0 && theirs.st_dev == ours.st_dev && theirs.st_ino == ours.st_ino;
  };
  const std::string fd_dir = fmt::format("/proc/{}/fd", pid);
  // The new image's block may well get the same number: the file, not the
  // number, tells.
  if (fd_in_process_ >= 0 && same(fmt::format("{}/{}", fd_dir, fd_in_process_))) return true;
  DIR* d = opendir(fd_dir.c_str());
  if (!d) return false;  // gone
  bool held = false;
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    const std::string link_path = fd_dir + "/" + e->d_name;
    char target[256];
    const ssize_t n = readlink(link_path.c_str(), target, sizeof target - 1);
    if (n <= 0 || !IsMemfdNamed(std::string_view(target, static_cast<size_t>(n)), control::kMemfdName)) continue;
    if (same(link_path)) {
      fd_in_process_ = std::atoi(e->d_name);
      held = true;
      break;
    }
  }
  closedir(d);
  return held;
}

std::optional<ControlBlock> ControlHandle::Read() const {
  // The library rewrites the block in place; two equal reads in a row cannot
  // be a torn one (a rewrite between them would change `completed`).
  for (int attempt = 0; attempt < 5; ++attempt) {
    std::string first = ReadAll(fd_);
    std::string second = ReadAll(fd_);
    if (first == second) return ParseControlBlock(first);
  }
  return std::nullopt;
}

}  // namespace leaktrace::cli
