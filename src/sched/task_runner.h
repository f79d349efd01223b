#pragma once
/// \file
/// Runs batches of tasks through a Simulation on one rank, keeping each task's effects
/// transactional: a task that throws leaves no observation (NaN) and no tally counts behind.
#include "sched/batch.h"

#include <carlo/simulation.h>

#include <functional>

namespace carlo::sched {

class TaskRunner {
 public:
  TaskRunner(Simulation& sim, std::uint64_t seed);

  /// Runs every task of `b` in order. Each task logs its counts and scores into `task_log`
  /// (cleared before every task, so a task's log stays small and in the cache); `keep(task_log)`
  /// is called after each task that succeeded, and a failed task's log is dropped.
  /// `should_stop` is called between tasks every few milliseconds; when it returns true the batch
  /// is abandoned and the result comes back `cancelled`.
  BatchResult run(const Batch& b, TallyLog& task_log,
                  const std::function<void(const TallyLog&)>& keep,
                  const std::function<bool()>& should_stop);
  /// The same, appending the counts and scores of the tasks that succeeded to `tallies`.
  BatchResult run(const Batch& b, TallyLog& tallies, const std::function<bool()>& should_stop);

  /// Observation columns (doubles) per task: the sum of the specs' widths.
  std::size_t n_observations() const noexcept { return width_; }
  const std::vector<ObservationSpec>& observation_specs() const noexcept { return obs_specs_; }
  const std::vector<TallySpec>& tally_specs() const noexcept { return specs_; }

 private:
  Simulation& sim_;
  std::uint64_t seed_;
  std::vector<ObservationSpec> obs_specs_;
  std::size_t width_ = 0;
  std::vector<TallySpec> specs_;
  std::vector<double> scratch_;
  TallyLog task_log_;  ///< the appending run's per-task log
};

}  // namespace carlo::sched
