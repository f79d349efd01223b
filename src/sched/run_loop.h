#pragma once
/// \file
/// The message loops around the scheduling policy: `run_master` on rank 0's main thread,
/// `run_worker` on every rank (on rank 0 in a second thread, talking to the master through a
/// LocalHub channel, so rank 0 computes too). Waiting always sleeps; no loop spins a core.

#include "sched/channel.h"
#include "sched/master.h"
#include "sched/tally_store.h"
#include "sched/task_runner.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <vector>

namespace carlo::sched {

/// Where accepted results go (rank 0): the results file, in production.
class ResultSink {
 public:
  virtual ~ResultSink() = default;
  /// Tasks piece.first .. piece.first+piece.count-1 are resolved; their observations are at
  /// positions piece.offset.. of `r` (observation-major, n_tasks per observation).
  virtual void store(const Master::Outcome::Piece& piece, const BatchResult& r) = 0;
};

struct MasterHooks {
  /// Called about every 100 ms and once at the end (`final` true); for progress display.
  std::function<void(const Master&, double seconds, bool final)> progress;
  /// Set (e.g. by a signal handler) to stop handing out work and end the run early.
  const std::atomic<bool>* interrupt = nullptr;
  /// Journal hooks: a batch handed to worker w; an accepted result; a batch w dropped without an
  /// accepted result (cancelled, or a duplicate that lost).
  std::function<void(int w, const Batch&)> assigned;
  std::function<void(int w, const BatchResult&, const Master::Outcome&)> accepted;
  std::function<void(int w, std::uint64_t batch_id)> released;
  /// Tally snapshots for checkpoints, every `snapshot_every` seconds (0: never): `snapshot_begin`
  /// when the requests go out (everything accepted so far, up to Master::horizon(), is what the
  /// snapshot will cover), `snapshot_done` with the tallies summed over all workers.
  double snapshot_every = 0;
  std::function<void(const Master&)> snapshot_begin;
  std::function<void(std::vector<std::vector<std::uint64_t>>&&)> snapshot_done;
  /// The tallies' kinds, for summing the workers' snapshots (missing: counts, added word by
  /// word; real tallies are ExactSum limbs, merged exactly).
  std::vector<TallySpec> tally_specs;
};

/// Runs the master until every task is resolved (or the target is met, or `interrupt`), then
/// stops all workers and waits until each has said goodbye. Worker 0 is reached through `local`,
/// workers 1..remote.size()-1 through `remote`. Returns true if it ended by interrupt.
bool run_master(Master& master, Channel& remote, Channel& local, ResultSink& sink,
                const MasterHooks& hooks);

/// One rank's worker: computes the batches the master assigns, in the order assigned, and keeps
/// each result's tallies until the master acknowledges it (accepted: added to the store; rejected:
/// dropped). Between tasks it reads its messages, so a cancel or stop ends a batch early.
/// Waiting always sleeps; no loop spins a core.
class Worker {
 public:
  /// `store` must have one tally per spec of `runner` (std::logic_error otherwise). Workers
  /// sharing a store must all run under one master.
  Worker(Channel& channel, int master_rank, TaskRunner& runner, TallyStore& store);
  /// Runs until the master says stop; flushes the store, then says goodbye to the master.
  void run();

 private:
  // One method per message kind.
  void on_assign(const Message& msg);
  void on_cancel(const Message& msg);
  void on_snapshot(const Message& msg);
  void on_collect();
  void on_resume();
  void on_stop(const Message& msg);

  void handle(const Message& msg);
  void drain();
  /// Sleeps up to `backoff_` for a message (doubling it, up to a cap, when none came).
  void wait();
  /// Computes the front batch of the queue and reports it.
  void compute_next();
  void apply_acks(const std::vector<Ack>& acks);
  void send_cancelled(std::uint64_t id);
  /// An empty tally log for the next batch: a spare one with its capacity kept when there is
  /// one. A batch's log grows to megabytes (walk: 4 bytes a step); growing a fresh one every
  /// batch cost a quarter of a worker's time in copies and page faults.
  StagedLog take_log();
  /// Keeps `log`'s memory for a later batch (up to kSpareLogs logs).
  void recycle(StagedLog&& log);

  Channel& channel_;
  int master_rank_;
  TaskRunner& runner_;
  TallyStore& store_;
  std::deque<Batch> queue_;
  TallyLog task_log_;                           ///< the running task's counts and scores
  std::map<std::uint64_t, StagedLog> pending_;  ///< tallies of results not yet acknowledged
  std::vector<std::uint64_t> held_;    ///< accepted while paused for a snapshot; applied on resume
  std::vector<StagedLog> spare_logs_;  ///< emptied logs whose memory the next batches reuse
  bool paused_ = false;
  bool stop_ = false;
  std::uint64_t current_ = 0;  ///< batch being computed (0: none)
  bool cancel_current_ = false;
  std::chrono::microseconds backoff_;
};

/// Runs a Worker until the master says stop, adding the tallies of its accepted results to
/// `store` (flushed before the goodbye). Workers sharing a store must all run under one master.
void run_worker(Channel& channel, int master_rank, TaskRunner& runner, TallyStore& store);
/// The same with a private store whose counts end up in `tallies[k]` (length of spec k).
void run_worker(Channel& channel, int master_rank, TaskRunner& runner,
                std::vector<std::vector<std::uint64_t>>& tallies);

}  // namespace carlo::sched
