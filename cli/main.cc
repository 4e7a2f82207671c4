// The leaktrace command: parse arguments, run one command, map every failure
// to an exit code and one line on stderr. Nothing escapes main.
#include <algorithm>
#include <cstdio>
#include <iterator>
#include <memory>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <pthread.h>
#include <sys/resource.h>

#include "cli/commands.h"
#include "cli/errors.h"
#include "format/dump_reader.h"
#include "reporter/load.h"
#include "reporter/suppressions.h"

#ifndef LEAKTRACE_VERSION
#define LEAKTRACE_VERSION "unknown"
#endif

namespace {

using namespace leaktrace;

const char* const kCommands[] = {"run", "attach", "snapshot", "report", "diff", "check", "trend", "export"};

// Help that shows what a user types, not the parser's types: "--timeout S=30",
// "PID" (not "S:POSITIVE=30", "PID TEXT REQUIRED").
class Formatter : public CLI::Formatter {
 public:
  std::string make_option_opts(const CLI::Option* opt) const override {
    std::string out;
    if (opt->get_type_size() != 0) {
      std::string type = opt->get_type_name();
      // "TEXT:{text,json}" (a CLI::IsMember check) reads "text|json".
      if (size_t brace = type.find(":{"); brace != std::string::npos && type.back() == '}') {
        type = type.substr(brace + 2, type.size() - brace - 3);
        std::replace(type.begin(), type.end(), ',', '|');
      }
      if (type == "TEXT" || type == "INT" || type == "UINT" || type == "FLOAT" || type == "NUMBER") type.clear();
      if (!type.empty()) out += " " + type;
      if (!opt->get_default_str().empty()) out += "=" + opt->get_default_str();
      if (opt->get_expected_max() == CLI::detail::expected_max_vector_size) out += " ...";
    }
    return out;
  }
  std::string make_usage(const CLI::App* app, std::string name) const override {
    // CLI11 cannot say that CMD comes after "--".
    if (app->get_name() == "run") return "Usage: leaktrace run [OPTIONS] -- CMD [ARGS...]\n";
    return CLI::Formatter::make_usage(app, std::move(name));
  }
};

// The contract promises one line: flatten whatever a library put in a message.
void PrintError(const std::string& message) {
  std::string line = message;
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  while (!line.empty() && line.back() == ' ') line.pop_back();
  std::fprintf(stderr, "leaktrace: %s\n", line.c_str());
}

int Main(int argc, char** argv) {
  CLI::App app{"leaktrace: find what leaks (heap, mappings, file descriptors, threads) in a running Linux service, and from where.",
               "leaktrace"};
  app.formatter(std::make_shared<Formatter>());  // before the commands: they inherit it
  app.set_version_flag("-V,--version", "leaktrace " LEAKTRACE_VERSION);

  // "leaktrace help [COMMAND]" is "leaktrace [COMMAND] --help"; an unknown
  // command is named as such (not as an unexpected argument).
  std::vector<std::string> args(argv, argv + argc);
  if (args.size() >= 2 && args[1] == "help") {
    args.erase(args.begin() + 1);
    if (args.size() > 2) args.resize(2);
    args.push_back("--help");
  }
  if (args.size() >= 2 && !args[1].empty() && args[1][0] != '-' &&
      std::find(std::begin(kCommands), std::end(kCommands), args[1]) == std::end(kCommands)) {
    PrintError("unknown command '" + args[1] + "' (commands: run, attach, snapshot, report, diff, check, trend, export); see "
               "'leaktrace --help'");
    return cli::kExitUsage;
  }
  std::vector<char*> new_argv;
  for (std::string& a : args) new_argv.push_back(a.data());
  // At most one command; "none" is reported below, so that an unknown option
  // is named as such rather than as a missing command.
  app.require_subcommand(0, 1);
  app.footer(
      "Exit status: 0 success; 1 a check failed or a wait timed out; 2 bad usage or unreadable input.\n"
      "Run 'leaktrace COMMAND --help' (or 'leaktrace help COMMAND') for a command's options.\n"
      "Example:\n  leaktrace run -- ./server &\n  leaktrace snapshot $!");

  const std::vector<std::pair<std::string, cli::Action>> commands = {
      {"run", cli::AddRunCommand(app)},
      {"attach", cli::AddAttachCommand(app)},
      {"snapshot", cli::AddSnapshotCommand(app)},
      {"report", cli::AddReportCommand(app)},
      {"diff", cli::AddDiffCommand(app)},
      {"check", cli::AddCheckCommand(app)},
      {"trend", cli::AddTrendCommand(app)},
      {"export", cli::AddExportCommand(app)},
  };

  try {
    app.parse(static_cast<int>(new_argv.size()), new_argv.data());
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version: print to stdout
    std::string help = "leaktrace --help";
    for (const auto& [name, action] : commands)
      if (app.get_subcommand(name)->parsed()) help = "leaktrace " + name + " --help";
    std::string hint;
    // "leaktrace run server --port 80": the command's options need a "--"
    // first; so does one whose option is also run's ("leaktrace run -o d ls
    // -o /dev/null": "--output-dir: At Most 1 required but received 2").
    bool has_separator = false;
    for (int i = 1; i < argc; ++i) has_separator = has_separator || std::string_view(argv[i]) == "--";
    if (help == "leaktrace run --help" && (dynamic_cast<const CLI::ExtrasError*>(&e) || !has_separator))
      hint = "; put the command after '--'";
    PrintError(std::string(e.what()) + hint + " (see '" + help + "')");
    return cli::kExitUsage;
  }
  for (const auto& [name, action] : commands)
    if (app.get_subcommand(name)->parsed()) return action();
  PrintError("a command is required (run, attach, snapshot, report, diff, check, trend, export); see 'leaktrace --help'");
  return cli::kExitUsage;
}

}  // namespace

