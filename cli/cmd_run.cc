// leaktrace run [-o DIR] [--sample N] [--interval S] -- CMD ARGS...
// Runs CMD with the library preloaded, passes on the signals a supervisor
// sends (SIGTERM, SIGHUP, SIGUSR1 ...: kForwardedSignals), exits
// with CMD's status and lists the dumps it wrote; with --interval, also the
// trend of each process's series (run_trend.h).
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/dump_files.h"
#include "cli/errors.h"
#include "cli/untracked_program.h"
#include "cli/library_path.h"
#include "cli/run_trend.h"
#include "cli/signals.h"
#include "format/snapshot_signal.h"
#include "reporter/sizes.h"

extern char** environ;

namespace leaktrace::cli {

namespace {

namespace fs = std::filesystem;

// What a user or a supervisor sends to the program it started, whose pid is
// this wrapper's (`$!`, systemd's MAINPID): stop (SIGINT, SIGTERM, SIGQUIT),
// reload (SIGHUP), reopen logs or the like (SIGUSR1, SIGUSR2, SIGALRM, and
// the real-time signals, added by ForwardedSignals). At their default
// action, any of these would end the wrapper alone and leave the program
// running, orphaned. And the job-control signals programs give meanings of
// their own: gunicorn adds and removes workers on SIGTTIN and SIGTTOU,
// nginx's master stops its workers on SIGWINCH; at their default action
// they stopped the wrapper (or did nothing), and a stopped wrapper passed
// on no later SIGTERM: supervisorctl's stop then killed it and left the
// program running. SIGTSTP and SIGCONT go along, so a supervisor's pause
// and resume reach the program too.
constexpr int kForwardedSignals[] = {SIGINT,  SIGTERM, SIGHUP,  SIGQUIT,  SIGUSR1, SIGUSR2,
                                     SIGALRM, SIGTTIN, SIGTTOU, SIGWINCH, SIGTSTP, SIGCONT};

sigset_t ForwardedSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : kForwardedSignals) sigaddset(&set, sig);
  for (int sig = SIGRTMIN; sig <= SIGRTMAX; ++sig) sigaddset(&set, sig);
  return set;
}

volatile sig_atomic_t g_child = 0;

// Stops this process by `sig` at its default action, from its handler, then
// puts the handler back once continued: the shell that waits for the job
// sees it stopped by the signal the terminal sent (status 128 + SIGTSTP
// after Ctrl-Z, as without leaktrace; a SIGSTOP read 147), and in an
// orphaned process group, where the kernel discards these signals' default
// action, nothing stops, as without leaktrace. Async-signal-safe.
void StopAsByDefault(int sig) {
  struct sigaction by_default = {}, ours = {};
  by_default.sa_handler = SIG_DFL;
  sigemptyset(&by_default.sa_mask);
  sigaction(sig, &by_default, &ours);
  sigset_t just_sig, before;
  sigemptyset(&just_sig);
  sigaddset(&just_sig, sig);
  sigprocmask(SIG_UNBLOCK, &just_sig, &before);  // blocked while its handler runs
  raise(sig);                                    // stops here until SIGCONT
  sigprocmask(SIG_SETMASK, &before, nullptr);
  sigaction(sig, &ours, nullptr);
}

void Forward(int sig, siginfo_t* info, void*) {
  // A terminal sends SIGINT/SIGQUIT/SIGHUP (and SIGWINCH) to the whole
  // foreground process group, child included; passing those on would
  // deliver them twice. Its job control (Ctrl-Z, a background job's read or
  // write) stops the child itself; the wrapper stops as its default action
  // would, so the shell sees the job stopped.
  if (info && info->si_code == SI_KERNEL) {
    if (sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) StopAsByDefault(sig);
    return;
  }
  if (g_child > 0) kill(static_cast<pid_t>(g_child), sig);
}

