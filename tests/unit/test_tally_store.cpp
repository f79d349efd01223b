// TallyStore's striped path: workers sharing a large count tally add range by range under
// node-shared locks with plain adds; nothing may be lost, whatever the interleaving.
#include "sched/tally_store.h"

#include <gtest/gtest.h>

#include "core/exact_sum.h"

#include <bit>
#include <cstdint>
#include <optional>
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

// A worker's path: each task's log staged as the task ends, the batch applied later. Whatever the
// store (private; shared and striped, with bins at the stripes' edges; shared with atomic adds),
// the bins end up as the plain sum of the logs.
TEST(TallyStore, StagedTaskLogsAddUpToTheLogsInEveryStore) {
  const std::vector<TallySpec> specs{
      {"visits", kBins}, {"small", 10}, {"flux", 4, TallyKind::real}};
  const std::uint64_t width = std::uint64_t{1} << std::bit_width((kBins - 1) / 64);  // a stripe
  std::vector<TallyLog> tasks(5);
  std::vector<std::vector<std::uint64_t>> want{std::vector<std::uint64_t>(kBins, 0),
                                               std::vector<std::uint64_t>(10, 0)};
  for (std::size_t t = 0; t < tasks.size(); ++t) {
    auto& log = tasks[t] = batch(7, static_cast<int>(t));
    log.tallies.resize(3);
    for (std::uint64_t edge : {std::uint64_t{0}, width - 1, width, 2 * width, kBins - 1})
      log.tallies[0].ones.push_back(edge);
    log.tallies[1].ones.push_back(t);
    log.tallies[1].adds.emplace_back(9, 5);
    log.tallies[2].scores.emplace_back(t % 4, 0.5 + static_cast<double>(t));
    log.add_to(want);
  }
  sched::TallyStore reference(specs);  // scores: summed the same exact way, one task at a time
  for (const auto& log : tasks) reference.apply(log);
  std::vector<std::uint64_t> words(kBins + 10 + 4 * ExactSum::kLimbs, 0);
  std::vector<std::uint64_t> locks(sched::TallyStore::lock_words(specs), 0);
  auto views = [&] {
    std::span<std::uint64_t> w(words);
    return std::vector<std::span<std::uint64_t>>{w.first(kBins), w.subspan(kBins, 10),
                                                 w.subspan(kBins + 10)};
  };
  const std::vector<TallyKind> kinds{TallyKind::count, TallyKind::count, TallyKind::real};
  for (int store_kind = 0; store_kind < 3; ++store_kind) {
    std::fill(words.begin(), words.end(), 0);
    std::optional<sched::TallyStore> store;
    if (store_kind == 0) store.emplace(specs);
    else
      store.emplace(views(), /*shared=*/true, /*collector=*/true,
                    sched::TallyStore::kPrivateCacheBins, kinds,
                    store_kind == 1 ? std::span<std::uint64_t>(locks) : std::span<std::uint64_t>());
    sched::StagedLog staged;
    for (const auto& log : tasks) store->stage(log, staged);
    EXPECT_EQ(staged.size(),
              [&] {
                std::size_t n = 0;
                for (const auto& log : tasks)
                  for (const auto& t : log.tallies)
                    n += t.ones.size() + t.adds.size() + t.scores.size();
                return n;
              }())
        << "store " << store_kind;
    store->apply(staged);
    store->flush();
    const auto got = store->contents();
    EXPECT_EQ(got[0], want[0]) << "store " << store_kind;
    EXPECT_EQ(got[1], want[1]) << "store " << store_kind;
    EXPECT_EQ(got[2], reference.contents()[2]) << "store " << store_kind;
  }
}

}  // namespace
}  // namespace carlo
