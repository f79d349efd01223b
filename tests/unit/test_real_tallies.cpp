// Real (float64) tallies as words (core/tally_words.h) and in a TallyStore: exact whatever the
// order, the grouping or the path (private, shared atomic, carry-save reduction).
#include "core/tally_words.h"
#include "sched/tally_store.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>

namespace carlo {
namespace {

TallyLog scores_log(std::size_t tallies, std::size_t k,
                    std::vector<std::pair<std::uint64_t, double>> scores) {
  TallyLog log;
  log.tallies.resize(tallies);
  log.tallies[k].scores = std::move(scores);
  return log;
}

std::vector<std::pair<std::uint64_t, double>> adversarial(std::uint64_t bins, int n, int seed) {
  std::vector<std::pair<std::uint64_t, double>> out;
  for (int i = 0; i < n; ++i) {
    const int e = (i * 37 + seed * 11) % 200 - 100;
    const double v = std::ldexp(1.0 + i * 1e-3, e) * ((i + seed) % 3 == 0 ? -1 : 1);
    out.emplace_back(static_cast<std::uint64_t>(i * 13 + seed) % bins, v);
  }
  out.emplace_back(0, 1e300);
  out.emplace_back(0, -1e300);
  return out;
}

TEST(RealTallies, RealTallyWordsAreKLimbsPerBin) {
  EXPECT_EQ(tally_words({"a", 10, TallyKind::count}), 10u);
  EXPECT_EQ(tally_words({"b", 10, TallyKind::real}), 10u * ExactSum::kLimbs);
  const auto z = zero_tallies({{"a", 3}, {"b", 2, TallyKind::real}});
  EXPECT_EQ(z[0].size(), 3u);
  EXPECT_EQ(z[1].size(), 2u * ExactSum::kLimbs);
}

TEST(RealTallies, StoreSumsScoresExactlyInAnyOrderAndBatching) {
  const std::vector<TallySpec> specs{{"hits", 4}, {"flux", 5, TallyKind::real}};
  auto all = adversarial(5, 400, 1);
  sched::TallyStore one(specs);
  one.apply(scores_log(2, 1, all));
  sched::TallyStore many(specs);
  std::reverse(all.begin(), all.end());
  for (std::size_t i = 0; i < all.size(); i += 7)
    many.apply(
        scores_log(2, 1,
                   {all.begin() + static_cast<std::ptrdiff_t>(i),
                    all.begin() + static_cast<std::ptrdiff_t>(std::min(i + 7, all.size()))}));
  EXPECT_EQ(one.contents(), many.contents());
  const auto v = real_values(one.contents()[1]);
  ExactSum bin0;
  for (const auto& [b, x] : all) {
    if (b == 0) {
      ASSERT_TRUE(bin0.add(x));
    }
  }
  EXPECT_EQ(v[0], bin0.value());
}

TEST(RealTallies, SharedStoresAddingAtOnceEqualOnePrivateStore) {
  const std::vector<TallySpec> specs{{"flux", 3, TallyKind::real}};
  std::vector<std::uint64_t> words(3 * ExactSum::kLimbs, 0);
  std::vector<std::thread> threads;
  sched::TallyStore expected(specs);
  for (int t = 0; t < 4; ++t) expected.apply(scores_log(1, 0, adversarial(3, 3000, t)));
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      sched::TallyStore s({std::span<std::uint64_t>(words)}, /*shared=*/true, t == 0,
                          sched::TallyStore::kPrivateCacheBins, {TallyKind::real});
      s.apply(scores_log(1, 0, adversarial(3, 3000, t)));
      s.flush();
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(words, expected.contents()[0]);
}

TEST(RealTallies, AddTalliesMergesLimbsWithCarriesAndCountsWordByWord) {
  const std::vector<TallySpec> specs{{"c", 2}, {"r", 1, TallyKind::real}};
  auto a = zero_tallies(specs), b = zero_tallies(specs);
  a[0] = {1, 2};
  b[0] = {10, 20};
  ExactSum x, y;
  ASSERT_TRUE(x.add(-1.0));  // all-ones limbs: a word-by-word sum would lose the carries
  ASSERT_TRUE(y.add(2.5));
  std::copy(x.limbs().begin(), x.limbs().end(), a[1].begin());
  std::copy(y.limbs().begin(), y.limbs().end(), b[1].begin());
  add_tallies(a, b, specs);
  EXPECT_EQ(a[0], (std::vector<std::uint64_t>{11, 22}));
  EXPECT_EQ(real_values(a[1]), std::vector<double>{1.5});
}

TEST(RealTallies, CarrySaveHalvesSummedWordByWordGiveTheExactMerge) {
  std::vector<ExactSum> parts(5);
  ExactSum expected;
  for (int p = 0; p < 5; ++p) {
    for (const auto& [b, v] : adversarial(1, 200, p)) ASSERT_TRUE(parts[p].add(v));
    expected.merge(parts[p]);
  }
  std::vector<std::uint64_t> sum(2 * ExactSum::kLimbs, 0), halves(2 * ExactSum::kLimbs);
  for (const auto& p : parts) {  // what MPI_SUM over the leaders does
    limbs_to_halves(p.limbs(), halves);
    for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += halves[i];
  }
  std::vector<std::uint64_t> limbs(ExactSum::kLimbs);
  halves_to_limbs(sum, limbs);
  EXPECT_EQ(ExactSum(ExactSum::ConstLimbSpan(limbs.data(), ExactSum::kLimbs)), expected);
}

}  // namespace
}  // namespace carlo
