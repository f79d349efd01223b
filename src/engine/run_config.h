#pragma once
/// \file
/// What `carlo run` runs: a plain, validated configuration. The command line builds it
/// (src/cli/run_args.cpp); nothing here knows about option syntax or printing.
#include "engine/shared_data.h"

#include <carlo/simulation.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace carlo::engine {

/// The most tasks a run may have. The results file holds every task's status and attempts (2
/// bytes) and a float64 per observation, and the finishing step writes the status of every task:
/// at 2^40 tasks that is over 10 TB and hours of writing, so larger counts are refused up front
/// rather than discovered at the end (docs/commands.md).
inline constexpr std::uint64_t kMaxTasks = std::uint64_t{1} << 40;

/// `--target-stderr NAME=X` or `NAME=X%`: stop once NAME's standard error is at most X. NAME is
/// a scalar observation, `name[i]` (component i of a vector) or a vector's name (every component).
struct TargetSpec {
  std::string observation;
  double value = 0;
  bool relative = false;  ///< "NAME=0.1%": stderr at most 0.1% of |mean|
  std::string text;       ///< as the user wrote it, for provenance
};

struct RunConfig {
  std::string sim;
  std::string data;  ///< "" when the simulation takes none
  std::string group = "/";
  std::uint64_t tasks = 0;
  std::uint64_t first_task = 0;  ///< --task-range A:B runs tasks [A, B) of `tasks` (default all)
  std::uint64_t end_task = 0;
  std::uint64_t seed = 0;
  std::string output;
  bool force = false;
  std::uint64_t batch = 0;  ///< 0 = auto
  std::uint32_t max_retries = 3;
  double task_timeout = 0;
  std::optional<TargetSpec> target;
  std::uint64_t check_every = 1000;
  ShareMode share = ShareMode::window;
  bool resume = false;
  double checkpoint_every = 60;
  std::uint32_t max_crashes = 2;
  OptionValues sim_options;
  /// Every recorded option, name=value in a fixed order (engine::recorded_options): the results
  /// file's /options, and what --resume and merge compare (engine::option_role).
  std::vector<std::pair<std::string, std::string>> provenance;
};

}  // namespace carlo::engine
