#pragma once
/// \file
/// The scheduling policy, as a state machine with no I/O: which tasks go to which worker, when a
/// failed task is retried, when a slow batch is re-issued, when the run is finished. The run loop
/// (run_loop.h) feeds it messages and the clock; unit tests drive it directly.
///
/// Guarantees:
/// - every task in [first, end) is resolved exactly once: done (first accepted result wins) or
///   failed after 1 + max_retries attempts;
/// - a failed task is retried on another worker when there is one, with the same attempt-derived
///   stream rules as the first try (the stream is keyed by seed and task id only);
/// - a duplicated batch's late result is rejected (never counted twice);
/// - with a stderr target, the run stops at the smallest multiple of check_every at which the
///   target observation's standard error, over tasks [first, c) in task order, is at most the
///   target; results of tasks at or past c are rejected. The decision depends only on the
///   observations, never on timing.

#include "sched/batch.h"

#include <algorithm>

#include <cstdint>
#include <deque>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace carlo::sched {

/// The run stops once every one of the observation columns [observation, observation+columns)
/// (a scalar, one component of a vector, or all components of a vector) meets the target.
struct StderrTarget {
  std::size_t observation = 0;  ///< first column, in the flat observation columns of a task
  double value = 0;             ///< absolute stderr, or a fraction of |mean| when relative
  bool relative = false;
  std::size_t columns = 1;  ///< consecutive columns that must all meet the target
};

struct MasterConfig {
  std::uint64_t first = 0;  ///< task ids [first, end)
  std::uint64_t end = 0;
  int workers = 1;                     ///< worker ids 0..workers-1
  std::uint64_t fixed_batch = 0;       ///< 0 = auto
  double target_batch_seconds = 0.05;  ///< auto: aim for batches of this duration
  std::uint32_t max_retries = 3;
  double task_timeout = 0;  ///< seconds; 0 = never re-issue slow batches
  std::optional<StderrTarget> target;
  std::uint64_t check_every = 1000;
  std::uint32_t prefetch = 2;  ///< batches held by a worker at once (computing + queued)
  /// Stop early when the first this many tasks (by id) have all finally failed: a broken
  /// simulation should not burn an allocation (0 = never). Decided on task ids, not on arrival
  /// order, so whether a run stops does not depend on ranks or batches.
  std::uint64_t abort_after_failures = 100;
};

/// What the master knows of a task that finally failed.
struct FinalFailure {
  std::uint32_t attempts = 0;
  std::string message;
};

/// One batch's life, for the load-balance timeline.
struct BatchRecord {
  int worker = 0;
  std::uint64_t tasks = 0;
  double start = 0, end = 0;  ///< master clock, seconds
};

class Master {
 public:
  explicit Master(MasterConfig cfg);

  /// Batches to hand to worker `w` now so it holds up to `prefetch` of them. May be empty.
  std::vector<Batch> fill(int w, double now);

  struct Outcome {
    bool accepted = false;  ///< the result is the first for its batch: store its observations
    /// Tasks of the batch now resolved (done, or failed for good): task ids [first, first+count),
    /// at positions [offset, offset+count) of the result's arrays. Retried tasks are left out.
    struct Piece {
      std::uint64_t first, count, offset;
    };
    std::vector<Piece> resolved;
    std::vector<int> cancel_on;   ///< other workers holding a duplicate: send them `cancel`
    std::uint64_t batch_end = 0;  ///< highest task id + 1 in the batch
    /// Tasks of the batch that finally failed: task id -> attempts (message in failures()).
    std::vector<std::pair<std::uint64_t, std::uint32_t>> final_failures;
    /// Done tasks of the batch that needed more than one attempt.
    std::vector<std::pair<std::uint64_t, std::uint32_t>> retried_done;
  };
  /// Records worker `w`'s result for one of its batches.
  Outcome on_result(int w, const BatchResult& r, double now);

  /// Batches worker `w` holds (computing or queued).
  std::size_t holding(int w) const { return queue_of_.at(static_cast<std::size_t>(w)).size(); }
  int workers() const noexcept { return cfg_.workers; }
  std::uint64_t first_task() const noexcept { return cfg_.first; }
  std::uint64_t end_task() const noexcept { return cfg_.end; }
  // --- Resuming an earlier run (call before the first fill) -----------------------------------
  /// Tasks [first, first+count) were resolved by an earlier run; `values` are their observations,
  /// observation-major (n_obs per task), for the stderr target's running sums.
  void restore(std::uint64_t first, std::uint64_t count, const std::vector<double>& values,
               std::size_t n_obs);
  /// Records an earlier run's final failure (or retried attempts, with message empty and done).
  void restore_failure(std::uint64_t task, std::uint32_t attempts, const std::string& message);
  void restore_attempts(std::uint64_t task, std::uint32_t attempts);
  /// Quarantines a task that was in flight in `crashes` runs that died: failed, never run again.
  void quarantine(std::uint64_t task, std::uint32_t crashes);
  /// Suspect tasks (in flight when a run died) run first, one at a time in the whole job, so a
  /// task that kills its rank again is the only one in flight.
  void set_suspects(const std::set<std::uint64_t>& tasks);
  /// Batch ids continue after an earlier run's.
  void set_next_batch_id(std::uint64_t id) { next_batch_id_ = std::max(next_batch_id_, id); }
  /// Ends restoring: folds restored observations into the target sums and checks completion.
  void end_restore();
  /// Results of batches ending at or below this are final (acknowledged); all of them without a
  /// target.
  std::uint64_t horizon() const noexcept { return cfg_.target ? horizon_ : UINT64_MAX; }
  /// Batch ids worker `w` holds, front (computing) first.
  const std::deque<std::uint64_t>& held_by(int w) const {
    return queue_of_.at(static_cast<std::size_t>(w));
  }

