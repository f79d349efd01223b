#pragma once
/// \file
/// Merging the results files of a run split with `carlo run --task-range A:B`
/// (docs/split-merge.md). HDF5-free header; the implementation lives in src/io/.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace carlo::io {

/// What a merge produced, for the command's closing line.
struct MergeSummary {
  std::uint64_t tasks = 0;  ///< T
  std::uint64_t done = 0, failed = 0;
  std::size_t parts = 0;
  std::size_t timeline_batches = 0;  ///< /timeline entries carried over from the parts
};

/// Which recorded options (`/options` names) the parts must agree on: true for an option that can
/// change an observation, tally or failure. The caller owns the option roles (the engine's option
/// table); io knows no option of `carlo run`. Empty: every recorded option must agree.
using MustAgree = std::function<bool(std::string_view name)>;

/// Combines `parts` (complete results files of one run split by --task-range, in any order) into
/// `output`, whose observations, tallies, task status and attempts, failures and summaries are
/// bitwise those of a single `carlo run` over all T tasks with the same options.
///
/// Everything is checked before anything is written: every part a complete results file of T
/// tasks with a task-range, the same carlo version, simulation, seed, data fingerprint and every
/// recorded option for which `must_agree` is true, observation and tally layout; the ranges tile
/// [0, T) with neither overlap nor gap. Violations are InputErrors naming the part(s), the
/// parameter or the first task.
///
/// `output` is refused if it exists unless `overwrite`, and if it is one of the parts. It is
/// written under a temporary name in its directory and renamed into place only when complete, so
/// a failed merge leaves no `output` behind (and an overwritten one intact).
///
/// Memory is bounded by pieces of 2^20 tasks per observation plus the tallies (held whole, as
/// `carlo run` holds them); part files are opened one at a time while copying.
MergeSummary merge_results(const std::vector<std::string>& parts, const std::string& output,
                           bool overwrite, const MustAgree& must_agree);

}  // namespace carlo::io
