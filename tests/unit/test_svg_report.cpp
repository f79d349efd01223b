// The series `carlo report --plot` draws (src/report/svg_report.h): built from values arriving in
// pieces of any size, in two passes, they are bitwise those of the whole column at once, so the
// plot of a huge file can stream it.
#include "report/svg_report.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <vector>

namespace carlo::report {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

/// Data with NaN (tasks not done) and ±inf among the values drawn by `draw`.
template <class Draw>
std::vector<double> with_gaps(std::size_t n, std::uint64_t seed, Draw draw) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> kind(0, 19);
  std::vector<double> v(n);
  for (double& x : v) {
    const int k = kind(rng);
    x = k == 0 ? kNaN : k == 1 ? kInf : k == 2 ? -kInf : draw(rng);
  }
  return v;
}

/// The data sets: continuous, lattice (integers, k/8 fractions), a lattice too wide (squares to
/// 144), values off their finest lattice, too many distinct values, all equal, nothing finite,
/// nothing at all.
std::vector<std::vector<double>> data_sets() {
  std::normal_distribution<double> normal(3, 2);
  std::uniform_int_distribution<int> small(0, 12), many(0, 130);
  const double off[] = {0, 1, 2.5, 7};
  return {
      with_gaps(5000, 1, [&](auto& r) { return normal(r); }),
      with_gaps(3000, 2, [&](auto& r) { return static_cast<double>(small(r)); }),
      with_gaps(3000, 3, [&](auto& r) { return small(r) / 8.0; }),
      with_gaps(2000, 4, [&](auto& r) { return static_cast<double>(small(r) * small(r)); }),
      with_gaps(2000, 7, [&](auto& r) { return off[static_cast<std::size_t>(small(r) % 4)]; }),
      with_gaps(4000, 5, [&](auto& r) { return static_cast<double>(many(r)); }),
      with_gaps(500, 6, [](auto&) { return 0.25; }),
      {kNaN, kInf, -kInf, kNaN},
      {},
  };
}

/// `pass` applied to consecutive pieces of `values` of `size` values (the last one shorter).
template <class Pass>
void in_pieces(const std::vector<double>& values, std::size_t size, Pass pass) {
  const std::span<const double> all(values);
  for (std::size_t first = 0; first < all.size(); first += size)
    pass(all.subspan(first, std::min(size, all.size() - first)));
}

bool same_bits(double a, double b) {
  return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

TEST(PlotSeries, HistogramOfPiecesIsTheHistogramOfTheWholeColumn) {
  for (const auto& values : data_sets()) {
    const Histogram whole = make_histogram(values);
    for (const std::size_t size : {1, 2, 7, 1000, 100000}) {
      HistogramBuilder b;
      in_pieces(values, size, [&](auto piece) { b.observe(piece); });
      in_pieces(values, size, [&](auto piece) { b.count(piece); });
      const Histogram h = b.histogram();
      EXPECT_TRUE(same_bits(h.lo, whole.lo) && same_bits(h.hi, whole.hi))
          << values.size() << " values in pieces of " << size;
      EXPECT_EQ(h.counts, whole.counts) << values.size() << " values in pieces of " << size;
    }
  }
}

TEST(PlotSeries, RunningEstimateOfPiecesIsThatOfTheWholeColumn) {
  for (const auto& values : data_sets()) {
    for (const std::size_t max_points :
         {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{1000}}) {
      const auto whole = running_estimate(values, max_points);
      for (const std::size_t size : {1, 3, 1000, 100000}) {
        RunningBuilder b(max_points);
        in_pieces(values, size, [&](auto piece) { b.observe(piece); });
        in_pieces(values, size, [&](auto piece) { b.add(piece); });
        const auto got = b.points();
        ASSERT_EQ(got.size(), whole.size()) << "pieces of " << size;
        for (std::size_t i = 0; i < got.size(); ++i)
          EXPECT_TRUE(got[i].tasks == whole[i].tasks && same_bits(got[i].mean, whole[i].mean) &&
                      same_bits(got[i].half_width, whole[i].half_width))
              << "point " << i << ", pieces of " << size;
      }
    }
  }
}

TEST(PlotSeries, TheDataSetsReachEveryWayOfChoosingBins) {
  // Guards that the comparisons above cover lattice bins, Rice's rule and the degenerate cases.
  const auto sets = data_sets();
  const auto rice = [](const std::vector<double>& v) {
    const auto n = std::count_if(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
    return static_cast<std::size_t>(std::ceil(2 * std::cbrt(static_cast<double>(n))));
  };
  EXPECT_EQ(make_histogram(sets[1]).counts.size(), 13u);  // one bin per integer 0..12
  EXPECT_EQ(make_histogram(sets[2]).counts.size(), 13u);  // one per k/8
  for (const std::size_t i : {0, 3, 4, 5})  // continuous, too wide, off-lattice, too many values
    EXPECT_EQ(make_histogram(sets[i]).counts.size(), rice(sets[i])) << "data set " << i;
  EXPECT_EQ(make_histogram(sets[6]).counts.size(), 1u);  // all equal
  EXPECT_TRUE(make_histogram(sets[7]).counts.empty());   // nothing finite
  EXPECT_TRUE(make_histogram(sets[8]).counts.empty());   // nothing
}

TEST(PlotSeries, RunningEstimateCountsInfinitiesButNotNaN) {
  const std::vector<double> v{1, kNaN, 3, kInf};
  const auto points = running_estimate(v, 10);
  ASSERT_EQ(points.size(), 3u);
  EXPECT_EQ(points[1].tasks, 2u);
  EXPECT_EQ(points[1].mean, 2.0);
  EXPECT_EQ(points[2].tasks, 3u);
}

}  // namespace
}  // namespace carlo::report
