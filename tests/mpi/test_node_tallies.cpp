// Tallies kept once per node (src/cli/node_tallies.*): every rank of a node adds into one shared
// copy, and the job's totals reach rank 0 exactly.
#include "core/tally_words.h"
#include "engine/node_tallies.h"
#include "mpi_test_env.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

namespace carlo::engine {
namespace {

using test::runtime;

// Rank r logs, for every bin i of each tally: +1 if (i + r) % 3 == 0, and +r at bin r.
TallyLog log_of_rank(int r, const std::vector<TallySpec>& specs) {
  TallyLog log;
  log.tallies.resize(specs.size());
  for (std::size_t k = 0; k < specs.size(); ++k) {
    for (std::uint64_t i = 0; i < specs[k].length; ++i)
      if ((i + static_cast<std::uint64_t>(r)) % 3 == 0) log.tallies[k].ones.push_back(i);
    log.tallies[k].adds.emplace_back(static_cast<std::uint64_t>(r), static_cast<std::uint64_t>(r));
  }
  return log;
}

TEST(NodeTallies, EveryRanksCountsReachRankZeroOnce) {
  const auto& rt = runtime();
  // One tally small enough to be cached per rank, one added to with atomics.
  const std::vector<TallySpec> specs = {{"small", 100},
                                        {"large", sched::TallyStore::kPrivateCacheBins + 1000}};
  NodeTallies tallies(rt, specs);
  EXPECT_EQ(tallies.store().shared(), rt.node_size() > 1);
  EXPECT_EQ(tallies.store().collector(), rt.is_leader());
  const TallyLog log = log_of_rank(rt.world_rank(), specs);
  tallies.store().apply(log);
  tallies.store().apply(log);  // twice: the sums must not depend on how adds are grouped
  tallies.store().flush();
  const auto totals = tallies.reduce(rt);
  if (rt.world_rank() != 0) return;
  ASSERT_EQ(totals.size(), 2u);
  for (std::size_t k = 0; k < specs.size(); ++k) {
    ASSERT_EQ(totals[k].size(), specs[k].length);
    for (std::uint64_t i = 0; i < specs[k].length; ++i) {
      std::uint64_t expected = 0;
      for (int r = 0; r < rt.world_size(); ++r) {
        if ((i + static_cast<std::uint64_t>(r)) % 3 == 0) expected += 2;
        if (i == static_cast<std::uint64_t>(r)) expected += 2 * i;
      }
      ASSERT_EQ(totals[k][i], expected) << specs[k].name << " bin " << i;
    }
  }
}

TEST(NodeTallies, TheRanksOfANodeAddIntoOneCopy) {
  const auto& rt = runtime();
  NodeTallies tallies(rt, {{"visits", 4096}});
  TallyLog log;
  log.tallies.resize(1);
  log.tallies[0].adds.emplace_back(7, 1);
  tallies.store().apply(log);  // a small tally: cached by the rank until the flush
  tallies.store().flush();
  rt.node_barrier();
  // After every rank of the node flushed, each sees the node's total in the shared bins.
  EXPECT_EQ(tallies.store().contents()[0][7], static_cast<std::uint64_t>(rt.node_size()));
  rt.node_barrier();  // nobody reduces (and frees) before all have looked
  tallies.reduce(rt);
}

// Rank r scores into bin i: 2^(i + 7r % 90 - 45) and -1 (carries and borrows across limbs).
TallyLog scores_of_rank(int r, std::uint64_t bins) {
  TallyLog log;
  log.tallies.resize(1);
  for (std::uint64_t i = 0; i < bins; ++i) {
    log.tallies[0].scores.emplace_back(i, std::ldexp(1.0, static_cast<int>(i + 7 * r % 90) - 45));
    log.tallies[0].scores.emplace_back(i, -1.0);
  }
  return log;
}

// A real tally crosses the leaders' reduction as carry-save halves: its totals are the exact sums.
// The node's bins and stripe locks are not cleared after allocation: a new segment is zero-filled.
// A second set of tallies, made after another was filled and freed, must start empty and unlocked.
TEST(NodeTallies, NewTalliesStartEmptyAfterOthersWereFilled) {
  const auto& rt = runtime();
  const std::vector<TallySpec> specs = {{"large", sched::TallyStore::kPrivateCacheBins + 1000}};
  const TallyLog log = log_of_rank(rt.world_rank(), specs);
  {
    NodeTallies first(rt, specs);
    first.store().apply(log);
    first.store().flush();
    (void)first.reduce(rt);
  }
  NodeTallies second(rt, specs);
  second.store().apply(log);  // striped on a shared node: would hang on a lock left taken
  second.store().flush();
  const auto totals = second.reduce(rt);
  if (rt.world_rank() != 0) return;
  ASSERT_EQ(totals.size(), 1u);
  for (std::uint64_t i = 0; i < specs[0].length; ++i) {
    std::uint64_t expected = 0;
    for (int r = 0; r < rt.world_size(); ++r) {
      if ((i + static_cast<std::uint64_t>(r)) % 3 == 0) expected += 1;
      if (i == static_cast<std::uint64_t>(r)) expected += i;
    }
    ASSERT_EQ(totals[0][i], expected) << "bin " << i;
  }
}

TEST(NodeTallies, RealTalliesReachRankZeroAsExactSums) {
  const auto& rt = runtime();
  for (const std::uint64_t bins : {std::uint64_t{50}, sched::TallyStore::kPrivateCacheBins}) {
    const std::vector<TallySpec> specs = {{"flux", bins, TallyKind::real}};
    NodeTallies tallies(rt, specs);  // 50 bins: cached per rank; the other: add_atomic
    tallies.store().apply(scores_of_rank(rt.world_rank(), bins));
    tallies.store().flush();
    const auto totals = tallies.reduce(rt);
    if (rt.world_rank() != 0) continue;
    ASSERT_EQ(totals[0].size(), tally_words(specs[0]));
    const std::vector<double> v = real_values(totals[0]);
    for (std::uint64_t i = 0; i < bins; ++i) {
      ExactSum expected;
      for (int r = 0; r < rt.world_size(); ++r) {
        (void)expected.add(std::ldexp(1.0, static_cast<int>(i + 7 * r % 90) - 45));
        (void)expected.add(-1.0);
      }
      ASSERT_EQ(v[i], expected.value()) << bins << " bins, bin " << i;
    }
  }
}

}  // namespace
}  // namespace carlo::engine