// LD_PRELOAD's entries (colon or space separated) but those naming another
// libleaktrace (an installed copy, another build): the run's own goes first,
// and a second copy would track the program again (a newer copy stays out
// by itself, an older one would not).
std::string PreloadWithoutOtherCopies(const char* preload) {
  std::string kept;
  if (preload == nullptr) return kept;
  const std::string all = preload;
  for (size_t i = 0; i < all.size();) {
    const size_t end = all.find_first_of(": ", i);
    const std::string entry = all.substr(i, end == std::string::npos ? std::string::npos : end - i);
    i = end == std::string::npos ? all.size() : end + 1;
    if (entry.empty()) continue;
    const std::string base = entry.substr(entry.rfind('/') == std::string::npos ? 0 : entry.rfind('/') + 1);
    if (base.rfind("libleaktrace", 0) == 0) continue;
    kept += (kept.empty() ? "" : ":") + entry;
  }
  return kept;
}

// KEY=VALUE entries of our environment with `overrides` replacing or adding.
std::vector<std::string> BuildEnvironment(const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string entry = *e;
    bool replaced = false;
    for (const auto& [key, value] : overrides)
      if (entry.compare(0, key.size() + 1, key + "=") == 0) replaced = true;
    if (!replaced) env.push_back(std::move(entry));
  }
  for (const auto& [key, value] : overrides) env.push_back(key + "=" + value);
  return env;
}

// The library's own grammar (preload/internal/config.cc, ParseSize), so a
// setting it would reject (and then leave the program untracked) is refused
// before the run. The value (`k` 1024, `m` 1024², `g` 1024³), or 0 when
// malformed.
uint64_t LibrarySize(const std::string& s) {
  uint64_t v = 0;
  size_t i = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    if (v > (uint64_t{1} << 40)) return 0;
    v = v * 10 + static_cast<uint64_t>(s[i] - '0');
  }
  if (i == 0) return 0;
  int shift = 0;
  if (i < s.size() && (s[i] == 'k' || s[i] == 'K')) shift = 10, ++i;
  else if (i < s.size() && (s[i] == 'm' || s[i] == 'M')) shift = 20, ++i;
  else if (i < s.size() && (s[i] == 'g' || s[i] == 'G')) shift = 30, ++i;
  return i == s.size() ? v << shift : 0;
}

bool WholeSeconds(const std::string& s) {
  return !s.empty() && s.size() <= 9 && s.find_first_not_of("0123456789") == std::string::npos;
}

// Every LEAKTRACE_* setting in our environment that the program inherits;
// a malformed one is a usage error naming it (the library would print a
// line and track nothing).
void ValidateInheritedSettings() {
  auto get = [](const char* key) -> std::string {
    const char* v = std::getenv(key);
    return v ? v : "";
  };
  auto bad = [](const char* key, const std::string& value, const char* expected) {
    throw UsageError(fmt::format("{}={}: {} (the program would run untracked)", key, value, expected));
  };
  if (std::string v = get("LEAKTRACE_SAMPLE"); !v.empty() && !LibrarySize(v))
    bad("LEAKTRACE_SAMPLE", v, "not a size (expected e.g. 1, 64k, 512k, 1m)");
  if (std::string v = get("LEAKTRACE_SIGNAL"); !v.empty()) {
    const int sig = ParseSignal(v);
    if (!format::UsableSnapshotSignal(sig))
      bad("LEAKTRACE_SIGNAL", v,
          "not a usable snapshot signal (expected e.g. SIGUSR2, SIGRTMIN+3, 12, or 0 to disable; not one the "
          "system sends by itself, such as SIGCHLD, nor a fault signal)");
  }
  if (std::string v = get("LEAKTRACE_MAX_STACKS"); !v.empty() && (LibrarySize(v) == 0 || LibrarySize(v) > (1u << 24)))
    bad("LEAKTRACE_MAX_STACKS", v, "not a count from 1 to 16m (expected e.g. 65536, 64k, 1m)");
  if (std::string v = get("LEAKTRACE_INTERVAL"); !v.empty() && !WholeSeconds(v))
    bad("LEAKTRACE_INTERVAL", v, "not a whole number of seconds");
  if (std::string v = get("LEAKTRACE_PROGRAMS"); v.size() >= 1024)
    bad("LEAKTRACE_PROGRAMS", v.substr(0, 40) + "...", "longer than 1023 bytes");
  else if (!v.empty() && v.find_first_not_of(',') == std::string::npos)
    bad("LEAKTRACE_PROGRAMS", v, "names no program");
  if (std::string v = get("LEAKTRACE_ON_EXIT"); !v.empty() && v != "0" && v != "1" && v != "all")
    bad("LEAKTRACE_ON_EXIT", v, "must be 0, 1 or all");
  if (std::string v = get("LEAKTRACE_FOLLOW_EXEC"); !v.empty() && v != "0" && v != "1")
    bad("LEAKTRACE_FOLLOW_EXEC", v, "must be 0 or 1");
  if (std::string v = get("LEAKTRACE_VERBOSE"); !v.empty() && v != "0" && v != "1" && v != "first")
    bad("LEAKTRACE_VERBOSE", v, "must be 0, 1 or first");
}

