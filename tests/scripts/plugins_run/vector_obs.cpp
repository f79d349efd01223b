// A plugin with a vector observation (vecobs_cli.py): task t draws `draws` uniforms and observes
// `fate` = the fraction of them in each of [0, 1/2), [1/2, 3/4), [3/4, 1) (a vector of 3) and
// `first` = the first uniform (a scalar). --fail-task fails one task; --sleep-ms slows every task.
#include <carlo/simulation.h>

#include <array>
#include <chrono>
#include <memory>
#include <thread>

namespace {

class VectorObs final : public carlo::Simulation {
 public:
  VectorObs(std::int64_t draws, std::int64_t fail_task, double sleep_ms)
      : draws_(draws), fail_task_(fail_task), sleep_ms_(sleep_ms) {}
  std::vector<carlo::ObservationSpec> observation_specs() const override {
    return {{"first", 0}, {"fate", 3}};
  }
  void run(carlo::Task& task) override {
    if (static_cast<std::int64_t>(task.id()) == fail_task_)
      throw std::runtime_error("told to fail");
    if (sleep_ms_ > 0)
      std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(sleep_ms_));
    std::array<double, 3> fate{};
    double first = 0;
    for (std::int64_t i = 0; i < draws_; ++i) {
      const double u = task.rng().uniform();
      if (i == 0) first = u;
      fate[u < 0.5 ? 0 : (u < 0.75 ? 1 : 2)] += 1.0 / static_cast<double>(draws_);
    }
    task.observe(0, first);
    task.observe(1, std::span<const double>(fate));
  }

 private:
  std::int64_t draws_;
  std::int64_t fail_task_;
  double sleep_ms_;
};

}  // namespace

CARLO_PLUGIN(registry) {
  carlo::SimulationInfo info;
  info.name = "vecobs";
  info.summary = "a vector observation fate[3] and a scalar first (a test plugin)";
  info.data = carlo::DataNeed::none;
  info.declare_options = [](carlo::OptionSet& o) {
    o.add_int("draws", 20, "uniforms drawn per task");
    o.add_int("fail-task", -1, "this task always fails");
    o.add_real("sleep-ms", 0.0, "milliseconds every task sleeps");
  };
  info.create = [](const carlo::OptionValues& opts,
                   const carlo::RaggedView&) -> std::unique_ptr<carlo::Simulation> {
    return std::make_unique<VectorObs>(opts.get_int("draws"), opts.get_int("fail-task"),
                                       opts.get_real("sleep-ms"));
  };
  registry.add(std::move(info));
}
