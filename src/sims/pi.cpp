// `pi` (DESIGN §5): task t throws N uniform points in the unit square; observation pi = 4 x the
// fraction inside the quarter circle.
#include "sims/builtin.h"

namespace carlo::sims {
namespace {

class Pi final : public Simulation {
 public:
  explicit Pi(std::uint64_t samples) : samples_(samples) {}
  std::vector<std::string> observation_names() const override { return {"pi"}; }
  void run(Task& task) override {
    Stream& rng = task.rng();
    std::uint64_t inside = 0;
    for (std::uint64_t i = 0; i < samples_; ++i) {
      const double x = rng.uniform();
      const double y = rng.uniform();
      inside += (x * x + y * y < 1.0) ? 1u : 0u;
    }
    task.observe(0, 4.0 * static_cast<double>(inside) / static_cast<double>(samples_));
  }

 private:
  std::uint64_t samples_;
};

}  // namespace

SimulationInfo pi_info() {
  SimulationInfo info;
  info.name = "pi";
  info.summary = "estimate pi from uniform points in the unit square (no data)";
  info.data = DataNeed::none;
  info.declare_options = [](OptionSet& o) {
    o.add_int("samples-per-task", 1000000, "points thrown by each task");
  };
  info.create = [](const OptionValues& opts, const RaggedView&) -> std::unique_ptr<Simulation> {
    const auto n = opts.get_int("samples-per-task");
    if (n < 1)
      throw InputError("--samples-per-task must be at least 1 (got " + std::to_string(n) + ")");
    return std::make_unique<Pi>(static_cast<std::uint64_t>(n));
  };
  return info;
}

}  // namespace carlo::sims
