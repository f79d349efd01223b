// Tallies kept once per node (src/cli/node_tallies.*): every rank of a node adds into one shared
// copy, and the job's totals reach rank 0 exactly.
#include "engine/node_tallies.h"
#include "mpi_test_env.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace carlo::engine
