#include "preload/resources/fd_kind.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

#include "preload/internal/private_fds.h"
#include "preload/resources/fd_table.h"
#include "preload/resources/label_table.h"
#include "preload/resources/working_dir.h"
#include "preload/internal/raw_syscall.h"

namespace leaktrace::preload {
namespace {

constexpr size_t kPathBytes = 4096;

constexpr uint32_t kPathLabelBits = 8;
std::atomic<uint32_t> g_path_labels[1u << kPathLabelBits];  // label ids by path address: GuessedOpenedLabel

const char* FamilyName(int family, char* buf, size_t size) {
  switch (family) {
    case AF_UNIX: return "unix";
    case AF_INET: return "inet";
    case AF_INET6: return "inet6";
    case AF_NETLINK: return "netlink";
    case AF_PACKET: return "packet";
    case AF_VSOCK: return "vsock";
    default: snprintf(buf, size, "af%d", family); return buf;
  }
}

const char* TypeName(int type, char* buf, size_t size) {
  switch (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) {
    case SOCK_STREAM: return "stream";
    case SOCK_DGRAM: return "dgram";
    case SOCK_SEQPACKET: return "seqpacket";
    case SOCK_RAW: return "raw";
    default: snprintf(buf, size, "type%d", type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)); return buf;
  }
}

// "<prefix>:<path>", or just the prefix when that cannot be interned.
uint32_t WithPath(const char* prefix, const char* path, size_t path_size) {
  char label[kPathBytes + 32];
  const size_t p = strlen(prefix);
  if (path_size > kPathBytes) path_size = kPathBytes;
  memcpy(label, prefix, p);
  label[p] = ':';
  memcpy(label + p + 1, path, path_size);
  if (uint32_t id = InternLabel(label, p + 1 + path_size)) return id;
  return KindLabel(prefix);
}

// readlink of /proc/self/fd/N into buf; its length, or 0.
size_t FdPath(int fd, char* buf, size_t size) {
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  const ssize_t n = RawSyscall(SYS_readlink, proc, buf, size);
  return n > 0 ? static_cast<size_t>(n) : 0;
}

const char* PrefixOf(mode_t mode) {
  if (S_ISREG(mode)) return "file";
  if (S_ISDIR(mode)) return "dir";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "device";
  if (S_ISFIFO(mode)) return "fifo";
  return nullptr;
}

}  // namespace

uint32_t KindLabel(const char* kind) { return InternKindLabel(kind); }

uint32_t OpenedPathLabel(int fd, const char* path) {
  if (SandboxEntered()) return KindLabel("file");  // no call the program's filter may not list
  struct stat st;
  if (RawSyscall(SYS_fstat, fd, &st) != 0) return KindLabel("unknown");
  if (S_ISSOCK(st.st_mode)) return SocketFdLabel(fd);
  const char* prefix = PrefixOf(st.st_mode);
  if (prefix == nullptr) return KindLabel("unknown");
  if (path != nullptr && path[0] == '/') return WithPath(prefix, path, strlen(path));
  char buf[kPathBytes];
  const size_t n = FdPath(fd, buf, sizeof buf);
  return n ? WithPath(prefix, buf, n) : KindLabel(prefix);
}

uint32_t GuessedOpenedLabel(const char* path, const char* kind_guess) {
  if (kind_guess == nullptr) {
    // Byte by byte, so nothing past the string's end is read.
    const bool dev = path[0] == '/' && path[1] == 'd' && path[2] == 'e' && path[3] == 'v' && path[4] == '/';
    const bool shm = dev && path[5] == 's' && path[6] == 'h' && path[7] == 'm' && path[8] == '/';
    kind_guess = dev && !shm ? "device" : "file";
  }
  // A server opens the same few paths over and over, usually from the same
  // few strings: a direct-mapped cache of label ids keyed by the string's
  // address skips building, hashing and looking up "<kind>:<path>". An
  // entry is only a hint: the label's own text is compared with the path
  // (interned labels never change), so a stale or racing entry, or another
  // path in the same buffer, costs a miss, never a wrong id.
  const uint64_t key = reinterpret_cast<uintptr_t>(path) * 0x9e3779b97f4a7c15ULL;
  std::atomic<uint32_t>& entry = g_path_labels[key >> (64 - kPathLabelBits)];
  const uint32_t cached = entry.load(std::memory_order_relaxed);
  if (cached != 0) {
    const char* text = LabelText(cached);
    size_t k = 0;
    while (kind_guess[k] != '\0' && text[k] == kind_guess[k]) ++k;  // stops at text's end too
    if (kind_guess[k] == '\0' && text[k] == ':' && strcmp(text + k + 1, path) == 0) return cached | kUnverifiedKind;
  }
  const uint32_t label = WithPath(kind_guess, path, strlen(path));
  if (label != 0) entry.store(label, std::memory_order_relaxed);
  return label | kUnverifiedKind;
}

