#pragma once
/// \file
/// The simulation interface: everything a Monte Carlo simulation sees of carlo.
///
/// A simulation is a class derived from `Simulation`, described by a `SimulationInfo` that names
/// it, declares its options and builds one instance per rank. It sees only
///   - its own options (`OptionValues`, validated by carlo's command line),
///   - a read-only view of the node-shared ragged data (`RaggedView`; writing into it faults),
///   - per task: the task id and the task's own random stream (`Task`).
/// It reports per-task observations (scalars, or vectors of k values) and adds integer counts or
/// float64 scores into tallies. MPI and HDF5 are never visible here.
///
/// Contract for reproducibility (DESIGN §4): `run(task)` must be a pure function of the options,
/// the data, the task id and the numbers drawn from `task.rng()`. A task that throws is retried
/// with the same stream; what it observed or tallied before throwing is discarded.
///
/// Threading: carlo calls one instance from one thread at a time; a simulation may keep scratch
/// buffers as members.
#include <carlo/ragged.h>
#include <carlo/rng.h>
#include <carlo/version.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace carlo {

/// Raised by a simulation (or by carlo) for a task that fails; the message ends up in /failures.
class TaskError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

/// Declarations of a simulation's own options; `carlo run --sim NAME --help` prints them.
///
/// Each add_* refuses with InputError, at the point of declaration, a name that `carlo run` could
/// not parse as its own `--NAME`: one that is not a lowercase letter followed by [a-z0-9-], one
/// declared already (whatever its kind), or one of the `reserved` names (the runner's own
/// options). The message is one line naming the option; `Registry::add` prefixes the simulation.
class OptionSet {
 public:
  enum class Kind { integer, real, text, flag };
  struct Decl {
    std::string name;  ///< without dashes: "samples-per-task"
    Kind kind;
    std::string default_value;  ///< canonical text
    std::string help;
  };
  OptionSet() = default;
  /// `reserved`: names a simulation may not declare, because `carlo run` uses them itself.
  explicit OptionSet(std::vector<std::string> reserved) : reserved_(std::move(reserved)) {}
  OptionSet& add_int(std::string name, std::int64_t default_value, std::string help);
  OptionSet& add_real(std::string name, double default_value, std::string help);
  OptionSet& add_text(std::string name, std::string default_value, std::string help);
  OptionSet& add_flag(std::string name, std::string help);
  const std::vector<Decl>& decls() const noexcept { return decls_; }

 private:
  OptionSet& add(Decl decl);
  std::vector<Decl> decls_;
  std::vector<std::string> reserved_;
};

/// Parsed, validated option values of one run, keyed by name.
class OptionValues {
 public:
  using Value = std::variant<std::int64_t, double, std::string, bool>;
  void set(const std::string& name, Value v) { values_[name] = std::move(v); }
  std::int64_t get_int(const std::string& name) const;
  double get_real(const std::string& name) const;
  const std::string& get_text(const std::string& name) const;
  bool get_flag(const std::string& name) const;
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  /// name=value pairs in name order, for provenance and resume checks.
  std::vector<std::pair<std::string, std::string>> canonical() const;
  const std::map<std::string, Value>& values() const noexcept { return values_; }

 private:
  const Value& at(const std::string& name) const;
  std::map<std::string, Value> values_;
};

// ---------------------------------------------------------------------------------------------
// Tasks
// ---------------------------------------------------------------------------------------------

/// What the bins of a tally hold.
enum class TallyKind {
  count,  ///< uint64 counts, added with Task::tally / tally_ones
  real,   ///< float64 sums, added with Task::score: summed exactly, so the result is bitwise
          ///< the same whatever the order of the contributions (DESIGN §3)
};

/// One tally: `length` bins summed over all tasks (exact, so order-independent).
struct TallySpec {
  std::string name;
  std::uint64_t length = 0;
  TallyKind kind = TallyKind::count;
};

/// One observation of every task: a scalar (`/observations/<name>` float64[T]) or a vector of
/// `components` values (float64[T, components]).
struct ObservationSpec {
  std::string name;
  std::uint64_t components = 0;  ///< 0: a scalar; k >= 1: a vector of k values per task
  /// Number of doubles a task stores for it.
  std::uint64_t width() const noexcept { return components == 0 ? 1 : components; }
};