// A LEAKTRACE_* name in our environment that is none of the library's
// settings nor a tool's: a warning on our stderr (not the program's), with
// the setting it most likely meant. A misspelled setting (LEAKTRACE_DUMP_ON_EXIT
// for LEAKTRACE_ON_EXIT) is otherwise silently ignored. Not an error: the
// build and test scripts keep names of their own in the environment.
void WarnOfUnknownSettings() {
  static constexpr const char* kLibrarySettings[] = {
      "LEAKTRACE_DIR",       "LEAKTRACE_SAMPLE",      "LEAKTRACE_SIGNAL",   "LEAKTRACE_INTERVAL",
      "LEAKTRACE_ON_EXIT",   "LEAKTRACE_FOLLOW_EXEC", "LEAKTRACE_PROGRAMS", "LEAKTRACE_VERBOSE",
      "LEAKTRACE_MAX_STACKS"};
  // The tools' own: the CLI's, and the build's, tests' and benchmarks'.
  static constexpr const char* kToolNames[] = {
      "LEAKTRACE_LIBRARY", "LEAKTRACE_PROGRESS_DELAY", "LEAKTRACE_SKIP_ASAN", "LEAKTRACE_SANITIZE",
      "LEAKTRACE_PYTHON",  "LEAKTRACE_BASH",           "LEAKTRACE_GO",        "LEAKTRACE_JEMALLOC",
      "LEAKTRACE_BINARY",  "LEAKTRACE_UNWINDER_DIR"};
  static constexpr const char* kToolPrefixes[] = {"LEAKTRACE_BUILD_", "LEAKTRACE_TEST_", "LEAKTRACE_BENCH_",
                                                  "LEAKTRACE_RW_",    "LEAKTRACE_FUZZ",  "LEAKTRACE_ASAN_",
                                                  "LEAKTRACE_CMAKE_"};
  for (char** e = environ; e && *e; ++e) {
    const std::string entry = *e;
    if (entry.rfind("LEAKTRACE_", 0) != 0) continue;
    const std::string name = entry.substr(0, entry.find('='));
    auto is = [&](const char* known) { return name == known; };
    auto starts = [&](const char* prefix) { return name.rfind(prefix, 0) == 0; };
    if (std::any_of(std::begin(kLibrarySettings), std::end(kLibrarySettings), is) ||
        std::any_of(std::begin(kToolNames), std::end(kToolNames), is) ||
        std::any_of(std::begin(kToolPrefixes), std::end(kToolPrefixes), starts))
      continue;
    // The setting whose own part ("ON_EXIT") the name holds, or that holds
    // the name's ("SAMPLE" in "LEAKTRACE_SAMPLES" does not: "SAMPLES" holds it).
    std::string meant;
    const std::string part = name.substr(std::strlen("LEAKTRACE_"));
    for (const char* known : kLibrarySettings) {
      const std::string known_part = std::string(known).substr(std::strlen("LEAKTRACE_"));
      if (!part.empty() && (part.find(known_part) != std::string::npos || known_part.find(part) != std::string::npos))
        meant = known;
    }
    std::fprintf(stderr, "leaktrace: warning: %s is not a leaktrace setting, and is ignored%s\n", name.c_str(),
                 meant.empty() ? " (the settings: leaktrace run --help)" : (" (did you mean " + meant + "?)").c_str());
  }
}

}  // namespace