namespace {

// `base` (absolute, `base_size` bytes) joined with `rel` into `out`: its
// length, or 0 when `rel` has a ".." segment or the result does not fit.
size_t JoinPath(const char* base, size_t base_size, const char* rel, char* out, size_t out_size) {
  while (base_size > 1 && base[base_size - 1] == '/') --base_size;
  if (base_size >= out_size) return 0;
  memcpy(out, base, base_size);
  size_t n = base_size;
  for (const char* p = rel; *p != '\0';) {
    const char* end = p;
    while (*end != '\0' && *end != '/') ++end;
    const size_t segment = static_cast<size_t>(end - p);
    if (segment == 2 && p[0] == '.' && p[1] == '.') return 0;
    if (segment > 0 && !(segment == 1 && p[0] == '.')) {
      const bool slash = n == 0 || out[n - 1] != '/';
      if (n + slash + segment >= out_size) return 0;
      if (slash) out[n++] = '/';
      memcpy(out + n, p, segment);
      n += segment;
    }
    p = *end == '/' ? end + 1 : end;
  }
  out[n] = '\0';
  return n;
}

}  // namespace

uint32_t RelativeOpenedLabel(int dirfd, const char* path, const char* kind_guess) {
  char base[kPathBytes];
  size_t base_size = 0;
  uint32_t flags = 0;
  if (dirfd == AT_FDCWD) {
    // No call the program's filter may not list.
    bool unsure = false;
    base_size = WorkingDirectory(base, sizeof base, !SandboxEntered(), &unsure);
    if (base_size == 0) return 0;
    if (unsure) flags = kOnKeptCwd;
  } else {
    // The openat succeeded, so `dirfd` is a directory; its label's path is
    // its path whatever kind the label guessed ("file:" for an open by
    // absolute path not checked yet).
    const uint32_t dir_word = FdLabel(dirfd);
    const uint32_t dir_label = dir_word & ~kLabelFlags;
    if (dir_label == 0) return 0;
    flags = dir_word & kOnKeptCwd;  // a path built on a kept one is checked too
    const char* text = LabelText(dir_label);
    const char* colon = strchr(text, ':');
    if (colon == nullptr || colon[1] != '/') return 0;
    const size_t kind_size = static_cast<size_t>(colon - text);
    if (!((kind_size == 3 && memcmp(text, "dir", 3) == 0) || (kind_size == 4 && memcmp(text, "file", 4) == 0)))
      return 0;
    base_size = strlen(colon + 1);
    if (base_size >= sizeof base) return 0;
    memcpy(base, colon + 1, base_size);
  }
  char joined[kPathBytes];
  if (JoinPath(base, base_size, path, joined, sizeof joined) == 0) return 0;
  const uint32_t label = GuessedOpenedLabel(joined, kind_guess);
  return label == 0 ? 0 : label | flags;
}