/// Counts the tasks of a batch added to their tallies, kept apart until each task succeeds (and
/// until the master accepts the batch). Unit increments, the common case (visit counts), cost 8
/// bytes each.
struct TallyLog {
  struct PerTally {
    std::vector<std::uint64_t> ones;  ///< bins that got +1, one entry each
    std::vector<std::pair<std::uint64_t, std::uint64_t>> adds;  ///< (bin, count) for other counts
    std::vector<std::pair<std::uint64_t, double>> scores;       ///< (bin, value) of a real tally
  };
  std::vector<PerTally> tallies;  ///< one per TallySpec
  /// Adds the logged counts into dense arrays, one per tally (dense[k].size() == spec length).
  void add_to(std::vector<std::vector<std::uint64_t>>& dense) const {
    for (std::size_t k = 0; k < tallies.size() && k < dense.size(); ++k) {
      auto& d = dense[k];
      for (std::uint64_t bin : tallies[k].ones) ++d[static_cast<std::size_t>(bin)];
      for (const auto& [bin, count] : tallies[k].adds) d[static_cast<std::size_t>(bin)] += count;
    }
  }
  void clear() noexcept {
    for (auto& t : tallies) {
      t.ones.clear();
      t.adds.clear();
      t.scores.clear();
    }
  }
  bool empty() const noexcept {
    for (const auto& t : tallies)
      if (!t.ones.empty() || !t.adds.empty() || !t.scores.empty()) return false;
    return true;
  }
};

