// Summary statistics stored in results files: definitions (numpy's percentiles, sample sd,
// compensated mean), NaN skipping, and the exactness of the bounded-memory selection path.

#include "io/results_file.h"
#include "io/results_internal.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace carlo::io {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// Bitwise equality of every field (NaN equals NaN, -0 differs from +0).
void expect_identical(const Summary& a, const Summary& b) {
  EXPECT_EQ(a.count, b.count);
  const auto bits = [](double x) { return std::bit_cast<std::uint64_t>(x); };
  EXPECT_EQ(bits(a.mean), bits(b.mean)) << a.mean << " vs " << b.mean;
  EXPECT_EQ(bits(a.sd), bits(b.sd)) << a.sd << " vs " << b.sd;
  EXPECT_EQ(bits(a.stderr_), bits(b.stderr_));
  EXPECT_EQ(bits(a.min), bits(b.min)) << a.min << " vs " << b.min;
  EXPECT_EQ(bits(a.max), bits(b.max)) << a.max << " vs " << b.max;
  EXPECT_EQ(bits(a.p2_5), bits(b.p2_5)) << a.p2_5 << " vs " << b.p2_5;
  EXPECT_EQ(bits(a.p50), bits(b.p50)) << a.p50 << " vs " << b.p50;
  EXPECT_EQ(bits(a.p97_5), bits(b.p97_5)) << a.p97_5 << " vs " << b.p97_5;
}

/// `values` presented in chunks of `chunk`, as results files are read.
detail::Scan chunked(const std::vector<double>& values, std::size_t chunk) {
  return [&values, chunk](const detail::ChunkVisitor& visit) {
    for (std::size_t i = 0; i < values.size(); i += chunk)
      visit(std::span<const double>(values).subspan(i, std::min(chunk, values.size() - i)));
  };
}

TEST(Summary, PercentilesInterpolateLinearlyLikeNumpy) {
  const std::vector<double> v = {4, 1, 3, 2};
  const Summary s = summarize(v);
  EXPECT_EQ(s.count, 4u);
  EXPECT_EQ(s.p2_5, 1.075);  // numpy.percentile([1,2,3,4], 2.5)
  EXPECT_EQ(s.p50, 2.5);
  EXPECT_EQ(s.p97_5, 3.925);
  EXPECT_EQ(s.min, 1);
  EXPECT_EQ(s.max, 4);
}

TEST(Summary, MomentsAreTheSampleDefinitions) {
  const Summary s = summarize(std::vector<double>{1, 2, 3, 4});
  EXPECT_EQ(s.mean, 2.5);
  EXPECT_DOUBLE_EQ(s.sd, std::sqrt(5.0 / 3.0));  // n - 1 in the denominator
  EXPECT_DOUBLE_EQ(s.stderr_, std::sqrt(5.0 / 3.0) / 2);
}

TEST(Summary, MatchesNumpyOnAnIrregularSample) {
  std::vector<double> v;
  for (int i = 0; i <= 10; ++i) v.push_back(i * i / 7.0);
  v.push_back(-3.25);
  v.push_back(1e-3);
  const Summary s = summarize(v);
  // numpy 1.24: np.percentile(x, [2.5, 50, 97.5]), x.mean(), x.std(ddof=1), sd / sqrt(n)
  EXPECT_EQ(s.p2_5, -2.275);
  EXPECT_EQ(s.p50, 2.2857142857142856);
  EXPECT_EQ(s.p97_5, 13.47142857142857);
  EXPECT_DOUBLE_EQ(s.mean, 3.9808461538461537);
  EXPECT_DOUBLE_EQ(s.sd, 5.17646703595792);
  EXPECT_DOUBLE_EQ(s.stderr_, 1.4356936402996443);
  EXPECT_EQ(s.min, -3.25);
  EXPECT_EQ(s.max, 14.285714285714286);
}

TEST(Summary, SkipsNaNs) {
  const Summary with_nan = summarize(std::vector<double>{kNaN, 1, kNaN, 2, 3, 4, kNaN});
  const Summary without = summarize(std::vector<double>{1, 2, 3, 4});
  expect_identical(with_nan, without);
}