uint32_t VerifiedOpenedLabel(int fd, uint32_t label) {
  if ((label & kUnverifiedKind) == 0) return label;
  const bool on_kept_cwd = (label & kOnKeptCwd) != 0;
  label &= ~kLabelFlags;
  struct stat st;
  if (RawSyscall(SYS_fstat, fd, &st) != 0) return label;
  if (S_ISSOCK(st.st_mode)) return SocketFdLabel(fd);
  const char* prefix = PrefixOf(st.st_mode);
  if (prefix == nullptr) return KindLabel("unknown");
  // The guess is "<kind>:<path>", or the bare kind when the table had no
  // room for the path.
  const char* text = LabelText(label);
  const char* colon = strchr(text, ':');
  if (on_kept_cwd && colon != nullptr && !SandboxEntered()) {
    char now[kPathBytes];
    size_t n = FdPath(fd, now, sizeof now - 1);
    constexpr char kDeleted[] = " (deleted)";
    constexpr size_t kDeletedSize = sizeof kDeleted - 1;
    if (n > kDeletedSize && memcmp(now + n - kDeletedSize, kDeleted, kDeletedSize) == 0) n -= kDeletedSize;
    // Only its directory is compared: a file renamed in place since keeps
    // the name it was opened by, as one opened by absolute path does.
    const char* guessed = colon + 1;
    const char* guessed_slash = strrchr(guessed, '/');
    const char* now_slash = n > 0 ? static_cast<const char*>(memrchr(now, '/', n)) : nullptr;
    if (now_slash != nullptr && now[0] == '/' && guessed_slash != nullptr &&
        (guessed_slash - guessed != now_slash - now || memcmp(guessed, now, static_cast<size_t>(now_slash - now)) != 0))
      return WithPath(prefix, now, n);
  }
  const size_t kind_size = colon ? static_cast<size_t>(colon - text) : strlen(text);
  if (kind_size == strlen(prefix) && memcmp(text, prefix, kind_size) == 0) return label;
  return colon ? WithPath(prefix, colon + 1, strlen(colon + 1)) : KindLabel(prefix);
}

uint32_t SocketLabel(int family, int type) {
  char fbuf[16], tbuf[16], label[48];
  snprintf(label, sizeof label, "socket %s/%s", FamilyName(family, fbuf, sizeof fbuf),
           TypeName(type, tbuf, sizeof tbuf));
  return KindLabel(label);
}

uint32_t SocketFdLabel(int fd) {
  if (SandboxEntered()) return KindLabel("socket");  // no call the program's filter may not list
  int family = 0, type = 0;
  socklen_t len = sizeof family;
  if (RawSyscall(SYS_getsockopt, fd, SOL_SOCKET, SO_DOMAIN, &family, &len) != 0) return KindLabel("socket");
  len = sizeof type;
  if (RawSyscall(SYS_getsockopt, fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) return KindLabel("socket");
  return SocketLabel(family, type);
}

uint32_t ProbeFdLabel(int fd) {
  if (SandboxEntered()) return KindLabel("unknown");  // no call the program's filter may not list
  struct stat st;
  if (RawSyscall(SYS_fstat, fd, &st) != 0) return KindLabel("unknown");
  if (S_ISSOCK(st.st_mode)) return SocketFdLabel(fd);
  char buf[kPathBytes];
  const size_t n = FdPath(fd, buf, sizeof buf);
  if (S_ISFIFO(st.st_mode) && n > 5 && memcmp(buf, "pipe:", 5) == 0) return KindLabel("pipe");
  if (n > 11 && memcmp(buf, "anon_inode:", 11) == 0) {
    const char* name = buf + 11;
    const size_t name_size = n - 11;
    struct Known {
      const char* inode;
      const char* kind;
    };
    static constexpr Known kKnown[] = {{"[eventfd]", "eventfd"}, {"[eventpoll]", "epoll"},
                                       {"[timerfd]", "timerfd"}, {"[signalfd]", "signalfd"},
                                       {"inotify", "inotify"},   {"[pidfd]", "pidfd"}};
    for (const Known& k : kKnown)
      if (name_size == strlen(k.inode) && memcmp(name, k.inode, name_size) == 0) return KindLabel(k.kind);
    return WithPath("anon", name, name_size);
  }
  if (n > 7 && memcmp(buf, "/memfd:", 7) == 0) return KindLabel("memfd");
  if (S_ISCHR(st.st_mode) && n > 9 && memcmp(buf, "/dev/pts/", 9) == 0) return KindLabel("pty");
  const char* prefix = PrefixOf(st.st_mode);
  if (prefix == nullptr) return KindLabel("unknown");
  return n ? WithPath(prefix, buf, n) : KindLabel(prefix);
}

}  // namespace leaktrace::preload