/// What `Simulation::run` sees of one task. Not copyable; valid only during the call.
class Task {
 public:
  /// `observations`: the task's flat observation slots, laid out as `obs_specs` (each observation
  /// takes width() consecutive doubles, in order); a null `obs_specs` means `n_observations`
  /// scalars.
  Task(std::uint64_t id, std::uint64_t seed, std::uint32_t attempt, double* observations,
       std::size_t n_observations, TallyLog* tallies, const std::vector<TallySpec>* specs,
       const std::vector<ObservationSpec>* obs_specs = nullptr)
      : id_(id), seed_(seed), attempt_(attempt), rng_(seed, id), obs_(observations),
        n_obs_(n_observations), tallies_(tallies), specs_(specs), obs_specs_(obs_specs) {
    if (tallies_->tallies.size() < specs_->size()) tallies_->tallies.resize(specs_->size());
    if (obs_specs_) {
      n_obs_ = obs_specs_->size();
      obs_offsets_.reserve(n_obs_);
      std::size_t at = 0;
      for (const auto& o : *obs_specs_) {
        obs_offsets_.push_back(at);
        at += static_cast<std::size_t>(o.width());
      }
    }
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;

  std::uint64_t id() const noexcept { return id_; }
  /// 0 on the first try, k on the k-th retry. For diagnostics and failure injection only: a task's
  /// results must not depend on it.
  std::uint32_t attempt() const noexcept { return attempt_; }
  /// The task's own stream, keyed by (seed, task id).
  Stream& rng() noexcept { return rng_; }
  /// An independent extra stream of this task (e.g. one per interleaved walker):
  /// Substreams(seed, id)(k), a pure function of (seed, task id, k), unrelated to rng() (definition
  /// in rng.h). The first call costs one Philox block and caches the task's substream key, later
  /// ones a few ns; so, like every Task call, not thread-safe: a run() that starts threads takes
  /// their substreams before starting them.
  Stream substream(std::uint64_t k) const noexcept {
    if (!substreams_) substreams_.emplace(seed_, id_);
    return (*substreams_)(k);
  }
  /// Sets scalar observation `index` (in the order of `Simulation::observation_specs`). Unset
  /// ones are NaN.
  void observe(std::size_t index, double value) {
    check_observation(index, 0);
    obs_[offset_of(index)] = value;
  }
  /// Sets vector observation `index`: exactly its `components` values.
  void observe(std::size_t index, std::span<const double> values) {
    check_observation(index, values.size());
    std::copy(values.begin(), values.end(), obs_ + offset_of(index));
  }
  /// Adds `count` to bin `bin` of tally `tally` (in the order of `Simulation::tally_specs`).
  void tally(std::size_t tally, std::uint64_t bin, std::uint64_t count = 1) {
    check_bin(tally, bin);
    auto& t = tallies_->tallies[tally];
    if (count == 1) t.ones.push_back(bin);
    else if (count != 0) t.adds.emplace_back(bin, count);
  }
  /// Adds 1 to each of `bins` of tally `tally` (a bin may repeat): the bulk form for hot loops.
  void tally_ones(std::size_t tally, std::span<const std::uint64_t> bins) {
    check_bin(tally, 0);
    std::uint64_t top = 0;
    for (std::uint64_t b : bins) top = b > top ? b : top;
    if (!bins.empty()) check_bin(tally, top);
    auto& ones = tallies_->tallies[tally].ones;
    ones.insert(ones.end(), bins.begin(), bins.end());
  }
  /// Adds `value` to bin `bin` of real tally `tally`. The sum is exact (order-independent); a NaN
  /// or infinite value fails the task, since it has no reproducible sum.
  void score(std::size_t tally, std::uint64_t bin, double value) {
    check_bin(tally, bin, TallyKind::real);
    if (!std::isfinite(value))
      throw TaskError("tally " + (*specs_)[tally].name + " bin " + std::to_string(bin) +
                      ": non-finite score " + std::to_string(value));
    if (value != 0.0) tallies_->tallies[tally].scores.emplace_back(bin, value);
  }

 private:
  void check_bin(std::size_t tally, std::uint64_t bin, TallyKind kind = TallyKind::count) const {
    if (tally >= specs_->size() || bin >= (*specs_)[tally].length)
      throw TaskError("tally " + std::to_string(tally) + " bin " + std::to_string(bin) +
                      " out of range");
    if ((*specs_)[tally].kind != kind)
      throw TaskError("tally " + (*specs_)[tally].name +
                      (kind == TallyKind::real ? " holds counts: use tally(), not score()"
                                               : " holds real sums: use score(), not tally()"));
  }
  void check_observation(std::size_t index, std::size_t n_values) const {
    if (index >= n_obs_)
      throw TaskError("observation index " + std::to_string(index) + " out of range");
    const std::uint64_t components = obs_specs_ ? (*obs_specs_)[index].components : 0;
    if (components != n_values)
      throw TaskError("observation " + (obs_specs_ ? (*obs_specs_)[index].name : "") +
                      (components == 0 ? " is a scalar: observe(index, value)"
                                       : " takes " + std::to_string(components) + " values, not " +
                                             std::to_string(n_values)));
  }
  std::size_t offset_of(std::size_t index) const noexcept {
    return obs_specs_ ? obs_offsets_[index] : index;
  }
  std::uint64_t id_;
  std::uint64_t seed_;
  std::uint32_t attempt_;
  Stream rng_;
  mutable std::optional<Substreams> substreams_;  // built on the first substream() call
  double* obs_;
  std::size_t n_obs_;
  TallyLog* tallies_;
  const std::vector<TallySpec>* specs_;
  const std::vector<ObservationSpec>* obs_specs_;
  std::vector<std::size_t> obs_offsets_;  // where each observation starts in obs_
};

// ---------------------------------------------------------------------------------------------
// Simulations
// ---------------------------------------------------------------------------------------------

class Simulation {
 public:
  virtual ~Simulation() = default;
  /// Names of the per-task scalar observations, fixed for the instance's life. A simulation with
  /// vector observations overrides observation_specs() instead.
  virtual std::vector<std::string> observation_names() const { return {}; }
  /// The per-task observations, fixed for the instance's life: by default observation_names(),
  /// all scalars. carlo reads only this one.
  virtual std::vector<ObservationSpec> observation_specs() const {
    std::vector<ObservationSpec> specs;
    for (auto& name : observation_names()) specs.push_back({std::move(name), 0});
    return specs;
  }
  /// Tallies this simulation adds into; default none.
  virtual std::vector<TallySpec> tally_specs() const { return {}; }
  /// Runs task `task.id()`. Throw (any std::exception) to fail the task.
  virtual void run(Task& task) = 0;
};

enum class DataNeed { none, required, optional };

/// How carlo finds, describes and builds a simulation.
struct SimulationInfo {
  std::string name;
  std::string summary;
  DataNeed data = DataNeed::none;
  /// Declares the simulation's options.
  std::function<void(OptionSet&)> declare_options;
  /// Builds one instance for this rank. Sees the options and the read-only data (empty when
  /// there is none); validate the data here and throw InputError to refuse it. Called on every
  /// rank with the same arguments, so it must be deterministic.
  std::function<std::unique_ptr<Simulation>(const OptionValues&, const RaggedView&)> create;
  /// Optional: checks rows [rows.first, rows.last) of the data; throws InputError (one line
  /// naming the row and the problem) to refuse the run. For checks that read every value (ids in
  /// range, no NaN): rather than every rank reading all of the data in `create`, the ranks of a
  /// node each check one share of the rows (about equal values + rows each), so a node reads its
  /// copy once, in parallel. Called only when there is data, only for non-empty ranges, and
  /// before `create`, which runs only if every range passed (so it may rely on them). On each
  /// node the ranges are disjoint and together cover every row. Must keep no state and judge a
  /// range the same way wherever it runs; a range with several bad rows names its first one, and
  /// the run reports the error of the first refused range. It sees any value type: refuse the
  /// types in `create` and return early here.
  std::function<void(const OptionValues&, const RaggedView&, RowRange rows)> check_data;
};

/// The simulations known to this process: built-in samples plus loaded plugins.
class Registry {
 public:
  Registry() = default;
  /// `reserved_options`: option names no simulation added here may declare (see OptionSet).
  explicit Registry(std::vector<std::string> reserved_options)
      : reserved_options_(std::move(reserved_options)) {}
  /// Checks the simulation where it is declared, so a bad one is never listed or run: throws
  /// InputError, one line naming the simulation, if its name is taken or not [A-Za-z0-9_-]+, it
  /// has no `create`, or `declare_options` declares a bad option (it is called once here).
  void add(SimulationInfo info);
  /// nullptr if unknown.
  const SimulationInfo* find(const std::string& name) const;
  std::vector<std::string> names() const;
  const std::vector<std::string>& reserved_options() const noexcept { return reserved_options_; }

