// leaktrace attach [-o DIR] [--sample N] [--interval S] PID
// Starts tracking a running process that was started without the library:
// checks what can be checked from outside (permission, a dynamically linked
// x86-64 program, not tracked yet, the library visible to it), then borrows
// one of its threads (attach/borrowed_thread.h) to dlopen libleaktrace.so and
// call leaktrace_attach (format/attach.h), and gives the thread back.
#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "cli/attach/borrowed_thread.h"
#include "cli/attach/elf_image.h"
#include "cli/attach/permission.h"
#include "cli/attach/process_modules.h"
#include "cli/commands.h"
#include "cli/control_block.h"
#include "cli/errors.h"
#include "cli/library_path.h"
#include "cli/process_state.h"
#include "cli/signals.h"
#include "format/attach.h"
#include "format/snapshot_signal.h"
#include "reporter/sizes.h"

namespace leaktrace::cli {
namespace {

namespace fs = std::filesystem;
using attach::BorrowedThread;
using attach::ProcessModule;

// How long to look for a thread at a safe point.
constexpr int kPatienceMs = 3000;

pid_t ParsePid(const std::string& text) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos)
    throw UsageError(fmt::format("'{}' is not a process id", text));
  const pid_t pid = static_cast<pid_t>(std::stol(text));
  if (pid <= 0) throw UsageError(fmt::format("'{}' is not a process id", text));
  if (pid == getpid()) throw UsageError("leaktrace cannot attach to itself");
  return pid;
}

std::string SamplingText(uint64_t t) {
  if (t % (1024 * 1024) == 0) return fmt::format("heap sampled every {}m", t / (1024 * 1024));
  if (t % 1024 == 0) return fmt::format("heap sampled every {}k", t / 1024);
  return fmt::format("heap sampled every {} bytes", t);
}

// Everything that can be refused before touching the process.
struct Target {
  pid_t pid = 0;
  std::string program;
  std::vector<ProcessModule> modules;
};

// The name the program was started as: the first word of its argv[0]
// (a server that sets a process title, as redis does, keeps its name there),
// without directories; else its executable's file name. The dumps are named
// the same way by the library. redis-server is a symbolic link to
// redis-check-rdb: the executable alone would name the wrong program.
std::string ProgramName(pid_t pid, const fs::path& exe) {
  std::ifstream in(fmt::format("/proc/{}/cmdline", pid), std::ios::binary);
  std::string first;
  std::getline(in, first, '\0');
  first = first.substr(0, first.find_first_of(" \t\n"));
  first = first.substr(first.rfind('/') == std::string::npos ? 0 : first.rfind('/') + 1);
  return first.empty() ? exe.filename().string() : first;
}

Target Inspect(pid_t pid) {
  struct stat st;
  if (stat(fmt::format("/proc/{}", pid).c_str(), &st) != 0) throw UsageError(fmt::format("no process {}", pid));
  // A zombie has no program left to load into; a stopped one has no thread
  // that could take the library until it runs again.
  if (std::string why = StateObstacle(pid, ProcessState(pid)); !why.empty()) throw UsageError(why);
  if (std::string why = attach::PtraceObstacle(pid); !why.empty()) throw UsageError(why);
  Target t;
  t.pid = pid;
  std::error_code ec;
  const fs::path exe = fs::read_symlink(fmt::format("/proc/{}/exe", pid), ec);
  if (ec) throw UsageError(fmt::format("cannot read /proc/{}/exe: {} (a kernel thread, or no permission)", pid, ec.message()));
  t.program = ProgramName(pid, exe);
  const std::optional<attach::ElfImage> image = attach::ReadElfImage(fmt::format("/proc/{}/exe", pid));
  if (!image) throw UsageError(fmt::format("process {} ({}): its executable is not a readable ELF file", pid, t.program));
  if (!image->is_64 || !image->x86_64)
    throw UsageError(fmt::format("process {} ({}) is not an x86-64 program; leaktrace attach supports x86-64 only", pid,
                                 t.program));
  t.modules = attach::ReadProcessModules(pid);
  if (!image->has_interp || !attach::FindModule(t.modules, "libc.so."))
    throw UsageError(fmt::format("process {} ({}) is not a dynamically linked program using glibc (a static binary "
                                 "cannot load a library); leaktrace cannot attach to it",
                                 pid, t.program));
  // A fork child of a tracked process may still hold its parent's block
  // only (the library makes the child's own when first needed): tracked too.
  std::optional<ControlHandle> own = ControlHandle::Find(pid);
  std::optional<ControlHandle> inherited = own ? std::nullopt : ControlHandle::FindInherited(pid);
  if (const ControlHandle* control = own ? &*own : inherited ? &*inherited : nullptr) {
    std::string dir;
    if (std::optional<ControlBlock> block = control->Read()) dir = block->dir;
    throw UsageError(fmt::format("process {} ({}) is already tracked by leaktrace{}; use 'leaktrace snapshot {}'", pid,
                                 t.program, dir.empty() ? "" : " (dumps in " + dir + ")", pid));
  }
  return t;
}

