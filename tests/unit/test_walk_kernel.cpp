// The `walk` kernel (src/sims/walk_kernel.h) below the simulation: for any number of lanes and
// either row index (the compact one it reads by default, the uint64 offsets it falls back to) it
// gives exactly the visits of the definition run one walk at a time; lanes are refilled as walks
// end; the compact index; the pre-drawn form of below(). test_walk.cpp tests the simulation.

#include "sims/walk_kernel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <initializer_list>
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

/// A small graph with every kind of row: duplicates (0 -> 1 twice, 4 -> 5 three times), empty rows
/// (3 and 6), self loops (1 -> 1, 7 -> 7).
struct Small : Csr {
  Small() : Csr(0) {
    const std::vector<std::vector<std::int64_t>> rows = {{1, 1, 2},    {2, 1}, {0, 3}, {},
                                                         {3, 5, 5, 5}, {4, 0}, {},     {7, 0}};
    offsets = {0};
    values.clear();
    for (const auto& r : rows) {
      values.insert(values.end(), r.begin(), r.end());
      offsets.push_back(values.size());
    }
  }
};

struct Visits {
  std::vector<std::uint64_t> counts;
  std::uint64_t steps = 0;
  bool operator==(const Visits&) const = default;
};

constexpr std::uint64_t kSeed = 3;

/// Uniform in [0, n): Lemire's multiply-and-reject on 64-bit draws, written out again here.
std::uint64_t uniform_below(carlo::Stream& rng, std::uint64_t n) {
  for (;;) {
    const auto m = static_cast<carlo::uint128_t>(rng.next_u64()) * n;
    if (static_cast<std::uint64_t>(m) >= (0 - n) % n) return static_cast<std::uint64_t>(m >> 64);
  }
}

/// The definition, one walk at a time: walk w of task `id` draws its start node, every go-on
/// decision and every move from its own stream Substreams(seed, id)(w) == task.substream(w).
/// Also returns the longest walk (in visits) through `longest`.
Visits reference(const carlo::RaggedView& g, std::uint64_t walks, double alpha, std::uint64_t id,
                 std::uint64_t* longest = nullptr) {
  const auto* values = static_cast<const std::int64_t*>(g.values);
  const std::uint64_t continue_below = wd::continue_threshold(alpha);
  Visits v;
  v.counts.assign(g.rows, 0);
  std::uint64_t max_len = 0;
  const carlo::Substreams substream(kSeed, id);
  for (std::uint64_t w = 0; w < walks; ++w) {
    carlo::Stream rng = substream(w);
    std::uint64_t cur = uniform_below(rng, g.rows);
    std::uint64_t len = 0;
    for (;;) {
      ++v.counts[cur];
      ++len;
      if (!(rng.next_u64() < continue_below)) break;
      const std::uint64_t begin = g.offsets[cur], n = g.offsets[cur + 1] - begin;
      cur = n != 0 ? static_cast<std::uint64_t>(values[begin + uniform_below(rng, n)])
                   : uniform_below(rng, g.rows);
    }
    v.steps += len;
    max_len = std::max(max_len, len);
  }
  if (longest != nullptr) *longest = max_len;
  return v;
}

/// Runs task `id` with `Lanes` lanes over `index`, counting visits per node; `rounds` gets the
/// number of lanes live in each round.
template <std::size_t Lanes, class Index>
Visits walk(const Index& index, const carlo::RaggedView& g, std::uint64_t walks, double alpha,
            std::uint64_t id, std::vector<std::size_t>* rounds = nullptr) {
  Visits v;
  v.counts.assign(g.rows, 0);
  v.steps = wd::run_walks<std::int64_t, Lanes>(
      index, wd::readable_values<std::int64_t>(g), g.rows, walks, wd::continue_threshold(alpha),
      carlo::Substreams(kSeed, id), [&](std::span<const std::uint64_t> nodes) {
        for (const std::uint64_t n : nodes) ++v.counts[n];
        if (rounds != nullptr) rounds->push_back(nodes.size());
      });
  return v;
}

