#pragma once
/// \file
/// Poison tasks: the policy that keeps a task which kills its worker from killing every resumed
/// run. A task a worker held when the job died is a suspect; suspects run first, one at a time
/// job-wide, so an innocent one is never in flight at a crash twice; a task in flight at
/// `max_crashes` crashes is quarantined (recorded as failed). Pure policy: no files, no MPI.
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <utility>
#include <vector>

namespace carlo::sched {

struct CrashVerdict {
  /// Tasks to record as failed, with the number of crashes each was in flight at.
  std::vector<std::pair<std::uint64_t, std::uint32_t>> quarantined;
  /// Tasks to run first, one at a time.
  std::set<std::uint64_t> suspects;
};

/// Adds one crash to every task of `in_flight` in `crash_counts` (task -> crashes it was in
/// flight at, carried from checkpoint to checkpoint), forgets the tasks `resolved` says are done
/// or failed, and judges the rest against `max_crashes` (>= 1).
CrashVerdict judge_crashes(std::map<std::uint64_t, std::uint32_t>& crash_counts,
                           const std::set<std::uint64_t>& in_flight,
                           const std::function<bool(std::uint64_t)>& resolved,
                           std::uint32_t max_crashes);

}  // namespace carlo::sched
