// row_share (src/core/row_share.h): how the ranks of a node split the rows they check
// (SimulationInfo::check_data). The shares must partition the rows, in order, whatever the row
// lengths and the number of ranks, with about equal values + rows each.

#include "core/row_share.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace {

using carlo::RowRange;

std::vector<std::uint64_t> offsets_of(const std::vector<std::uint64_t>& lengths) {
  std::vector<std::uint64_t> offsets{0};
  for (auto n : lengths) offsets.push_back(offsets.back() + n);
  return offsets;
}

/// Values + rows of a share.
std::uint64_t cost(const std::vector<std::uint64_t>& offsets, RowRange r) {
  return offsets[r.last] - offsets[r.first] + r.size();
}

/// The shares of `parts` ranks, checked to be consecutive, in order and to cover [0, rows), each
/// costing at most its part of the total plus one row.
std::vector<RowRange> shares(const std::vector<std::uint64_t>& offsets, std::uint64_t parts) {
  const std::uint64_t rows = offsets.size() - 1;
  std::uint64_t longest = 0;
  for (std::uint64_t i = 0; i < rows; ++i) longest = std::max(longest, offsets[i + 1] - offsets[i]);
  const std::uint64_t total = offsets.back() + rows;
  std::vector<RowRange> out;
  std::uint64_t next = 0;
  for (std::uint64_t p = 0; p < parts; ++p) {
    const RowRange r = carlo::row_share(offsets.data(), rows, p, parts);
    EXPECT_EQ(r.first, next) << "share " << p << " of " << parts;
    EXPECT_LE(r.first, r.last) << "share " << p << " of " << parts;
    if (!r.empty()) {
      EXPECT_LE(cost(offsets, r), (total + parts - 1) / parts + longest + 1)
          << "share " << p << " of " << parts;
    }
    next = r.last;
    out.push_back(r);
  }
  EXPECT_EQ(next, rows) << parts << " shares";
  return out;
}

TEST(RowShare, NoRowsGiveEveryRankAnEmptyShare) {
  for (const RowRange& r : shares({0}, 3)) EXPECT_TRUE(r.empty());
}

TEST(RowShare, OneRowGoesToExactlyOneRank) {
  for (std::uint64_t parts : {1u, 2u, 5u}) {
    std::uint64_t holding = 0;
    for (const RowRange& r : shares(offsets_of({7}), parts)) holding += r.size();
    EXPECT_EQ(holding, 1u) << parts << " ranks";
  }
}

TEST(RowShare, MoreRanksThanRowsLeaveSomeEmptyAndCoverEveryRowOnce) {
  const auto offsets = offsets_of({2, 0, 3});
  std::uint64_t non_empty = 0;
  for (const RowRange& r : shares(offsets, 8)) non_empty += r.empty() ? 0 : 1;
  EXPECT_EQ(non_empty, 3u);
}

TEST(RowShare, BalancesValuesNotRows) {
  // One row of 3000 values, then 1000 rows of one value: the first row is more than half.
  std::vector<std::uint64_t> lengths(1001, 1);
  lengths[0] = 3000;
  const auto offsets = offsets_of(lengths);
  EXPECT_EQ(shares(offsets, 2)[0].last, 1u);  // the long row alone
  for (std::uint64_t parts : {3u, 4u, 16u}) shares(offsets, parts);
  // Equal rows: equal shares.
  for (const RowRange& r : shares(offsets_of(std::vector<std::uint64_t>(1000, 10)), 4))
    EXPECT_EQ(r.size(), 250u);
}

TEST(RowShare, SplitsBeyondFourBillionValuesInto64BitRanges) {
  // 2^33 values in 4 rows of 2^31: no count fits 32 bits (only the offsets exist, no values).
  const std::uint64_t g = std::uint64_t{1} << 31;
  const auto offsets = offsets_of({g, g, g, g});
  ASSERT_EQ(offsets.back(), std::uint64_t{1} << 33);
  const auto two = shares(offsets, 2);
  EXPECT_EQ(two[0].last, 2u);
  const auto four = shares(offsets, 4);
  for (std::uint64_t p = 0; p < 4; ++p) EXPECT_EQ(four[p].first, p);
  for (std::uint64_t parts : {3u, 7u, 64u}) shares(offsets, parts);
}

}  // namespace
