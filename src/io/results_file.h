#pragma once
/// \file
/// Results files (DESIGN §3). HDF5-free header; the implementation in src/io/ is the only code
/// that includes <hdf5.h>. Written by rank 0 only.
#include <carlo/simulation.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace carlo::io {

/// Task states stored in /tasks/status.
enum class TaskState : std::uint8_t { pending = 0, done = 1, failed = 2 };

/// Provenance written as root attributes.
struct RunMeta {
  std::string carlo_version = CARLO_VERSION;
  std::string simulation;
  std::uint64_t seed = 0;
  std::uint64_t tasks = 0;      ///< task ids are 0..tasks-1
  std::string data_path;        ///< "" when the simulation uses no data
  std::uint64_t data_size = 0;  ///< bytes of the data file
  std::int64_t data_mtime = 0;  ///< seconds since the epoch
  std::string data_checksum;    ///< e.g. "size+mtime" fingerprint or a real checksum
  int ranks = 0;
  int nodes = 0;
  std::string start_time;  ///< ISO 8601 UTC
  std::string end_time;
  double wall_seconds = 0;
  double tasks_per_second = 0;
  /// Further numbers about the run, each written as a root attribute (e.g. compute_seconds,
  /// reissued_batches).
  std::vector<std::pair<std::string, double>> metrics;
  /// The full option set, name=value, run options and simulation options alike.
  std::vector<std::pair<std::string, std::string>> options;
};

struct Failure {
  std::uint64_t task = 0;
  std::uint32_t attempts = 0;
  std::string message;
};

/// Summary statistics of one observation over the tasks that are done (NaN observations of failed
/// tasks excluded). Percentiles interpolate linearly between order statistics (numpy's default).
struct Summary {
  std::uint64_t count = 0;
  double mean = 0, sd = 0, stderr_ = 0, min = 0, max = 0, p2_5 = 0, p50 = 0, p97_5 = 0;
};

/// Creates a results file and streams observations into it as batches complete, so rank 0's memory
/// does not grow with the task count. Until `finish()` the root attribute `state` is "running";
/// `finish()` writes status, attempts, tallies, failures, summaries and provenance and sets it to
/// "complete". If the writer is destroyed without `finish()`, `state` stays "running" (or the
/// caller marks it "partial"), so the file never poses as complete.
class ResultsWriter {
 public:
  /// Refuses an existing `path` unless `overwrite`. A scalar observation becomes float64[tasks],
  /// a vector of k float64[tasks, k].
  ResultsWriter(const std::string& path, std::vector<ObservationSpec> observations,
                std::vector<TallySpec> tallies, std::uint64_t tasks, bool overwrite);
  /// Scalar observations only.
  ResultsWriter(const std::string& path, std::vector<std::string> observation_names,
                std::vector<TallySpec> tallies, std::uint64_t tasks, bool overwrite);
  ~ResultsWriter();
  ResultsWriter(ResultsWriter&&) noexcept;
  ResultsWriter& operator=(ResultsWriter&&) noexcept;

  /// Stores observations of tasks [first, first+count). `values` is column-major over the
  /// observation columns (core/observations.h): values[k * count + i] is column k of task
  /// first+i. Size = columns * count.
  void write_observations(std::uint64_t first, std::uint64_t count, std::span<const double> values);

  /// Fills status[i] and attempts[i] for tasks [first, first+count); called in increasing ranges.
  using StatusSource = std::function<void(std::uint64_t first, std::uint64_t count,
                                          TaskState* status, std::uint8_t* attempts)>;
  /// Completes the file. `tallies[k]` has tally_words(specs[k]) words (counts or exact limbs).
  /// Observations of tasks the status source does not call done become NaN; the summaries cover the
  /// done ones (computed from the file in task order, so bitwise reproducible). After
  /// keep_prefix(n) the file keeps exactly tasks [0, n) and records the original count as
  /// `tasks_requested`. `state` is "complete" or "partial".
  void finish(const StatusSource& status, const std::vector<std::vector<std::uint64_t>>& tallies,
              const std::vector<Failure>& failures, const RunMeta& meta,
              const std::string& state = "complete");
  /// finish(), with the tallies read where they are (e.g. the node's shared bins): no copy.
  using TallyViews = std::vector<std::span<const std::uint64_t>>;
  void finish_views(const StatusSource& status, const TallyViews& tallies,
                    const std::vector<Failure>& failures, const RunMeta& meta,
                    const std::string& state = "complete");

