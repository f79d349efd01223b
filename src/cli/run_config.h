#pragma once
/// \file
/// `carlo run`'s options, parsed and validated into a plain struct before anything runs.
#include "cli/cli.h"
#include "cli/shared_data.h"

#include <carlo/simulation.h>

#include <optional>
#include <string>
#include <vector>

namespace carlo::cli {

struct TargetSpec {
  std::string observation;
  double value = 0;
  bool relative = false;  ///< "NAME=0.1%": stderr at most 0.1% of |mean|
};

struct RunConfig {
  std::string sim;
  std::string data;  ///< "" when the simulation takes none
  std::string group = "/";
  std::uint64_t tasks = 0;
  std::uint64_t first_task =
      0;  ///< --task-range A:B runs tasks [A, B) of the `tasks` (default all)
  std::uint64_t end_task = 0;
  std::uint64_t seed = 0;
  std::string output;
  bool force = false;
  std::uint64_t batch = 0;  ///< 0 = auto
  std::uint32_t max_retries = 3;
  double task_timeout = 0;
  std::optional<TargetSpec> target;
  std::uint64_t check_every = 1000;
  double progress_every = 10;
  bool quiet = false;
  ShareMode share = ShareMode::window;
  std::vector<std::string> plugins;
  bool resume = false;
  double checkpoint_every = 60;
  std::uint32_t max_crashes = 2;
  OptionValues sim_options;
  /// Every option that shapes the results, name=value, for provenance (and resume checks).
  std::vector<std::pair<std::string, std::string>> provenance;
};

/// What parsing decided: run, or print help (already formatted) and exit 0.
struct ParsedRun {
  std::optional<RunConfig> config;
  std::string help;
};

/// Parses `carlo run` arguments (args[0] == "run"), loading plugins into `registry` first so their
/// simulations and options are known. Throws InputError on bad usage or values.
ParsedRun parse_run_args(const Args& args, Registry& registry, class PluginSet& plugins);

/// Shared libraries holding users' simulations, loaded with dlopen and kept open for the
/// process's life (the registry refers to their code).
class PluginSet {
 public:
  PluginSet() = default;
  PluginSet(const PluginSet&) = delete;
  PluginSet& operator=(const PluginSet&) = delete;
  ~PluginSet();
  /// Loads `path` and registers its simulations. A file loaded already, under this or another
  /// name (a link, a relative path), is skipped. Refuses a library without carlo's entry points
  /// or built against another plugin ABI, naming the file and both versions, and a simulation
  /// name carlo or an earlier plugin has, naming the plugin that registered it first.
  void load(const std::string& path, Registry& registry);
  /// The absolute path of the library that registered simulation `sim`; nullptr for carlo's own.
  const std::string* file_of(const std::string& sim) const;

 private:
  struct Loaded {
    std::string file;  ///< absolute path, as first given
    std::vector<std::string> sims;
  };
  std::vector<void*> handles_;
  std::vector<Loaded> loaded_;
};

}  // namespace carlo::cli
