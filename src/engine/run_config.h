#pragma once
/// \file
/// What `carlo run` runs: a plain, validated configuration (the command line builds it).
#include "engine/shared_data.h"

#include <carlo/simulation.h>

#include <optional>
#include <string>
#include <vector>

namespace carlo::engine {

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

}  // namespace carlo::engine
