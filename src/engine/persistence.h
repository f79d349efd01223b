#pragma once
/// \file
/// Rank 0's side of surviving interruptions: the journal and checkpoint files beside the results
/// (see include/carlo/sched/checkpoint.h), resuming from them, and poison-task quarantine.
#include "engine/run_config.h"
#include "io/results_file.h"
#include "sched/checkpoint.h"
#include "sched/run_loop.h"

#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace carlo::engine {

/// Everything that must match for a checkpoint to be continued: the results-shaping options and
/// the data file's fingerprint, one "name=value" per line.
std::string run_fingerprint(const RunConfig& c, const std::string& data_checksum);

class RunPersistence {
 public:
  enum class Start { fresh, resume, already_complete };
  /// What `carlo run` should do with `c.output` (rank 0). Refuses an existing output that is not
  /// resumable (unless --force), naming the file.
  static Start decide(const RunConfig& c);
  /// A checkpoint (either generation) or a journal of `output` exists: --resume continues it.
  static bool has_resume_files(const std::string& output);

  RunPersistence(const RunConfig& c, std::string fingerprint, std::size_t n_obs,
                 std::vector<TallySpec> specs);

  std::string journal_path() const { return c_.output + ".journal"; }
  std::string checkpoint_path() const { return c_.output + ".ckpt"; }
  /// The generation before the current checkpoint: where a resume continues from when the
  /// current one is damaged or missing.
  std::string previous_checkpoint_path() const { return c_.output + ".ckpt.prev"; }

  /// Before anything is overwritten: refuses (InputError naming the difference) a checkpoint of
  /// a different run.
  void check_resumable() const;
  /// A new run: a new journal.
  void start_fresh();
  /// Continues from the checkpoint and journal: restores `m` and the observations in `w`, counts
  /// the tasks in flight when the previous run died, quarantines those past --max-crashes, and
  /// writes a checkpoint at once so the counts survive another crash. Returns a one-line summary.
  std::string resume(sched::Master& m, io::ResultsWriter& w);
  /// Journal and checkpoint hooks for the master loop.
  void install(sched::MasterHooks& hooks, const sched::Master& m);
  /// Adds the tallies of the results restored from an earlier run (none for a fresh one) to `t`.
  void add_base_tallies(std::vector<std::vector<std::uint64_t>>& t) const;
  /// The same, in place wherever the bins are (the node's shared bins).
  void add_base_tallies(const std::vector<std::span<std::uint64_t>>& t) const;
  /// After an interrupt: a checkpoint covering everything accepted (tallies = base + this run's),
  /// written from `totals` where they are.
  void final_checkpoint(const sched::Master& m,
                        const std::vector<std::span<std::uint64_t>>& totals);
  /// After a finished run: the journal and checkpoint are no longer needed.
  void remove_files();
  /// After resume(): why the previous checkpoint generation was used ("" if it was not).
  const std::string& fallback() const noexcept { return fallback_; }
  double checkpoint_seconds() const noexcept { return checkpoint_seconds_; }
  std::uint32_t checkpoints() const noexcept { return checkpoints_; }

 private:
  struct Restored {
    sched::JournalContents contents;
    std::uint64_t tasks = 0;
  };
  /// Replays the journal's results (those the checkpoint `ck` covers, when there are tallies)
  /// into `m`, `w` and the new journal `next`.
  Restored restore_journal(sched::Master& m, io::ResultsWriter& w, sched::JournalWriter& next,
                           const sched::Checkpoint* ck) const;
  static std::set<std::uint64_t> tasks_in_flight(const sched::JournalContents& contents,
                                                 const sched::Master& m);
  /// Records `tasks` (task, crashes) as failed in `m` and in the new journal.
  void quarantine(sched::Master& m, sched::JournalWriter& next,
                  const std::vector<std::pair<std::uint64_t, std::uint32_t>>& tasks) const;
  void write(sched::Checkpoint ck, bool keep_previous = true);
  /// write(), with the bins of `tallies` in place of ck.tallies (see sched::TallyWords).
  void write(sched::Checkpoint ck, const std::vector<sched::TallyWords>& tallies,
             bool keep_previous = true);
  bool have_checkpoint() const;
  std::vector<std::vector<std::uint64_t>> zero_tallies() const;
  /// The current checkpoint, or the previous generation if the current one is missing or
  /// damaged (then `fallback`, if given, says so). Refuses a checkpoint of another run.
  sched::Checkpoint read_matching_checkpoint(std::string* fallback) const;
  const RunConfig& c_;
  std::string fingerprint_;
  std::size_t n_obs_;
  std::vector<TallySpec> specs_;
  std::unique_ptr<sched::JournalWriter> journal_;
  sched::Checkpoint ck_;  ///< the last one written (crash counts, runs), without its tallies
  std::vector<std::vector<std::uint64_t>> base_;  ///< restored tallies; empty for a fresh run
  std::uint64_t pending_offset_ = 0, pending_horizon_ = 0;
  double checkpoint_seconds_ = 0;
  std::uint32_t checkpoints_ = 0;
  std::string fallback_;
};

}  // namespace carlo::engine
