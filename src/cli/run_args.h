#pragma once
/// \file
/// `carlo run`'s command line: options (and an INI config file) into an engine::RunConfig.
#include "cli/cli.h"
#include "engine/plugins.h"
#include "engine/run_config.h"

#include <carlo/simulation.h>

#include <optional>
#include <string>
#include <vector>

namespace carlo::cli {

/// What parsing decided: run, or print help (already formatted) and exit 0.
struct ParsedRun {
  std::optional<engine::RunConfig> config;
  std::string help;
  bool quiet = false;          ///< --quiet: no progress, notes or closing lines
  double progress_every = 10;  ///< seconds between progress lines when not on a terminal
};

/// Every option name `carlo run` has, long and one-letter short ones, without dashes, read off
/// the options it declares: a simulation (a plugin above all) may not declare any of them, since
/// Boost would then refuse every run with "option is ambiguous". Give them to the Registry.
std::vector<std::string> run_option_names();

/// Parses `carlo run` arguments (args[0] == "run"), loading plugins into `registry` first so their
/// simulations and options are known. Throws InputError on bad usage or values.
ParsedRun parse_run_args(const Args& args, Registry& registry, engine::PluginSet& plugins);

}  // namespace carlo::cli
