#include "sched/crash_policy.h"

namespace carlo::sched {

CrashVerdict judge_crashes(std::map<std::uint64_t, std::uint32_t>& crash_counts,
                           const std::set<std::uint64_t>& in_flight,
                           const std::function<bool(std::uint64_t)>& resolved,
                           std::uint32_t max_crashes) {
  for (auto t : in_flight) ++crash_counts[t];
  CrashVerdict verdict;
  for (auto it = crash_counts.begin(); it != crash_counts.end();) {
    if (resolved(it->first)) {
      it = crash_counts.erase(it);
      continue;
    }
    if (it->second >= max_crashes) verdict.quarantined.emplace_back(it->first, it->second);
    else verdict.suspects.insert(it->first);
    ++it;
  }
  return verdict;
}

}  // namespace carlo::sched