// The library must be the same file inside the process's mount namespace.
void CheckLibraryVisible(pid_t pid, const std::string& library) {
  struct stat ours, theirs;
  if (stat(library.c_str(), &ours) != 0)
    throw UsageError(fmt::format("{}: {}", library, std::strerror(errno)));
  if (stat(fmt::format("/proc/{}/root{}", pid, library).c_str(), &theirs) != 0 || ours.st_dev != theirs.st_dev ||
      ours.st_ino != theirs.st_ino)
    throw UsageError(fmt::format("process {} does not see {} at that path (another mount namespace, a container?); "
                                 "make the library visible to it at the same path",
                                 pid, library));
}

std::string Settings(const std::string& dir, uint64_t sample, const std::string& interval, uint64_t max_stacks) {
  std::string s = fmt::format("LEAKTRACE_DIR={}\nLEAKTRACE_SAMPLE={}\n", dir, sample);
  if (!interval.empty()) s += fmt::format("LEAKTRACE_INTERVAL={}\n", interval);
  if (max_stacks != 0) s += fmt::format("LEAKTRACE_MAX_STACKS={}\n", max_stacks);
  // The two settings of the snapshots a user may have in the environment.
  for (const char* key : {"LEAKTRACE_SIGNAL", "LEAKTRACE_ON_EXIT"})
    if (const char* v = std::getenv(key); v && *v) s += fmt::format("{}={}\n", key, v);
  return s;
}

}  // namespace

