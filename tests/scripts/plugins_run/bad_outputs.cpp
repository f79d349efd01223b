// A plugin whose simulations declare results that cannot be written: each must be refused with
// one line naming the simulation, before any file is created (plugin_runs_cli.py).
#include <carlo/simulation.h>

#include <memory>
#include <string>
#include <vector>

namespace {

class Declares final : public carlo::Simulation {
 public:
  Declares(std::vector<std::string> names, std::vector<carlo::TallySpec> tallies)
      : names_(std::move(names)), tallies_(std::move(tallies)) {}
  std::vector<std::string> observation_names() const override { return names_; }
  std::vector<carlo::TallySpec> tally_specs() const override { return tallies_; }
  void run(carlo::Task& task) override { task.observe(0, 1.0); }

 private:
  std::vector<std::string> names_;
  std::vector<carlo::TallySpec> tallies_;
};

carlo::SimulationInfo sim(const std::string& name, std::vector<std::string> names,
                          std::vector<carlo::TallySpec> tallies, bool null = false) {
  carlo::SimulationInfo info;
  info.name = name;
  info.summary = "declares bad outputs (a test plugin)";
  info.declare_options = [](carlo::OptionSet&) {};
  info.create = [=](const carlo::OptionValues&,
                    const carlo::RaggedView&) -> std::unique_ptr<carlo::Simulation> {
    if (null) return nullptr;
    return std::make_unique<Declares>(names, tallies);
  };
  return info;
}

}  // namespace

CARLO_PLUGIN(registry) {
  registry.add(sim("dup-observation", {"x", "y", "x"}, {}));
  registry.add(sim("dup-tally", {"x"}, {{"t", 4}, {"t", 8}}));
  registry.add(sim("slash-observation", {"a/b"}, {}));
  registry.add(sim("bracket-observation", {"x", "x[1]"}, {}));
  registry.add(sim("null-create", {"x"}, {}, /*null=*/true));
}
