// Each command registers its options on the top-level app and returns the
// action main runs when parsing selected it. Actions return the exit code or
// throw (CliError, format::DumpError, reporter::SuppressionError).
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace leaktrace::cli {

using Action = std::function<int()>;

Action AddRunCommand(CLI::App& app);
Action AddAttachCommand(CLI::App& app);
Action AddSnapshotCommand(CLI::App& app);
Action AddReportCommand(CLI::App& app);
Action AddDiffCommand(CLI::App& app);
Action AddCheckCommand(CLI::App& app);
Action AddTrendCommand(CLI::App& app);
Action AddExportCommand(CLI::App& app);

}  // namespace leaktrace::cli
