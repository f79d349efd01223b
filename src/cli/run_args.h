#pragma once
/// \file
/// `carlo run`'s command line: options (and an INI config file) into an engine::RunConfig.
#include "cli/cli.h"
#include "engine/plugins.h"
#include "engine/run_config.h"

#include <carlo/simulation.h>

#include <optional>
#include <string>

namespace carlo::cli {

/// What parsing decided: run, or print help (already formatted) and exit 0.
struct ParsedRun {
  std::optional<engine::RunConfig> config;
  std::string help;
};

/// Parses `carlo run` arguments (args[0] == "run"), loading plugins into `registry` first so their
/// simulations and options are known. Throws InputError on bad usage or values.
ParsedRun parse_run_args(const Args& args, Registry& registry, engine::PluginSet& plugins);

}  // namespace carlo::cli
