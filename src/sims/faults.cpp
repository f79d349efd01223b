// `faults`: failure injection for carlo's own tests (and for trying out retries by hand).
#include "sims/builtin.h"

#include <carlo/units.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <set>
#include <sstream>
#include <thread>
#include <unordered_set>

namespace carlo::sims {
namespace {

std::set<std::uint64_t> parse_ids(const std::string& text, const std::string& option) {
  std::set<std::uint64_t> ids;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    ids.insert(parse_count(item, "--" + option));
  }
  return ids;
}

struct FaultConfig {
  std::set<std::uint64_t> fail;   // throw on every attempt
  std::set<std::uint64_t> flaky;  // throw on attempts < flaky_attempts
  std::uint32_t flaky_attempts = 1;
  double fail_prob = 0;           // throw with this probability, per attempt
  double sleep_ms = 0;            // every task
  std::set<std::uint64_t> stall;  // sleep stall_ms the first time this rank runs them
  double stall_ms = 0;
  std::uint64_t work = 0;             // uniform draws per task (CPU work)
  std::set<std::uint64_t> crash;      // kill the process (SIGSEGV)
  std::uint64_t score_bins = 0;       // > 0: a real tally "flux" of this many bins
  std::set<std::uint64_t> score_nan;  // score NaN into "flux" (a task error)
  std::uint64_t extra_hits = 0;       // more +1s into "hits" per task (benchmark of counts)
};

/// Contribution j (0..3) of task `id` to the real tally: a pure function of (id, j), signed, over
/// 2^-40..2^40 so sums cancel and span many exponents. tests/scripts/real_tally_cli.py recomputes
/// it in Python, operation for operation.
double flux_score(std::uint64_t id, std::uint64_t j) {
  const double scale = std::ldexp(1.0, static_cast<int>((id * (j + 1)) % 81) - 40);
  const double v = (1.0 + static_cast<double>(id) * 1e-3) * scale;
  return (id + j) % 3 == 0 ? -v : v;
}

class Faults final : public Simulation {
 public:
  explicit Faults(FaultConfig c) : c_(std::move(c)) {}
  std::vector<std::string> observation_names() const override { return {"value", "task"}; }
  std::vector<TallySpec> tally_specs() const override {
    std::vector<TallySpec> specs{{"hits", 16}};
    if (c_.score_bins > 0) specs.push_back({"flux", c_.score_bins, TallyKind::real});
    return specs;
  }
  void run(Task& task) override {
    const auto id = task.id();
    task.tally(0, id % 16);  // tallied before a possible throw: must be discarded if it throws
    for (std::uint64_t j = 0; j < 4 && c_.score_bins > 0; ++j)  // the same: scored before throws
      task.score(1, (id * 7 + j) % c_.score_bins, flux_score(id, j));
    if (c_.score_nan.count(id)) task.score(1, 0, std::nan(""));
    for (std::uint64_t j = 0; j < c_.extra_hits; ++j) task.tally(0, (id * 7 + j) % 16);
    if (c_.crash.count(id)) std::raise(SIGSEGV);  // a task that takes its rank down
    if (c_.fail.count(id)) throw TaskError("injected failure of task " + std::to_string(id));
    if (c_.flaky.count(id) && task.attempt() < c_.flaky_attempts)
      throw TaskError("injected flaky failure of task " + std::to_string(id) + " attempt " +
                      std::to_string(task.attempt()));
    if (c_.fail_prob > 0 && task.substream(1000 + task.attempt()).uniform() < c_.fail_prob)
      throw TaskError("injected random failure of task " + std::to_string(id));
    if (c_.stall.count(id) && stalled_.insert(id).second) sleep(c_.stall_ms);
    if (c_.sleep_ms > 0) sleep(c_.sleep_ms);
    Stream& rng = task.rng();
    const double value = rng.uniform();
    double acc = 0;
    for (std::uint64_t i = 0; i < c_.work; ++i) acc += rng.uniform();
    task.observe(0, value + 0 * acc);
    task.observe(1, static_cast<double>(id));
  }

 private:
  static void sleep(double ms) {
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(ms));
  }
  FaultConfig c_;
  std::unordered_set<std::uint64_t> stalled_;
};

}  // namespace

SimulationInfo faults_info() {
  SimulationInfo info;
  info.name = "faults";
  info.summary = "test aid: tasks that fail, fail at random, or sleep (no data)";
  info.data = DataNeed::none;
  info.declare_options = [](OptionSet& o) {
    o.add_text("fail-tasks", "", "comma-separated task ids that throw on every attempt");
    o.add_text("flaky-tasks", "", "comma-separated task ids that throw on their first attempts");
    o.add_int("flaky-attempts", 1, "attempts on which flaky tasks throw");
    o.add_real("fail-prob", 0.0, "probability that any attempt of any task throws");
    o.add_real("sleep-ms", 0.0, "milliseconds every task sleeps");
    o.add_text("stall-tasks", "", "task ids that sleep --stall-ms the first time a rank runs them");
    o.add_real("stall-ms", 0.0, "stall duration in milliseconds");
    o.add_int("work", 0, "extra uniform draws per task (CPU work)");
    o.add_text("crash-tasks", "", "task ids that crash their rank with SIGSEGV");
    o.add_int("score-bins", 0, "bins of a real tally 'flux' every task scores 4 values into");
    o.add_text("score-nan-tasks", "", "task ids that score NaN into 'flux' (fail every attempt)");
    o.add_int("extra-hits", 0, "more +1s per task into 'hits' (to time counts against scores)");
  };
  info.create = [](const OptionValues& opts, const RaggedView&) -> std::unique_ptr<Simulation> {
    FaultConfig c;
    c.fail = parse_ids(opts.get_text("fail-tasks"), "fail-tasks");
    c.flaky = parse_ids(opts.get_text("flaky-tasks"), "flaky-tasks");
    const auto fa = opts.get_int("flaky-attempts");
    if (fa < 0) throw InputError("--flaky-attempts must be non-negative");
    c.flaky_attempts = static_cast<std::uint32_t>(fa);
    c.fail_prob = opts.get_real("fail-prob");
    if (!(c.fail_prob >= 0 && c.fail_prob <= 1)) throw InputError("--fail-prob must be in [0, 1]");
    c.sleep_ms = opts.get_real("sleep-ms");
    c.stall = parse_ids(opts.get_text("stall-tasks"), "stall-tasks");
    c.stall_ms = opts.get_real("stall-ms");
    if (c.sleep_ms < 0 || c.stall_ms < 0) throw InputError("sleep durations must be non-negative");
    const auto w = opts.get_int("work");
    if (w < 0) throw InputError("--work must be non-negative");
    c.work = static_cast<std::uint64_t>(w);
    c.crash = parse_ids(opts.get_text("crash-tasks"), "crash-tasks");
    const auto sb = opts.get_int("score-bins");
    if (sb < 0) throw InputError("--score-bins must be non-negative");
    c.score_bins = static_cast<std::uint64_t>(sb);
    const auto eh = opts.get_int("extra-hits");
    if (eh < 0) throw InputError("--extra-hits must be non-negative");
    c.extra_hits = static_cast<std::uint64_t>(eh);
    c.score_nan = parse_ids(opts.get_text("score-nan-tasks"), "score-nan-tasks");
    if (!c.score_nan.empty() && c.score_bins == 0)
      throw InputError("--score-nan-tasks needs --score-bins");
    return std::make_unique<Faults>(std::move(c));
  };
  return info;
}

}  // namespace carlo::sims
