// The poison-task policy (src/sched/crash_policy.h), without files or MPI: what a resumed run
// does with the tasks that were in flight when the job died.
#include "sched/crash_policy.h"

#include <gtest/gtest.h>

namespace carlo::sched {
namespace {

const auto kNothingResolved = [](std::uint64_t) { return false; };

TEST(CrashPolicy, TasksInFlightAtACrashBecomeSuspects) {
  std::map<std::uint64_t, std::uint32_t> counts;
  const auto v = judge_crashes(counts, {4, 5, 9}, kNothingResolved, 2);
  EXPECT_EQ(v.suspects, (std::set<std::uint64_t>{4, 5, 9}));
  EXPECT_TRUE(v.quarantined.empty());
  EXPECT_EQ(counts, (std::map<std::uint64_t, std::uint32_t>{{4, 1}, {5, 1}, {9, 1}}));
}

TEST(CrashPolicy, ASuspectInFlightAgainAtMaxCrashesIsQuarantinedWithItsCount) {
  std::map<std::uint64_t, std::uint32_t> counts{{4, 1}, {5, 1}};
  const auto v = judge_crashes(counts, {5}, kNothingResolved, 2);
  EXPECT_EQ(v.suspects, (std::set<std::uint64_t>{4}));
  ASSERT_EQ(v.quarantined.size(), 1u);
  EXPECT_EQ(v.quarantined[0], (std::pair<std::uint64_t, std::uint32_t>{5, 2}));
}

TEST(CrashPolicy, MaxCrashesOneQuarantinesAtTheFirstCrash) {
  std::map<std::uint64_t, std::uint32_t> counts;
  const auto v = judge_crashes(counts, {7}, kNothingResolved, 1);
  EXPECT_TRUE(v.suspects.empty());
  ASSERT_EQ(v.quarantined.size(), 1u);
  EXPECT_EQ(v.quarantined[0].first, 7u);
}

TEST(CrashPolicy, ResolvedTasksAreForgotten) {
  std::map<std::uint64_t, std::uint32_t> counts{{4, 1}, {6, 1}};
  const auto v = judge_crashes(
      counts, {6}, [](std::uint64_t t) { return t == 6 || t == 4; }, 2);
  EXPECT_TRUE(v.suspects.empty());
  EXPECT_TRUE(v.quarantined.empty());
  EXPECT_TRUE(counts.empty());
}

TEST(CrashPolicy, QuarantinedTasksStayCountedUntilResolved) {
  // The caller records a quarantined task as failed (resolved); until then its count stays, so a
  // crash while writing that record cannot free it.
  std::map<std::uint64_t, std::uint32_t> counts{{3, 2}};
  const auto v = judge_crashes(counts, {}, kNothingResolved, 2);
  ASSERT_EQ(v.quarantined.size(), 1u);
  EXPECT_EQ(counts.at(3), 2u);
}

}  // namespace
}  // namespace carlo::sched
