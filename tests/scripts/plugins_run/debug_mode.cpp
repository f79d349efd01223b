// A plugin compiled with the libstdc++ debug mode (-D_GLIBCXX_DEBUG), which changes the layout of
// the std containers carlo's classes hold: its ABI tag says so, and carlo must refuse it before
// registering anything (plugin_runs_cli.py).
#include <carlo/simulation.h>

#include <memory>

CARLO_PLUGIN(registry) {
  carlo::SimulationInfo info;
  info.name = "debug-mode";
  info.summary = "built with -D_GLIBCXX_DEBUG (a test plugin)";
  info.declare_options = [](carlo::OptionSet&) {};
  info.create = [](const carlo::OptionValues&,
                   const carlo::RaggedView&) -> std::unique_ptr<carlo::Simulation> {
    return nullptr;
  };
  registry.add(std::move(info));
}
