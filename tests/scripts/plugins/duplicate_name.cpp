// A well-formed plugin (built with carlo_add_simulation inside carlo's build) whose simulation
// takes the name of a built-in one, `pi`: carlo must refuse it rather than pick either.
#include <carlo/simulation.h>

#include <memory>

namespace {

class Constant final : public carlo::Simulation {
 public:
  std::vector<std::string> observation_names() const override { return {"pi"}; }
  void run(carlo::Task& task) override { task.observe(0, 3.0); }
};

}  // namespace

CARLO_PLUGIN(registry) {
  carlo::SimulationInfo info;
  info.name = "pi";
  info.summary = "a second simulation called pi";
  info.create = [](const carlo::OptionValues&,
                   const carlo::RaggedView&) -> std::unique_ptr<carlo::Simulation> {
    return std::make_unique<Constant>();
  };
  registry.add(std::move(info));
}