/// Checks the kernel against the reference for 1, 7, 32 and kLanes lanes, over the compact index
/// and over the graph's own uint64 offsets, for each number of walks and a few tasks.
void expect_reference_visits(const carlo::RaggedView& g, std::initializer_list<std::uint64_t> walks,
                             double alpha) {
  const wd::CompactOffsets compact(g);
  const wd::OffsetIndex<std::uint64_t> shared{g.offsets};
  for (const std::uint64_t w : walks)
    for (const std::uint64_t id : {0u, 9u, 77777u}) {
      const Visits want = reference(g, w, alpha, id);
      ASSERT_GE(want.steps, w);
      auto check = [&]<std::size_t Lanes>() {
        EXPECT_EQ((walk<Lanes>(compact.index(), g, w, alpha, id)), want)
            << Lanes << " lanes, compact index, " << w << " walks, task " << id;
        EXPECT_EQ((walk<Lanes>(shared, g, w, alpha, id)), want)
            << Lanes << " lanes, uint64 offsets, " << w << " walks, task " << id;
      };
      check.template operator()<1>();
      check.template operator()<7>();
      check.template operator()<32>();
      check.template operator()<wd::kLanes>();
    }
}

TEST(WalkKernel, GivesTheOneWalkAtATimeVisitsOnDuplicatesSelfLoopsAndEmptyRows) {
  const Small small;
  expect_reference_visits(small.view(), {1, 5, 7, 8, 32, 33, 100, 1000}, 0.85);
}

TEST(WalkKernel, GivesTheOneWalkAtATimeVisitsOnASkewedGraphWithManyEmptyRows) {
  const Csr csr(512);
  std::uint64_t empty = 0;
  for (std::uint64_t i = 0; i < 512; ++i) empty += csr.offsets[i] == csr.offsets[i + 1] ? 1 : 0;
  ASSERT_GT(empty, 50u);
  expect_reference_visits(csr.view(), {1, 63, 64, 65, 129, 1000}, 0.85);
}

TEST(WalkKernel, WithAlphaZeroEveryWalkIsItsStartNodeOnly) {
  const Csr csr(512);
  expect_reference_visits(csr.view(), {1, 31, 64, 1000}, 0.0);
  EXPECT_EQ(
      (walk<wd::kLanes>(wd::CompactOffsets(csr.view()).index(), csr.view(), 1000, 0.0, 4).steps),
      1000u);
}

TEST(WalkKernel, GivesTheOneWalkAtATimeVisitsWithAlphaCloseToOne) {
  // Walks of about a thousand steps: lanes end far apart, so refills happen throughout.
  const Small small;
  expect_reference_visits(small.view(), {1, 9, 70}, 0.999);
}

TEST(WalkKernel, OnAGraphWithoutEdgesOnlyTeleports) {
  Csr none(0);
  none.offsets.assign(6, 0);  // 5 nodes, all rows empty
  ASSERT_EQ(none.view().n_values, 0u);
  expect_reference_visits(none.view(), {1, 10, 100}, 0.85);
}

TEST(WalkKernel, KeepsEveryLaneBusyUntilTheLastWalkHasStarted) {
  // A lane whose walk ends takes the next walk, so fewer lanes run only once the last walk has
  // started, and every walk then in flight ends within `longest` rounds.
  const Csr csr(512);
  const auto g = csr.view();
  const wd::CompactOffsets compact(g);
  for (const std::uint64_t id : {1u, 2u, 3u}) {
    std::uint64_t longest = 0;
    reference(g, 1000, 0.85, id, &longest);
    std::vector<std::size_t> rounds;
    walk<32>(compact.index(), g, 1000, 0.85, id, &rounds);
    const auto first_short =
        std::find_if(rounds.begin(), rounds.end(), [](std::size_t live) { return live < 32; });
    EXPECT_TRUE(std::all_of(rounds.begin(), first_short, [](std::size_t l) { return l == 32; }));
    EXPECT_LE(static_cast<std::uint64_t>(rounds.end() - first_short), longest) << "task " << id;
    EXPECT_TRUE(std::is_sorted(first_short, rounds.end(), std::greater<>())) << "task " << id;
  }
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

TEST(WalkKernel, RaggedViewOverloadReadsTheGraphsOwnOffsets) {
  const Csr csr(512);
  const auto g = csr.view();
  Visits v;
  v.counts.assign(g.rows, 0);
  v.steps = wd::run_walks<std::int64_t>(g, 1000, wd::continue_threshold(0.85),
                                        carlo::Substreams(kSeed, 5),
                                        [&](std::span<const std::uint64_t> nodes) {
                                          for (const std::uint64_t n : nodes) ++v.counts[n];
                                        });
  EXPECT_EQ(v, reference(g, 1000, 0.85, 5));
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