  const std::string& path() const noexcept;
  /// After finish(): the summaries it wrote, one per observation column.
  const std::vector<Summary>& summaries() const noexcept;
  /// The finished file will hold only tasks [0, n) (a run stopped by a stderr target).
  void keep_prefix(std::uint64_t n);
  /// No task at or past `end` was resolved (a run stopped early, or a --task-range part): finish()
  /// writes nothing there, since the file's fill values already say pending, 0 attempts and NaN,
  /// and summarizes [0, end) only. This keeps finishing proportional to the work done, not to
  /// --tasks (an interrupted run of 2^40 tasks would otherwise write 2 TB of "pending").
  void set_resolved_extent(std::uint64_t end);

 private:
  static std::vector<ObservationSpec> scalar_observations(std::vector<std::string> names);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// One batch as the master saw it, for the load-balance timeline (/timeline/* datasets).
struct TimelineEntry {
  std::int32_t rank = 0;      ///< worker that computed it
  std::uint64_t tasks = 0;    ///< tasks in the batch
  double start = 0, end = 0;  ///< seconds since the run started (master clock)
};

/// Writes /timeline/{rank,tasks,start,end} into a finished results file (rank 0).
void write_timeline(const std::string& path, const std::vector<TimelineEntry>& entries);
/// Reads them back; empty if the file has none.
std::vector<TimelineEntry> read_timeline(const std::string& path);

/// Everything in a results file except the big per-task arrays (read those with `observations`).
struct ResultsInfo {
  std::string path;
  std::string state;  ///< "complete", "partial" or "running"
  RunMeta meta;
  std::vector<ObservationSpec> observation_specs;  ///< the datasets of /observations, in order
  /// One per observation column: a scalar's name, or name[i] for component i of a vector.
  std::vector<std::string> observation_names;
  std::vector<Summary> summaries;  ///< parallel to observation_names (empty if not finished)
  std::vector<TallySpec> tallies;
  std::uint64_t done = 0, failed = 0, pending = 0;
  std::vector<Failure> failures;
};

/// Reads a results file; throws InputError naming the file and object when it is not one.
ResultsInfo read_results_info(const std::string& path);
/// /observations/<name>, all tasks (NaN where not done). `name` is a scalar observation or a
/// column name[i] of a vector (its component i).
std::vector<double> read_observation(const std::string& path, const std::string& name);
/// Default piece of `scan_observation`: 2^19 values, 4 MiB.
inline constexpr std::uint64_t kObservationPiece = std::uint64_t{1} << 19;
/// The values read_observation returns, handed to `visit` in task order in pieces of at most
/// `piece_values` values (at least one task each), so a huge column (a killed 2^34-task run) can
/// be read with memory bounded by the piece, whatever the task count (a vector of k components is
/// read max(piece_values / k, 1) whole rows at a time, in two buffers of that many rows). A span is
/// valid during its call only.
void scan_observation(const std::string& path, const std::string& name,
                      const std::function<void(std::span<const double>)>& visit,
                      std::uint64_t piece_values = kObservationPiece);
/// /tallies/<name> of a count tally.
std::vector<std::uint64_t> read_tally(const std::string& path, const std::string& name);
/// /tallies/<name> of a real tally (float64 sums, correctly rounded).
std::vector<double> read_real_tally(const std::string& path, const std::string& name);
/// A tally's exact words (core/tally_words.h): the counts, or a real tally's
/// /tallies_exact/<name> limbs.
std::vector<std::uint64_t> read_tally_words(const std::string& path, const TallySpec& spec);
/// /tasks/status and /tasks/attempts.
std::pair<std::vector<TaskState>, std::vector<std::uint8_t>> read_task_status(
    const std::string& path);
/// True if the file has carlo's results layout (a /tasks group and a `state` attribute).
bool is_results_file(const std::string& path);

/// Summary statistics of `values` (NaNs skipped), the exact definitions used in results files.
Summary summarize(std::span<const double> values);

}  // namespace carlo::io
