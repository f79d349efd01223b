// A plugin with one mistake in its declarations, chosen by the test when carlo loads it
// (CARLO_TEST_MISTAKE, see plugin_cli.py; one build for every mistake instead of a build per
// mistake, which cost a compile of this file each in every build tree). carlo must refuse each
// when the plugin registers, with one line naming the plugin file, the simulation and the bad
// declaration; none of them may ever run. Without a known mistake it registers nothing, which no
// test accepts as a refusal.
#include <carlo/simulation.h>

#include <cstdlib>
#include <memory>
#include <string>

namespace {

class Never final : public carlo::Simulation {
 public:
  std::vector<std::string> observation_names() const override { return {"x"}; }
  void run(carlo::Task&) override { std::abort(); }
};

carlo::SimulationInfo info(const char* name) {
  carlo::SimulationInfo i;
  i.name = name;
  i.summary = "a simulation with a bad declaration";
  i.create = [](const carlo::OptionValues&,
                const carlo::RaggedView&) -> std::unique_ptr<carlo::Simulation> {
    return std::make_unique<Never>();
  };
  return i;
}

}  // namespace

CARLO_PLUGIN(registry) {
  const char* env = std::getenv("CARLO_TEST_MISTAKE");
  const std::string mistake = env ? env : "";
  if (mistake == "reserved_option") {
    auto i = info("badopt");
    i.declare_options = [](carlo::OptionSet& o) {
      o.add_int("rows", 1, "").add_int("seed", 2, "");
    };
    registry.add(std::move(i));
  } else if (mistake == "option_from_env") {
    // The option name comes from the test (CARLO_TEST_OPTION): one build tries every name.
    auto i = info("badopt");
    i.declare_options = [](carlo::OptionSet& o) {
      const char* name = std::getenv("CARLO_TEST_OPTION");
      o.add_int(name ? name : "seed", 1, "");
    };
    registry.add(std::move(i));
  } else if (mistake == "duplicate_option") {
    auto i = info("badopt");
    i.declare_options = [](carlo::OptionSet& o) {
      o.add_int("rows", 1, "").add_real("rows", 2, "");
    };
    registry.add(std::move(i));
  } else if (mistake == "option_name") {
    auto i = info("badopt");
    i.declare_options = [](carlo::OptionSet& o) { o.add_flag("with space", ""); };
    registry.add(std::move(i));
  } else if (mistake == "simulation_name") {
    registry.add(info("my sim/with spaces"));
  } else if (mistake == "registers_twice") {
    registry.add(info("twice"));
    registry.add(info("twice"));
  }
}
