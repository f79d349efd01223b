// A plugin with one mistake in its declarations, chosen at compile time (one MODULE target per
// mistake, see plugin.cmake). carlo must refuse each when the plugin registers, with one line
// naming the plugin file, the simulation and the bad declaration; none of them may ever run.
#include <carlo/simulation.h>

#include <cstdlib>
#include <memory>

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
#if defined(BAD_RESERVED_OPTION)
  auto i = info("badopt");
  i.declare_options = [](carlo::OptionSet& o) { o.add_int("rows", 1, "").add_int("seed", 2, ""); };
  registry.add(std::move(i));
#elif defined(BAD_OPTION_FROM_ENV)
  // The option name comes from the test (CARLO_TEST_OPTION): one build tries every name.
  auto i = info("badopt");
  i.declare_options = [](carlo::OptionSet& o) {
    const char* name = std::getenv("CARLO_TEST_OPTION");
    o.add_int(name ? name : "seed", 1, "");
  };
  registry.add(std::move(i));
#elif defined(BAD_DUPLICATE_OPTION)
  auto i = info("badopt");
  i.declare_options = [](carlo::OptionSet& o) { o.add_int("rows", 1, "").add_real("rows", 2, ""); };
  registry.add(std::move(i));
#elif defined(BAD_OPTION_NAME)
  auto i = info("badopt");
  i.declare_options = [](carlo::OptionSet& o) { o.add_flag("with space", ""); };
  registry.add(std::move(i));
#elif defined(BAD_SIMULATION_NAME)
  registry.add(info("my sim/with spaces"));
#elif defined(BAD_REGISTERS_TWICE)
  registry.add(info("twice"));
  registry.add(info("twice"));
#else
#error "define one BAD_* mistake"
#endif
}
