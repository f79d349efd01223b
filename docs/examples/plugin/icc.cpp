// icc: a carlo simulation plugin, written to be copied.
//
// Question: in grouped measurements (a ragged array whose rows are groups, e.g.
// data/groups-small.h5), how much of the spread lies between groups rather than within them?
// That fraction is the intraclass correlation, ICC = var_between / (var_between + var_within).
//
// Each task draws `--pairs-per-task` random pairs of values two ways and observes half their mean
// squared difference:
//   within  : two different values of one random group      -> E = average within-group variance
//   between : one value from each of two different groups    -> E = within + between-group variance
// so, over all tasks, ICC is estimated by 1 - mean(within) / mean(between). Only groups with at
// least `--min-size` values take part. The tally `draws` counts, per group, how many within
// pairs came from it (a check that groups are drawn uniformly, and where the estimate comes from).
//
// Build it against an installed carlo (see README.md next to this file):
//   find_package(carlo REQUIRED)
//   carlo_add_simulation(icc icc.cpp)
// and run it:
//   mpirun -n 4 carlo run --plugin ./libicc.so --sim icc --data groups.h5 --tasks 1000 --seed 1 -o
//   icc.h5
#include <carlo/simulation.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace {

// Everything here is private to the plugin: carlo only ever sees the SimulationInfo registered at
// the bottom and the Simulation objects its `create` returns.

// One instance per rank, built by `create` below. carlo calls run() from one thread at a time,
// so members may be used as scratch space (this one needs none).
class Icc final : public carlo::Simulation {
 public:
  Icc(const carlo::RaggedView& data, std::vector<std::uint64_t> groups, std::uint64_t pairs)
      : data_(data), groups_(std::move(groups)), pairs_(pairs) {}

  // Names of the per-task observations: /observations/within and /observations/between in the
  // results file, each float64[tasks], plus their summaries in /summary.
  std::vector<std::string> observation_names() const override { return {"within", "between"}; }

  // One tally, /tallies/draws: a uint64 per row of the data, summed exactly over all tasks.
  std::vector<carlo::TallySpec> tally_specs() const override { return {{"draws", data_.rows}}; }

  // Task task.id(). Reproducibility: use no randomness but task.rng() (keyed by seed and task id)
  // and the results are bitwise identical on 1 rank or 1000, after retries or a resume.
  void run(carlo::Task& task) override {
    carlo::Stream& rng = task.rng();
    const std::uint64_t n = groups_.size();
    double within = 0;
    double between = 0;
    for (std::uint64_t p = 0; p < pairs_; ++p) {
      // Within: a random eligible group, two different positions i != j in it.
      const std::uint64_t g = groups_[rng.below(n)];
      const std::uint64_t len = data_.row_length(g);
      const std::uint64_t i = rng.below(len);
      std::uint64_t j = rng.below(len - 1);
      if (j >= i) ++j;
      const double dw = value(g, i) - value(g, j);
      within += 0.5 * dw * dw;
      task.tally(0, g);

      // Between: two different eligible groups, one random value of each.
      const std::uint64_t a = rng.below(n);
      std::uint64_t b = rng.below(n - 1);
      if (b >= a) ++b;
      const std::uint64_t ga = groups_[a];
      const std::uint64_t gb = groups_[b];
      // Draws in named steps: the operands of `x - y` may be evaluated in either order, and the
      // order of draws must not be up to the compiler.
      const std::uint64_t ka = rng.below(data_.row_length(ga));
      const std::uint64_t kb = rng.below(data_.row_length(gb));
      const double db = value(ga, ka) - value(gb, kb);
      between += 0.5 * db * db;
    }
    task.observe(0, within / static_cast<double>(pairs_));
    task.observe(1, between / static_cast<double>(pairs_));
  }

 private:
  // Value k of row `row` as a double, whatever the stored element type (float64, int32, ...).
  double value(std::uint64_t row, std::uint64_t k) const {
    return carlo::visit_dtype(data_.dtype, [&](auto tag) {
      using T = decltype(tag);
      return static_cast<double>(data_.row_unchecked<T>(row)[k]);
    });
  }

  carlo::RaggedView data_;  // a view of the node-shared data: cheap to copy, never written
  std::vector<std::uint64_t> groups_;
  std::uint64_t pairs_;
};

// Setup: runs once per rank before any task, with the parsed options and the read-only data.
// Validate here and throw carlo::InputError: carlo prints the message once, as one line, and
// exits with status 1 before anything runs. Must be deterministic (every rank calls it).
std::unique_ptr<carlo::Simulation> create(const carlo::OptionValues& options,
                                          const carlo::RaggedView& data) {
  const std::int64_t pairs = options.get_int("pairs-per-task");
  const std::int64_t min_size = options.get_int("min-size");
  if (pairs < 1)
    throw carlo::InputError("icc: --pairs-per-task must be at least 1 (got " +
                            std::to_string(pairs) + ")");
  if (min_size < 2)
    throw carlo::InputError(
        "icc: --min-size must be at least 2, a within pair needs two values (got " +
        std::to_string(min_size) + ")");

  std::vector<std::uint64_t> groups;  // rows with at least min_size values, in row order
  std::uint64_t largest = 0;
  for (std::uint64_t r = 0; r < data.rows; ++r) {
    const std::uint64_t len = data.row_length(r);
    if (len > largest) largest = len;
    if (len >= static_cast<std::uint64_t>(min_size)) groups.push_back(r);
  }
  if (groups.size() < 2)
    throw carlo::InputError("icc: needs at least 2 groups of --min-size " +
                            std::to_string(min_size) + " or more values, but the data has " +
                            std::to_string(groups.size()) + " (its largest group has " +
                            std::to_string(largest) + " values)");
  return std::make_unique<Icc>(data, std::move(groups), static_cast<std::uint64_t>(pairs));
}

}  // namespace

// The plugin's entry point: carlo calls it once when it loads the library (`--plugin`).
CARLO_PLUGIN(registry) {
  carlo::SimulationInfo info;
  info.name = "icc";  // what --sim selects; must not clash with carlo's own simulations
  info.summary = "intraclass correlation of grouped measurements (groups file)";
  info.data = carlo::DataNeed::required;  // --data FILE.h5 is mandatory
  // Options appear under `carlo run --plugin libicc.so --sim icc --help`, with their defaults,
  // and are recorded in the results file.
  info.declare_options = [](carlo::OptionSet& o) {
    o.add_int("pairs-per-task", 1000, "random pairs each task draws, for each observation");
    o.add_int("min-size", 2, "groups with fewer values than this are left out (at least 2)");
  };
  info.create = create;
  registry.add(std::move(info));
}