Action AddRunCommand(CLI::App& app) {
  struct Options {
    std::string dir;
    std::string sample;
    std::string interval;
    std::vector<std::string> only;
    std::vector<std::string> command;
  };
  auto opts = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "run",
      "Run CMD with libleaktrace.so preloaded (prepended to any LD_PRELOAD, which loses any other libleaktrace it names), passing on SIGINT, SIGTERM, SIGHUP, "
      "SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGTTIN, SIGTTOU, SIGWINCH, SIGTSTP, SIGCONT and the real-time signals. Exits with CMD's exit status (128+N if it was killed by signal N) and lists the dumps it wrote on "
      "stderr. With --interval S (S > 0), after CMD exits it also prints on stderr the trend (as 'leaktrace trend' "
      "shows it) of every process that wrote three or more snapshots, or one line saying none did. The library is $LEAKTRACE_LIBRARY, else the one from the build tree, else "
      "<bindir>/../lib/leaktrace/libleaktrace.so.");
  cmd->add_option("-o,--output-dir", opts->dir,
                  "Directory for dumps, created if missing (default: $LEAKTRACE_DIR, else the current directory)")
      ->type_name("DIR");
  cmd->add_option("--sample", opts->sample,
                  "Mean bytes between heap samples (suffixes k, m, g); 1 records every allocation exactly "
                  "(default: the library's, 512k)")
      ->type_name("N");
  cmd->add_option("--interval", opts->interval,
                  "Seconds between automatic snapshots; 0 disables (default: 0). Counted in each process from "
                  "leaktrace's thread there, which starts at its first wait in poll, sleep and the like, or its first "
                  "tracked event after 100 ms. When S > 0, the trend of the series is printed on stderr after CMD "
                  "exits")
      ->type_name("S");
  cmd->add_option("--only", opts->only,
                  "Track only programs whose name matches NAME (a glob: python3*, redis-server; repeatable). The "
                  "others (a launcher, the shell a pyenv shim runs) pass the library on and write nothing. Sets "
                  "LEAKTRACE_PROGRAMS")
      ->type_name("NAME")
      ->allow_extra_args(false);  // one name per --only (repeat it): "--only a -- CMD" leaves CMD alone
  // After "--" everything is CMD's, options included (CLI11 stops there).
  cmd->add_option("CMD", opts->command, "The program and its arguments, after --")->required()->type_name("");
  cmd->footer(
      "On start, run says the program's pid on stderr; 'leaktrace snapshot' takes that pid or run's own ($!).\n"
      "Each tracked process says on stderr what it tracks, where its dumps go and its snapshot signal\n"
      "(run sets LEAKTRACE_VERBOSE=first: the program it starts says it, not what that program runs; "
      "set LEAKTRACE_VERBOSE=0 to silence it, 1 for every process).\n"
      "LEAKTRACE_* settings in the environment are checked first: a malformed one is an error (exit 2); an unknown "
      "LEAKTRACE_* name (a misspelling) gets a warning.\n"
      "Each process writes an exit dump when it exits normally, except fork children that never exec'd and exit\n"
      "within 1 s of their fork (LEAKTRACE_ON_EXIT=all: those too; LEAKTRACE_ON_EXIT=0: none). A process that\n"
      "ends in _exit (dash does) writes none: use --interval or 'leaktrace snapshot' while it runs.\n"
      "A process that takes SIGUSR2 for itself is snapshot on another signal ('leaktrace snapshot' finds it).\n"
      "Exit status: the program's own (128+N if it was killed by signal N); 2 if it could not be started.\n"
      "Example:\n  leaktrace run -o /tmp/lt --interval 10 -- ./server --port 8080\n"
      "  leaktrace run --only 'python3*' -- python3 app.py   # not the pyenv shim in front of it");

  return [opts] {
    std::vector<std::pair<std::string, std::string>> overrides;
    // Options replace the environment's settings; check what is left of it.
    if (!opts->sample.empty()) unsetenv("LEAKTRACE_SAMPLE");
    if (!opts->interval.empty()) unsetenv("LEAKTRACE_INTERVAL");
    if (!opts->only.empty()) unsetenv("LEAKTRACE_PROGRAMS");
    ValidateInheritedSettings();
    WarnOfUnknownSettings();

    std::string library = FindPreloadLibrary();
    const std::string old_preload = PreloadWithoutOtherCopies(std::getenv("LD_PRELOAD"));
    overrides.emplace_back("LD_PRELOAD", old_preload.empty() ? library : library + ":" + old_preload);

    // The library resolves a relative LEAKTRACE_DIR against the program's own
    // working directory; make it absolute so dumps land where we look.
    const char* env_dir = std::getenv("LEAKTRACE_DIR");
    fs::path dir = !opts->dir.empty() ? fs::path(opts->dir) : (env_dir && *env_dir ? fs::path(env_dir) : fs::current_path());
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec || !fs::is_directory(dir)) throw UsageError(fmt::format("{}: cannot create directory: {}", dir.string(), ec ? ec.message() : "not a directory"));
    dir = fs::absolute(dir).lexically_normal();
    if (access(dir.c_str(), W_OK) != 0)
      throw UsageError(fmt::format("{}: not writable: {}", dir.string(), std::strerror(errno)));
    std::string dir_str = dir.string();
    if (dir_str.size() > 1 && dir_str.back() == '/') dir_str.pop_back();
    overrides.emplace_back("LEAKTRACE_DIR", dir_str);

    if (!opts->sample.empty()) {
      std::optional<uint64_t> sample = reporter::ParseSize(opts->sample);
      if (!sample || *sample == 0)
        throw UsageError(fmt::format("--sample: '{}' is not a size (expected e.g. 1, 64k, 512k, 1m)", opts->sample));
      overrides.emplace_back("LEAKTRACE_SAMPLE", std::to_string(*sample));
    }
    unsigned long interval = 0;
    if (!opts->interval.empty()) {
      // The library takes whole seconds.
      const std::string& s = opts->interval;
      if (!WholeSeconds(s))
        throw UsageError(fmt::format("--interval: '{}' is not a whole number of seconds", s));
      interval = std::stoul(s);
      overrides.emplace_back("LEAKTRACE_INTERVAL", std::to_string(interval));
    }

    if (!opts->only.empty()) {
      std::string programs;
      for (const std::string& name : opts->only) {
        if (name.empty() || name.find(',') != std::string::npos)
          throw UsageError(fmt::format("--only: '{}' is not a program name or glob (no commas)", name));
        programs += (programs.empty() ? "" : ",") + name;
      }
      if (programs.size() >= 1024) throw UsageError("--only: the names come to more than 1023 bytes");
      overrides.emplace_back("LEAKTRACE_PROGRAMS", programs);
    }

    // The library's one start line (mode, dump folder, signal) tells the user
    // it is there and what it does; a LEAKTRACE_VERBOSE of their own wins.
    if (!std::getenv("LEAKTRACE_VERBOSE")) overrides.emplace_back("LEAKTRACE_VERBOSE", "first");

    std::vector<std::string> env = BuildEnvironment(overrides);
    std::vector<char*> envp;
    for (std::string& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<char*> argv;
    for (std::string& a : opts->command) argv.push_back(a.data());
    argv.push_back(nullptr);

    // Block the forwarded signals until the handler knows the child's pid;
    // the child starts with them unblocked and at their defaults.
    sigset_t forwarded = ForwardedSignals(), old_mask;
    sigprocmask(SIG_BLOCK, &forwarded, &old_mask);

    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &old_mask);
    posix_spawnattr_setsigdefault(&attr, &forwarded);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    // Dumps already there are not this run's (names carry pids, which repeat).
    std::map<std::string, int64_t> existing;
    for (const DumpFile& f : ListDumps(dir_str)) existing.emplace(f.path, f.mtime_ns);
    // A program the loader will not give the library: said now, not only as
    // "no dumps were written" at the end (what it starts may still be tracked).
    if (const std::optional<std::string> why = WhyUntracked(opts->command[0]))
      std::fprintf(stderr, "leaktrace: warning: %s; nothing of it is tracked\n", why->c_str());
    pid_t child = 0;
    const auto started_at = std::chrono::steady_clock::now();
    // glibc's posix_spawnp reports exec failures (ENOENT, EACCES) here.
    int err = posix_spawnp(&child, argv[0], nullptr, &attr, argv.data(), envp.data());
    if (err == ENOEXEC) {
      // An executable file the kernel cannot run (a script without "#!"):
      // as a shell, env, timeout or nohup (execvp) do, run it with /bin/sh.
      std::vector<char*> by_shell = {const_cast<char*>("/bin/sh")};
      by_shell.insert(by_shell.end(), argv.begin(), argv.end());
      err = posix_spawn(&child, "/bin/sh", nullptr, &attr, by_shell.data(), envp.data());
    }
    posix_spawnattr_destroy(&attr);
    if (err != 0) {
      sigprocmask(SIG_SETMASK, &old_mask, nullptr);
      throw UsageError(fmt::format("{}: cannot run: {}", opts->command[0], std::strerror(err)));
    }

    g_child = child;
    // So that `leaktrace run -- ./server &` users can snapshot the program
    // (`leaktrace snapshot` also accepts this wrapper's own pid, $!).
    std::fprintf(stderr, "leaktrace: %s started as pid %d, dumps in %s\n", opts->command[0].c_str(),
                 static_cast<int>(child), dir_str.c_str());
    struct sigaction sa {};
    sa.sa_sigaction = Forward;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (int sig = 1; sig < NSIG; ++sig)
      if (sigismember(&forwarded, sig) == 1) sigaction(sig, &sa, nullptr);
    sigprocmask(SIG_SETMASK, &old_mask, nullptr);

    int status = 0;
    while (waitpid(child, &status, 0) < 0) {
      if (errno != EINTR) throw CliError(kExitUsage, fmt::format("waiting for {}: {}", opts->command[0], std::strerror(errno)));
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
    // The shell that started `run` sees the wrapper exit, not the program
    // die: it would print nothing of a crash ("Segmentation fault" when
    // plain). Said here, as a shell says it.
    if (WIFSIGNALED(status) && WTERMSIG(status) != SIGINT && WTERMSIG(status) != SIGPIPE)
      std::fprintf(stderr, "leaktrace: %s was killed by signal %d (%s)%s\n", opts->command[0].c_str(), WTERMSIG(status),
                   strsignal(WTERMSIG(status)), WCOREDUMP(status) ? ", core dumped" : "");

    // Everything written during the run (the child's and its forked children's).
    std::vector<DumpFile> written;
    for (DumpFile& f : ListDumps(dir_str))
      if (auto it = existing.find(f.path); it == existing.end() || it->second != f.mtime_ns) {
        std::fprintf(stderr, "leaktrace: dump %s\n", f.path.c_str());
        written.push_back(std::move(f));
      }
    if (written.empty()) std::fprintf(stderr, "leaktrace: no dumps were written to %s\n", dir_str.c_str());
    // A series was asked for: judge it. On stderr, like the list above, so the
    // program's stdout stays its own; the exit status stays the program's.
    if (interval > 0)
      PrintRunTrends(written, child, interval,
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at).count());
    return code;
  };
}

}  // namespace leaktrace::cli
