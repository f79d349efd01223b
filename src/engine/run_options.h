#pragma once
/// \file
/// Every option name `carlo run` uses itself, long names and one-letter short ones, in one place:
/// a simulation (a plugin above all) may not declare any of them, since Boost would then refuse
/// every run with "option is ambiguous". run_config.cpp declares exactly these; the unit test
/// RunOptionNames compares this list with what `carlo run --help` prints.
#include <string>
#include <vector>

namespace carlo::engine {

/// The names, without dashes.
inline std::vector<std::string> run_option_names() {
  return {"help",
          "h",
          "sim",
          "data",
          "group",
          "tasks",
          "seed",
          "task-range",
          "output",
          "o",
          "force",
          "batch",
          "max-retries",
          "task-timeout",
          "target-stderr",
          "check-every",
          "progress-every",
          "quiet",
          "q",
          "share",
          "resume",
          "checkpoint-every",
          "max-crashes",
          "plugin",
          "config"};
}

}  // namespace carlo::engine