  /// Acks for worker `w` that can be sent now (taken out of the queue).
  std::vector<Ack> take_acks(int w);
  /// True once every task is resolved or the stderr target decided the run.
  bool finished() const noexcept { return finished_; }
  /// With a target: the task count the results hold (tasks [first, final_end)); else end.
  std::uint64_t final_end() const noexcept { return final_end_; }
  bool target_met() const noexcept { return target_met_; }
  /// Finished early: the first MasterConfig::abort_after_failures tasks all failed.
  bool aborted() const noexcept { return aborted_; }
  /// Task ids that finally failed, with attempts and the last message.
  const std::map<std::uint64_t, FinalFailure>& failures() const noexcept { return failed_; }
  /// Attempts of tasks that needed more than one (done ones included).
  const std::map<std::uint64_t, std::uint32_t>& retried() const noexcept { return attempts_; }

  std::uint64_t tasks_done() const noexcept { return done_; }
  std::uint64_t tasks_failed() const noexcept { return failed_.size(); }
  std::uint64_t retries() const noexcept { return retries_issued_; }
  std::uint64_t reissued_batches() const noexcept { return reissued_; }
  double seconds_per_task() const noexcept { return sec_per_task_; }
  /// Sum of the workers' compute time over accepted batches.
  double compute_seconds() const noexcept { return measured_seconds_; }
  const std::vector<BatchRecord>& timeline() const noexcept { return timeline_; }
  /// Whether task t is resolved (done or failed) — for writing /tasks/status.
  bool is_resolved(std::uint64_t t) const;
  /// One past the highest resolved task (first_task() if none): no task from here on is.
  std::uint64_t resolved_end() const noexcept {
    return resolved_.empty() ? cfg_.first : std::prev(resolved_.end())->second;
  }

 private:
  struct Outstanding {
    Batch batch;
    std::vector<int> holders;
    double started = -1;  ///< when its first holder began computing it (-1: still queued)
    double issued = 0;
    bool duplicated = false;
    bool probation = false;
  };
  struct Retry {
    std::uint64_t task;
    std::uint32_t attempt;
    int avoid;
  };

  std::optional<Batch> next_batch(int w, double now);
  /// Takes `batch_id` out of w's queue; the batch behind it starts computing at `now`.
  void dequeue(int w, std::uint64_t batch_id, double now);
  /// Worker w no longer computes `it`'s batch; the last holder gone, its tasks are queued again.
  void drop_holder(int w, std::map<std::uint64_t, Outstanding>::iterator it);
  /// Sorts an accepted batch's tasks into done, retried and finally failed; adds the resolved
  /// pieces to `out`. Returns the mask of tasks (by position in the batch) to be retried.
  std::vector<bool> resolve_tasks(int w, const BatchResult& r, const Batch& b, Outcome& out);
  std::uint64_t auto_batch_size(int w) const;
  void mark_resolved(std::uint64_t first, std::uint64_t count);
  void feed_target(const BatchResult& r, const Batch& b, const std::vector<bool>& retry_mask);
  void advance_prefix();
  void release_acks();
  void check_finished();
  bool first_tasks_all_failed() const;

  MasterConfig cfg_;
  std::uint64_t next_fresh_;
  std::uint64_t next_batch_id_ = 1;
  std::deque<Retry> retry_queue_;
  std::map<std::uint64_t, Outstanding> outstanding_;
  std::vector<std::deque<std::uint64_t>> queue_of_;  ///< per worker: batch ids in compute order
  std::vector<std::uint64_t> last_size_;             ///< per worker: size of its last fresh batch
  std::map<std::uint64_t, std::uint64_t> resolved_;  ///< disjoint intervals [first, end)
  std::map<std::uint64_t, FinalFailure> failed_;
  std::map<std::uint64_t, std::uint32_t> attempts_;
  std::uint64_t done_ = 0;
  std::uint64_t retries_issued_ = 0;
  std::uint64_t reissued_ = 0;
  double sec_per_task_ = 0;  ///< measured, 0 until the first result
  double measured_seconds_ = 0;
  std::uint64_t measured_tasks_ = 0;
  std::vector<BatchRecord> timeline_;
  std::map<std::uint64_t, double> started_at_;  ///< batch id -> start on its first holder
  std::set<std::uint64_t> suspects_;
  bool suspect_out_ = false;

  // Acks: per worker, results waiting for the target decision (batch id, end task) and ready ones.
  std::vector<std::vector<std::pair<std::uint64_t, std::uint64_t>>> held_acks_;
  std::vector<std::vector<Ack>> ready_acks_;

  // Target bookkeeping: the prefix [first, prefix_) is folded into the running sums in task order.
  /// Task-major runs of the target columns: values[i * columns + j] is column j of task first+i.
  std::map<std::uint64_t, std::vector<double>> target_values_;
  std::uint64_t prefix_;
  std::uint64_t horizon_;  ///< results of tasks below this are final (acked)
  struct Running {         ///< Welford sums of one target column
    double mean = 0, sumsq = 0;
    std::uint64_t n = 0;
  };
  std::vector<Running> running_;
  bool target_reached() const;
  bool finished_ = false;
  bool target_met_ = false;
  bool aborted_ = false;
  std::uint64_t final_end_;
};

}  // namespace carlo::sched
