#pragma once
/// \file
/// A results file read once into one description, which every rendering of it (`carlo info`,
/// `carlo report` as text, JSON or SVG) uses: the renderers read nothing themselves, except the
/// plot, which reads one observation's per-task values at a time.
#include "io/results_file.h"
#include "report/state.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace carlo::report {

/// Where an observation's summary came from.
enum class SummarySource {
  file,      ///< stored by the finished run
  computed,  ///< computed here from the observations written so far (run not finished)
  none,      ///< not stored and not computed (a brief read of an unfinished run)
};

struct ObservationView {
  std::string name;
  io::Summary summary;  ///< meaningful unless `source` is none
  SummarySource source = SummarySource::file;
};

struct TallyView {
  std::string name;
  std::uint64_t length = 0, total = 0;
  bool counted = false;  ///< the bins were read: `nonzero` and `top` are filled
  std::uint64_t nonzero = 0;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> top;  ///< (index, count), largest first
  /// A real (float64) tally: `sum` (exact sum of every bin, correctly rounded), the smallest and
  /// largest bin, and `nonzero` are filled instead of `total` and `top`.
  bool real = false;
  double sum = 0, min = 0, max = 0;
};

/// One rank's share of the run, from the timeline.
struct RankLoad {
  std::int32_t rank = 0;
  std::uint64_t batches = 0, tasks = 0;
  double busy_seconds = 0;  ///< time with a batch in hand, as the master saw it (union of batches)
};

/// How much of the file to read.
enum class Depth {
  /// Provenance, counts, failures, stored summaries and tally totals (read in pieces): what
  /// `carlo info` shows, in memory independent of the task and bin counts.
  brief,
  /// Also the tallies' bins (largest, nonzero), the timeline and rank loads, and summaries computed
  /// from the observations of a run that did not finish: what `carlo report` shows.
  full,
};

struct ResultsView {
  io::ResultsInfo info;
  StateText state;
  Depth depth = Depth::brief;
  std::vector<ObservationView> observations;  ///< parallel to info.observation_names
  std::vector<TallyView> tallies;             ///< parallel to info.tallies
  std::vector<io::TimelineEntry> timeline;    ///< full depth only
  std::vector<RankLoad> loads;                ///< per rank, from the timeline (empty without one)
  double span_seconds = 0;  ///< wall time, or the timeline's extent if that is longer
};

/// Reads `path`. Throws InputError naming the file and object when it is not a results file, or
/// (full depth) when its timeline names a rank the run did not have.
ResultsView read_results(const std::string& path, Depth depth);

/// Per-rank batches, tasks and busy time of a timeline; ranks 0..max(ranks-1, largest rank seen).
/// Empty for an empty timeline.
std::vector<RankLoad> rank_loads(const std::vector<io::TimelineEntry>& timeline, int ranks);

}  // namespace carlo::report
