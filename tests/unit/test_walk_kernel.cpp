// The `walk` kernel (src/sims/walk_kernel.h) below the simulation: the compact row index it reads
// by default, the uint64 offsets it falls back to, and the pre-drawn form of below(). The
// simulation's own tests (test_walk.cpp) check the visits against the definition.
#include "sims/walk_kernel.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <span>
#include <utility>
#include <vector>

namespace {

namespace wd = carlo::sims::walk_detail;

/// A CSR graph of `n` nodes with R-MAT-like skewed degrees and many empty rows, built from a
/// carlo::Stream.
struct Csr {
  std::vector<std::uint64_t> offsets{0};
  std::vector<std::int64_t> values;
  explicit Csr(std::uint64_t n) {
    std::vector<std::vector<std::int64_t>> rows(n);
    carlo::Stream rng(5, 0);
    for (std::uint64_t e = 0; e < 16 * n; ++e) {
      std::uint64_t src = 0, dst = 0;
      for (std::uint64_t bit = 1; bit < n; bit <<= 1) {
        const double u = rng.uniform();
        const std::uint64_t a = u < 0.57 ? 0 : u < 0.76 ? 1 : u < 0.95 ? 2 : 3;
        src = (src << 1) | (a >> 1);
        dst = (dst << 1) | (a & 1);
      }
      rows[src].push_back(static_cast<std::int64_t>(dst));
    }
    for (const auto& r : rows) {
      values.insert(values.end(), r.begin(), r.end());
      offsets.push_back(values.size());
    }
  }
  carlo::RaggedView view() const {
    carlo::RaggedView g;
    g.offsets = offsets.data();
    g.values = values.data();
    g.rows = offsets.size() - 1;
    g.n_values = values.size();
    g.dtype = carlo::DType::int64;
    return g;
  }
};

struct Visits {
  std::vector<std::uint64_t> counts;
  std::uint64_t steps = 0;
  bool operator==(const Visits&) const = default;
};

/// Runs task `id` (seed 3) over `index`, counting visits per node.
template <class Index>
Visits walk(const Index& index, const carlo::RaggedView& g, std::uint64_t walks, std::uint64_t id) {
  Visits v;
  v.counts.assign(g.rows, 0);
  v.steps = wd::run_walks<std::int64_t>(
      index, wd::readable_values<std::int64_t>(g), g.rows, walks, wd::continue_threshold(0.85),
      [&](std::size_t lane) { return carlo::Stream(3, id, lane + 1); },
      [&](std::span<const std::uint64_t> nodes) {
        for (const std::uint64_t n : nodes) ++v.counts[n];
      });
  return v;
}

TEST(WalkKernel, CompactOffsetsHoldEveryOffsetAsUint32) {
  const Csr csr(1024);
  const auto g = csr.view();
  const wd::CompactOffsets compact(g);
  for (std::uint64_t i = 0; i <= g.rows; ++i)
    ASSERT_EQ(compact.data()[i], g.offsets[i]) << "offset " << i;
  EXPECT_EQ(compact.bytes(), 4096u + 4096u);  // 4 x 1025 bytes in 4 KiB pages
}

TEST(WalkKernel, CompactOffsetsOfTwoMiBOrMoreStartOnAHugePageBoundary) {
  // 2^20 empty rows: 4 MiB + 4 bytes of offsets, two huge pages and one 4 KiB page.
  const std::vector<std::uint64_t> zeros((std::uint64_t{1} << 20) + 1, 0);
  carlo::RaggedView g;
  g.offsets = zeros.data();
  g.rows = zeros.size() - 1;
  const wd::CompactOffsets compact(g);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(compact.data()) % wd::CompactOffsets::kHugePage, 0u);
  EXPECT_EQ(compact.bytes(), 2 * wd::CompactOffsets::kHugePage + 4096);
  EXPECT_EQ(compact.data()[g.rows], 0u);
}

TEST(WalkKernel, CompactOffsetsFitOnlyGraphsWithFewerThan2To32Values) {
  carlo::RaggedView g;
  g.n_values = std::numeric_limits<std::uint32_t>::max();
  EXPECT_TRUE(wd::CompactOffsets::fits(g));
  g.n_values += 1;
  EXPECT_FALSE(wd::CompactOffsets::fits(g));
}

TEST(WalkKernel, MovedCompactOffsetsKeepTheirDataAndLeaveTheSourceEmpty) {
  const Csr csr(256);
  wd::CompactOffsets a(csr.view());
  const std::uint32_t* data = a.data();
  wd::CompactOffsets b(std::move(a));
  EXPECT_EQ(b.data(), data);
  EXPECT_EQ(a.data(), nullptr);  // the moved-from state is what is checked
  wd::CompactOffsets c(Csr(64).view());
  c = std::move(b);
  EXPECT_EQ(c.data(), data);
  EXPECT_EQ(c.data()[256], csr.values.size());
}

TEST(WalkKernel, CompactIndexAndUint64OffsetsGiveTheSameVisits) {
  const Csr csr(512);
  const auto g = csr.view();
  const wd::CompactOffsets compact(g);
  for (std::uint64_t walks : {1u, 31u, 32u, 33u, 1000u})
    for (std::uint64_t id : {0u, 9u, 77777u}) {
      const Visits shared = walk(wd::OffsetIndex<std::uint64_t>{g.offsets}, g, walks, id);
      EXPECT_EQ(walk(compact.index(), g, walks, id), shared) << "walks " << walks << " task " << id;
      EXPECT_GE(shared.steps, walks);
    }
}

TEST(WalkKernel, RaggedViewOverloadReadsTheGraphsOwnOffsets) {
  const Csr csr(512);
  const auto g = csr.view();
  Visits v;
  v.counts.assign(g.rows, 0);
  v.steps = wd::run_walks<std::int64_t>(
      g, 1000, wd::continue_threshold(0.85),
      [&](std::size_t lane) { return carlo::Stream(3, 5, lane + 1); },
      [&](std::span<const std::uint64_t> nodes) {
        for (const std::uint64_t n : nodes) ++v.counts[n];
      });
  EXPECT_EQ(v, walk(wd::CompactOffsets(g).index(), g, 1000, 5));
}

TEST(WalkKernel, BelowFromAPreDrawnNumberMatchesBelowIncludingRejections) {
  // n just above 2^63 rejects about half of the draws, so the extra draws are exercised.
  for (const std::uint64_t n :
       {std::uint64_t{1}, std::uint64_t{7}, std::uint64_t{1} << 22, (std::uint64_t{1} << 63) + 1}) {
    carlo::Stream a(1, 2, 3), b(1, 2, 3);
    for (int k = 0; k < 1000; ++k) {
      const std::uint64_t u = b.next_u64();
      ASSERT_EQ(wd::below_from(b, u, n), wd::below(a, n)) << "n " << n << " draw " << k;
    }
    EXPECT_EQ(a.next_u64(), b.next_u64()) << "n " << n;  // both streams consumed alike
  }
}

}  // namespace