Action AddAttachCommand(CLI::App& app) {
  struct Options {
    std::string dir;
    std::string sample;
    std::string interval;
    std::string pid;
  };
  auto opts = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "attach",
      "Start tracking a running process that was started without the library: stop one of its threads for a few "
      "milliseconds, make it load libleaktrace.so, give it back. From then on 'leaktrace snapshot PID' and every "
      "other command work as for a program started with 'leaktrace run'. The heap is sampled from the attach on "
      "(what was allocated before is not tracked; exact mode cannot be attached); descriptors and mappings that "
      "already existed are listed as 'before attach', without a stack.");
  cmd->add_option("-o,--output-dir", opts->dir,
                  "Directory for dumps, created if missing; the process must be able to write it (default: "
                  "$LEAKTRACE_DIR, else the current directory)")
      ->type_name("DIR");
  cmd->add_option("--sample", opts->sample,
                  "Mean bytes between heap samples (suffixes k, m, g; default 512k). 1 (exact) is refused")
      ->type_name("N");
  cmd->add_option("--interval", opts->interval, "Seconds between automatic snapshots; 0 disables (default: 0)")
      ->type_name("S");
  cmd->add_option("PID", opts->pid, "The process")->required();
  cmd->footer(
      "Needs ptrace permission over the process (same user and kernel.yama.ptrace_scope 0, or root / "
      "CAP_SYS_PTRACE), a dynamically linked x86-64 glibc program, and the library visible at the same path inside "
      "the process's mount namespace.\n"
      "Exit status: 0 once tracking is live; 2 when it cannot attach (one line saying why).\n"
      "Example:\n  leaktrace attach -o /tmp/lt $(pidof server)\n  leaktrace snapshot $(pidof server)");

  return [opts] {
    const pid_t pid = ParsePid(opts->pid);
    uint64_t sample = 512 * 1024;
    if (!opts->sample.empty()) {
      const std::optional<uint64_t> v = reporter::ParseSize(opts->sample);
      if (!v || *v == 0)
        throw UsageError(fmt::format("--sample: '{}' is not a size (expected e.g. 64k, 512k, 1m)", opts->sample));
      sample = *v;
    } else if (const char* env = std::getenv("LEAKTRACE_SAMPLE"); env && *env) {
      const std::optional<uint64_t> v = reporter::ParseSize(env);
      if (!v || *v == 0) throw UsageError(fmt::format("LEAKTRACE_SAMPLE={}: not a size", env));
      sample = *v;
    }
    if (sample == 1) throw UsageError(format::AttachStatusText(format::kAttachExactRefused));
    if (!opts->interval.empty() &&
        (opts->interval.size() > 9 || opts->interval.find_first_not_of("0123456789") != std::string::npos))
      throw UsageError(fmt::format("--interval: '{}' is not a whole number of seconds", opts->interval));
    if (const char* v = std::getenv("LEAKTRACE_SIGNAL"); v && *v) {
      const int sig = ParseSignal(v);
      if (!format::UsableSnapshotSignal(sig))
        throw UsageError(fmt::format("LEAKTRACE_SIGNAL={}: not a usable snapshot signal", v));
    }
    // Passed on to the library (Settings): one it would refuse loads the
    // library untracking into the service, which no later attach can undo.
    if (const char* v = std::getenv("LEAKTRACE_ON_EXIT");
        v && *v && std::strcmp(v, "0") != 0 && std::strcmp(v, "1") != 0 && std::strcmp(v, "all") != 0)
      throw UsageError(fmt::format("LEAKTRACE_ON_EXIT={}: must be 0, 1 or all", v));
    // Passed on as a plain number, the one form the library's grammar and ours share.
    uint64_t max_stacks = 0;
    if (const char* v = std::getenv("LEAKTRACE_MAX_STACKS"); v && *v) {
      const std::optional<uint64_t> n = reporter::ParseSize(v);
      if (!n || *n == 0 || *n > (uint64_t{1} << 24))
        throw UsageError(fmt::format("LEAKTRACE_MAX_STACKS={}: not a count from 1 to 16m", v));
      max_stacks = *n;
    }

    const char* env_dir = std::getenv("LEAKTRACE_DIR");
    fs::path dir = !opts->dir.empty() ? fs::path(opts->dir) : (env_dir && *env_dir ? fs::path(env_dir) : fs::current_path());
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec || !fs::is_directory(dir))
      throw UsageError(fmt::format("{}: cannot create directory: {}", dir.string(), ec ? ec.message() : "not a directory"));
    dir = fs::absolute(dir).lexically_normal();
    std::string dir_str = dir.string();
    if (dir_str.size() > 1 && dir_str.back() == '/') dir_str.pop_back();

    const Target target = Inspect(pid);
    const std::string library = FindPreloadLibrary();
    CheckLibraryVisible(pid, library);
    const std::optional<uint64_t> attach_offset = attach::DynamicSymbol(library, format::kAttachFunction);
    if (!attach_offset) throw UsageError(fmt::format("{}: no {} (an older library?)", library, format::kAttachFunction));

    // dlopen is libc's since glibc 2.34, libdl's before.
    std::optional<uint64_t> dlopen_fn, dlerror_fn;
    for (const char* module : {"libc.so.", "libdl.so."}) {
      std::optional<ProcessModule> m = attach::FindModule(target.modules, module);
      if (!m || dlopen_fn) continue;
      dlopen_fn = attach::FunctionAddress(*m, "dlopen");
      dlerror_fn = attach::FunctionAddress(*m, "dlerror");
    }
    if (!dlopen_fn)
      throw UsageError(fmt::format("process {} ({}) has no dlopen (glibc older than 2.34 without libdl loaded); "
                                   "leaktrace cannot attach to it",
                                   pid, target.program));

    BorrowedThread thread = BorrowedThread::Borrow(pid, kPatienceMs);
    const uint64_t path_at = thread.PushString(library);
    const uint64_t settings_at = thread.PushString(Settings(dir_str, sample, opts->interval, max_stacks));
    const uint64_t handle = thread.Call(*dlopen_fn, {path_at, RTLD_NOW | RTLD_LOCAL});
    if (handle == 0) {
      std::string why = "unknown reason";
      if (dlerror_fn) {
        const uint64_t message = thread.Call(*dlerror_fn, {});
        if (message != 0) why = thread.ReadString(message, 512);
      }
      thread.Release();
      throw UsageError(fmt::format("process {} could not load {}: {}", pid, library, why));
    }
    // glibc's handle is the module's link_map, whose first field is its load bias.
    const uint64_t bias = thread.ReadWord(handle);
    const int status = static_cast<int>(thread.Call(bias + *attach_offset, {settings_at}));
    const pid_t tid = thread.tid();
    const double away = thread.Release();
    if (status != format::kAttachTracking)
      throw UsageError(fmt::format("process {} ({}): {}", pid, target.program, format::AttachStatusText(status)));
    fmt::print("attached to process {} ({}): {}, fds and mappings exact; snapshots into {}; thread {} was stopped "
               "for {:.1f} ms\n",
               pid, target.program, SamplingText(sample), dir_str, tid, away * 1e3);
    return kExitOk;
  };
}

}  // namespace leaktrace::cli