static int RunCommand(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const cli::CliError& e) {
    PrintError(e.what());
    return e.code();
  } catch (const format::DumpError& e) {
    PrintError(e.what());  // already names the file
    return cli::kExitUsage;
  } catch (const reporter::InputError& e) {
    PrintError(e.what());  // already names the file(s)
    return cli::kExitUsage;
  } catch (const reporter::SuppressionError& e) {
    PrintError(e.what());  // already names the file and line
    return cli::kExitUsage;
  } catch (const std::bad_alloc&) {
    PrintError("out of memory");
    return cli::kExitUsage;
  } catch (const std::exception& e) {
    PrintError(std::string("internal error: ") + e.what());
    return cli::kExitUsage;
  } catch (...) {
    PrintError("internal error");
    return cli::kExitUsage;
  }
}

// Symbolizing reads DWARF line tables through libdw, whose parser takes
// large stack frames: under a small stack limit (`ulimit -s 128`, set in a
// shell for the program under test) `leaktrace report` died of SIGSEGV.
// Under a limit below 8 MiB the command runs on a thread of its own with a
// 64 MiB stack (a thread's default stack follows the limit too); the
// programs `run` starts keep the limit they were given.
int main(int argc, char** argv) {
  constexpr rlim_t kEnough = rlim_t{8} << 20;
  rlimit stack{};
  if (getrlimit(RLIMIT_STACK, &stack) != 0 || stack.rlim_cur == RLIM_INFINITY || stack.rlim_cur >= kEnough)
    return RunCommand(argc, argv);
  struct Call {
    int argc;
    char** argv;
    int code;
  } call{argc, argv, 0};
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, size_t{64} << 20);
  pthread_t thread;
  const int started = pthread_create(
      &thread, &attr,
      [](void* arg) -> void* {
        auto* c = static_cast<Call*>(arg);
        c->code = RunCommand(c->argc, c->argv);
        return nullptr;
      },
      &call);
  pthread_attr_destroy(&attr);
  if (started != 0) return RunCommand(argc, argv);
  pthread_join(thread, nullptr);
  return call.code;
}
