#include "engine/run_options.h"

#include <carlo/units.h>

namespace carlo::engine {

OptionRole option_role(std::string_view name) {
  if (name == "task-range" || name == "check-every") return OptionRole::part;
  if (name == "batch" || name == "max-retries" || name == "task-timeout" || name == "share" ||
      name == "ranks" || name == "plugin")
    return OptionRole::execution;
  return OptionRole::result;
}

std::vector<std::pair<std::string, std::string>> recorded_options(const RunConfig& c,
                                                                  const PluginSet& plugins) {
  // What was asked for, not --force, --quiet, the output or the progress cadence.
  std::vector<std::pair<std::string, std::string>> o = {
      {"sim", c.sim},
      {"data", c.data},
      {"group", c.group},
      {"tasks", std::to_string(c.tasks)},
      {"task-range", std::to_string(c.first_task) + ":" + std::to_string(c.end_task)},
      {"seed", std::to_string(c.seed)},
      {"batch", c.batch ? std::to_string(c.batch) : "auto"},
      {"max-retries", std::to_string(c.max_retries)},
      {"task-timeout", format_real(c.task_timeout)},
      {"target-stderr", c.target ? c.target->text : ""},
      {"check-every", std::to_string(c.check_every)},
      {"share", c.share == ShareMode::mmap ? "mmap" : "window"}};
  for (const auto& [k, v] : c.sim_options.canonical()) o.emplace_back("sim." + k, v);
  if (const std::string* file = plugins.file_of(c.sim)) {
    o.emplace_back("plugin", *file);
    o.emplace_back("plugin-checksum", PluginSet::checksum(*file));
  }
  return o;
}

}  // namespace carlo::engine
