// TallyStore's striped path: workers sharing a large count tally add range by range under
// node-shared locks with plain adds; nothing may be lost, whatever the interleaving.
#include "sched/tally_store.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <thread>
#include <vector>

namespace carlo {
namespace {

constexpr std::uint64_t kBins = 100'000;  // above kPrivateCacheBins: striped, not cached

// Worker w's batch b: 20,000 unit adds, half of them into the first stripe (so workers meet on
// its lock), and a few counted adds.
TallyLog batch(int w, int b) {
  std::mt19937_64 rng(static_cast<std::uint64_t>(w) * 1000 + static_cast<std::uint64_t>(b));
  TallyLog log;
  log.tallies.resize(1);
  for (int i = 0; i < 20'000; ++i)
    log.tallies[0].ones.push_back(i % 2 == 0 ? rng() % 1000 : rng() % kBins);
  for (int i = 0; i < 10; ++i) log.tallies[0].adds.emplace_back(rng() % kBins, 1 + rng() % 7);
  return log;
}

TEST(TallyStore, LockWordsAreTakenByLargeCountTalliesOnly) {
  using sched::TallyStore;
  const std::uint64_t per = TallyStore::kStripes * TallyStore::kLockStride;
  EXPECT_EQ(TallyStore::lock_words({{"small", 100}}), 0u);
  EXPECT_EQ(TallyStore::lock_words({{"big", kBins}}), per);
  EXPECT_EQ(TallyStore::lock_words({{"big", kBins}, {"flux", kBins, TallyKind::real}}), per);
  EXPECT_EQ(TallyStore::lock_words({{"a", kBins}, {"b", kBins + 1}}), 2 * per);
}

TEST(TallyStore, StripedStoresAddingAtOnceLoseNothing) {
  constexpr int kWorkers = 4, kBatches = 30;
  sched::TallyStore expected({{"visits", kBins}});
  for (int w = 0; w < kWorkers; ++w)
    for (int b = 0; b < kBatches; ++b) expected.apply(batch(w, b));
  std::vector<std::uint64_t> bins(kBins, 0);
  std::vector<std::uint64_t> locks(sched::TallyStore::lock_words({{"visits", kBins}}), 0);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w)
    threads.emplace_back([&, w] {
      sched::TallyStore s({std::span<std::uint64_t>(bins)}, /*shared=*/true, w == 0,
                          sched::TallyStore::kPrivateCacheBins, {}, locks);
      for (int b = 0; b < kBatches; ++b) s.apply(batch(w, b));
      s.flush();
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(bins, expected.contents()[0]);
  for (std::uint64_t l : locks) EXPECT_EQ(l, 0u) << "a lock left taken";
}

}  // namespace
}  // namespace carlo
