#pragma once
/// \file
/// The one place that knows which of a run's recorded options shape its results. The results
/// file records them (/options), a checkpoint's fingerprint holds those a --resume must repeat,
/// and `carlo merge` compares those every part must share.
#include "engine/plugins.h"
#include "engine/run_config.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace carlo::engine {

/// How a recorded option relates to the results.
enum class OptionRole {
  /// Shapes every result (sim, sim.*, data, group, tasks, seed, target-stderr, plugin-checksum):
  /// a --resume and the parts of a merge must agree on it.
  result,
  /// Says which part of the run this is, or when a target is checked (task-range, check-every):
  /// a --resume must agree on it; merged parts differ in it.
  part,
  /// How the run was executed (batch, max-retries, task-timeout, share, ranks, and the plugin's
  /// path: the same build may live elsewhere, plugin-checksum decides): never compared.
  execution,
};

/// The role of a recorded option name (as in /options: "seed", "sim.alpha", "plugin", ...).
OptionRole option_role(std::string_view name);

inline bool must_agree_on_resume(std::string_view name) {
  return option_role(name) != OptionRole::execution;
}
inline bool must_agree_on_merge(std::string_view name) {
  return option_role(name) == OptionRole::result;
}

/// The options a run records, name=value in their fixed order: run options, then `sim.NAME`
/// for each simulation option, then, for a plugin's simulation, the plugin's path and checksum
/// (so --resume and merge refuse to mix two builds). Throws InputError if the plugin file
/// cannot be read.
std::vector<std::pair<std::string, std::string>> recorded_options(const RunConfig& c,
                                                                  const PluginSet& plugins);

}  // namespace carlo::engine
