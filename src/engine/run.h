#pragma once
/// \file
/// `carlo run` without a command line: a validated RunConfig in, a RunOutcome out. The steps
/// (decide how to start, load the node's data, build the simulation, open the results, run the
/// master and workers, reduce the tallies, finish the file) are in run.cpp, in that order.
#include "engine/run_config.h"
#include "io/results_file.h"
#include "transport/runtime.h"

#include <carlo/simulation.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace carlo::engine {

/// Counts for a progress display.
struct RunProgress {
  std::uint64_t done = 0, failed = 0, total = 0, retries = 0;
  double seconds = 0;
};

/// What a run tells its caller while it goes. Called on rank 0 only, from rank 0's main thread.
struct RunObserver {
  /// One-line notes (e.g. what --resume restored).
  std::function<void(const std::string&)> note;
  /// One-line warnings, worth printing even when notes are not (a damaged checkpoint).
  std::function<void(const std::string&)> warning;
  /// About every 100 ms while tasks run.
  std::function<void(const RunProgress&)> progress;
  /// Set (e.g. by a signal handler) to stop handing out work, checkpoint and end with exit 3.
  /// The engine sets it too when the surroundings fail (see RunOutcome::io_error). Required.
  std::atomic<bool>* interrupt = nullptr;
  /// An unexpected error on this rank once tasks run (not an error of a task: those are
  /// retried). Must not return: the caller ends the job (MPI_Abort), since the other ranks may
  /// wait for this one in a collective. Without it the error is rethrown.
  std::function<void(const std::string&)> fatal;
};

/// How a run ended. `exit_code` is the same on every rank; the rest is filled on rank 0 only.
struct RunOutcome {
  /// 0 done, 2 some tasks failed (or stopped early), 3 interrupted, 4 the surroundings failed
  int exit_code = 0;
  bool already_complete = false;  ///< --resume of a finished file: nothing was run
  bool interrupted = false;
  /// Interrupted before the first task: the step it stopped in ("loading the data"). Nothing was
  /// written and a checkpoint from before is untouched: the same command with --resume starts
  /// (or continues) the run. Exit status 3.
  std::string stopped_in;
  /// A write to the results file, journal or checkpoint failed (disk full, quota, I/O error, a
  /// vanished directory): one line naming the file and the error. The run stopped at once and
  /// wrote nothing more; the last checkpoint stays usable, so --resume continues once the cause
  /// is gone. Exit status 4.
  std::string io_error;
  /// Stopped early: the first `abort_after_failures` tasks all failed.
  bool aborted = false;
  std::uint64_t abort_after_failures = 0;
  std::uint64_t done = 0;  ///< tasks done, as the file records them
  std::uint64_t kept = 0;  ///< tasks the file holds (with a target: the decided prefix)
  bool target_met = false;
  std::uint64_t dropped = 0;  ///< with a target: tasks computed past the decided prefix
  std::vector<io::Failure> failures;
  /// One per observation column: a scalar's name, or name[i] for component i of a vector.
  std::vector<std::string> observation_names;
  std::vector<io::Summary> summaries;  ///< as written to the file, parallel to the columns
  double wall_seconds = 0;
  double tasks_per_second = 0;  ///< tasks resolved by this run (not restored ones) per second
  int ranks = 0, nodes = 0;
  RunProgress progress;  ///< the final counts
  /// Where rank 0's time went, phase by phase in run order (seconds each; the first, "start",
  /// runs from the process's start to the engine's: MPI start-up and argument parsing). Filled
  /// by every run that reaches the first task; `carlo run` prints it with CARLO_TIMINGS=1.
  std::vector<std::pair<std::string, double>> phases;
  /// Per worker (rank) of this run: tasks resolved, seconds with a batch in hand (the union of
  /// its batches' assign-to-result intervals on the master's clock) and CPU seconds of its loop.
  struct WorkerTime {
    int worker = 0;
    std::uint64_t tasks = 0;
    double busy = 0;
    double cpu = 0;
  };
  std::vector<WorkerTime> workers;
};

/// Collective (world): runs `c` with the simulations of `registry`. Every error before the first
/// task is agreed by all ranks and thrown as AgreedError (engine/agreed.h) on every rank; an
/// error during the run is thrown on the rank where it happened (the caller aborts the job).
RunOutcome run(transport::Runtime& rt, const RunConfig& c, const Registry& registry,
               const RunObserver& observer);

}  // namespace carlo::engine