 private:
  std::vector<SimulationInfo> sims_;
  std::vector<std::string> reserved_options_;
};

}  // namespace carlo

/// ABI tag of this header; a plugin built against another one is refused. It holds the exact
/// carlo version: the classes above are shared with the plugin by layout, so a plugin runs only
/// with the carlo it was built against.
/// The libstdc++ debug mode changes the layout of the std containers in these classes, so it is
/// part of the tag.
#ifdef _GLIBCXX_DEBUG
#define CARLO_PLUGIN_ABI_STDLIB "+glibcxx-debug"
#else
#define CARLO_PLUGIN_ABI_STDLIB ""
#endif
#define CARLO_PLUGIN_ABI "carlo-plugin-1/" CARLO_VERSION CARLO_PLUGIN_ABI_STDLIB

/// In a plugin, registers its simulations:
///   CARLO_PLUGIN(registry) { registry.add(carlo::SimulationInfo{...}); }
/// It defines the two entry points carlo looks up with dlsym, `carlo_plugin_abi` and
/// `carlo_plugin_register`, exported even when the plugin hides its other symbols
/// (-fvisibility=hidden, as carlo_add_simulation builds it). Exceptions thrown while registering
/// (a duplicate name, no `create`) refuse the plugin.
#define CARLO_PLUGIN_EXPORT extern "C" __attribute__((visibility("default")))
#define CARLO_PLUGIN(registry_param)                                              \
  CARLO_PLUGIN_EXPORT const char* carlo_plugin_abi() { return CARLO_PLUGIN_ABI; } \
  CARLO_PLUGIN_EXPORT void carlo_plugin_register(carlo::Registry& registry_param)