TEST(Summary, SingleValueHasNaNSpread) {
  // Like numpy's std(ddof=1) and R's sd(): one value says nothing about the spread.
  const Summary s = summarize(std::vector<double>{kNaN, 7.5});
  EXPECT_EQ(s.count, 1u);
  EXPECT_EQ(s.mean, 7.5);
  EXPECT_TRUE(std::isnan(s.sd));
  EXPECT_TRUE(std::isnan(s.stderr_));
  EXPECT_EQ(s.min, 7.5);
  EXPECT_EQ(s.max, 7.5);
  EXPECT_EQ(s.p2_5, 7.5);
  EXPECT_EQ(s.p50, 7.5);
  EXPECT_EQ(s.p97_5, 7.5);
}

TEST(Summary, EmptyOrAllNaNHasCountZeroAndNaNStatistics) {
  for (const auto& v : {std::vector<double>{}, std::vector<double>{kNaN, kNaN}}) {
    const Summary s = summarize(v);
    EXPECT_EQ(s.count, 0u);
    for (double x : {s.mean, s.sd, s.stderr_, s.min, s.max, s.p2_5, s.p50, s.p97_5})
      EXPECT_TRUE(std::isnan(x));
  }
}

TEST(Summary, MeanIsCompensated) {
  // A plain left-to-right sum loses the 1 entirely.
  const Summary s = summarize(std::vector<double>{1e16, 1, -1e16});
  EXPECT_EQ(s.mean, 1.0 / 3.0);
}

TEST(Summary, PercentilesDependOnlyOnTheValuesNotTheirOrder) {
  std::mt19937_64 gen(3);
  std::normal_distribution<double> normal;
  std::vector<double> v(10001);
  for (auto& x : v) x = normal(gen);
  const Summary a = summarize(v);
  std::shuffle(v.begin(), v.end(), gen);
  const Summary b = summarize(v);
  EXPECT_EQ(a.p2_5, b.p2_5);
  EXPECT_EQ(a.p50, b.p50);
  EXPECT_EQ(a.p97_5, b.p97_5);
  EXPECT_EQ(a.min, b.min);
  EXPECT_EQ(a.max, b.max);
}

TEST(Summary, OrderKeyPreservesTheOrderOfDoubles) {
  const std::vector<double> sorted = {
      -std::numeric_limits<double>::infinity(), -1e300, -1, -1e-300, -0.0, 0.0, 1e-310, 1, 2, 1e300,
      std::numeric_limits<double>::infinity()};
  for (std::size_t i = 0; i + 1 < sorted.size(); ++i)
    EXPECT_LT(detail::order_key(sorted[i]), detail::order_key(sorted[i + 1])) << sorted[i];
  for (double x : sorted)
    EXPECT_EQ(std::bit_cast<std::uint64_t>(detail::from_order_key(detail::order_key(x))),
              std::bit_cast<std::uint64_t>(x));
}

TEST(Summary, BoundedMemorySelectionEqualsInMemorySelection) {
  std::mt19937_64 gen(11);
  std::normal_distribution<double> normal(5, 3);
  std::vector<double> v(200003);
  for (auto& x : v) x = normal(gen);
  for (std::size_t i = 0; i < v.size(); i += 17) v[i] = kNaN;
  const Summary in_memory = summarize(v);
  for (std::uint64_t keys : {std::uint64_t{1}, std::uint64_t{1000}, std::uint64_t{150000}})
    expect_identical(detail::summarize_scan(chunked(v, 4099), keys), in_memory);
}

TEST(Summary, BoundedMemorySelectionResolvesHeavyTies) {
  // Few distinct values: each candidate set stays larger than the budget down to all 64 bits.
  std::mt19937_64 gen(5);
  const std::vector<double> choices = {-2.5, -0.0,  0.0,
                                       1,    1e300, std::numeric_limits<double>::infinity()};
  std::vector<double> v(50000);
  for (auto& x : v) x = choices[gen() % 4];  // no infinity: keep the mean finite
  v[123] = choices[4];
  const Summary in_memory = summarize(v);
  expect_identical(detail::summarize_scan(chunked(v, 1000), 10), in_memory);
  expect_identical(detail::summarize_scan(chunked(v, 7), 1), in_memory);
}

TEST(Summary, ChunkingDoesNotChangeAnyBit) {
  std::mt19937_64 gen(8);
  std::uniform_real_distribution<double> uni(-1e6, 1e6);
  std::vector<double> v(30011);
  for (auto& x : v) x = uni(gen);
  const Summary whole = summarize(v);
  expect_identical(detail::summarize_scan(chunked(v, 1)), whole);
  expect_identical(detail::summarize_scan(chunked(v, 977)), whole);
}

}  // namespace
}  // namespace carlo::io
