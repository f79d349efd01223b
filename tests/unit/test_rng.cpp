// Task::substream (include/carlo/rng.h, Substreams): a pure function of (seed, task, k), a
// different stream for every k, seed and task, unrelated to the task's own stream, and
// statistically sound across substreams (the draws of many substreams, and the first draws of
// neighbouring k).
#include <carlo/rng.h>
#include <carlo/simulation.h>

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <set>
#include <vector>

namespace {

using carlo::Stream;
using carlo::Substreams;

/// A Task as the scheduler builds one, with its own log and no tallies.
struct TaskFixture {
  double obs = 0;
  carlo::TallyLog log;
  std::vector<carlo::TallySpec> specs;
  carlo::Task task;
  TaskFixture(std::uint64_t id, std::uint64_t seed) : task(id, seed, 0, &obs, 1, &log, &specs) {}
};

/// The first `n` draws of a stream.
std::vector<std::uint64_t> draws(Stream rng, std::size_t n = 4) {
  std::vector<std::uint64_t> out(n);
  for (auto& x : out) x = rng.next_u64();
  return out;
}

TEST(Substream, IsAPureFunctionOfSeedTaskAndIndexWhateverTheCallOrder) {
  TaskFixture a(12, 34), b(12, 34);
  // b asks for its substreams in another order (the first call builds the task's key).
  const std::array<std::uint64_t, 5> order_b = {999, 3, 0, 1000000, 1};
  std::vector<std::vector<std::uint64_t>> from_b;
  for (const std::uint64_t k : order_b) from_b.push_back(draws(b.task.substream(k)));
  for (std::size_t i = 0; i < order_b.size(); ++i) {
    const std::uint64_t k = order_b[order_b.size() - 1 - i];
    EXPECT_EQ(draws(a.task.substream(k)), from_b[order_b.size() - 1 - i]) << "k " << k;
    EXPECT_EQ(draws(Substreams(34, 12)(k)), from_b[order_b.size() - 1 - i]) << "k " << k;
  }
}

TEST(Substream, RepeatedCallsReturnTheSameStreamFromItsStart) {
  TaskFixture a(5, 1);
  Stream first = a.task.substream(7);
  first.next_u64();  // using a copy does not advance the task's substream
  EXPECT_EQ(draws(a.task.substream(7)), draws(Substreams(1, 5)(7)));
}

TEST(Substream, DiffersAcrossIndexSeedAndTask) {
  std::set<std::vector<std::uint64_t>> seen;
  std::size_t made = 0;
  for (const std::uint64_t seed : std::array<std::uint64_t, 3>{0, 1, 2})
    for (const std::uint64_t task : std::array<std::uint64_t, 4>{0, 1, 2, 1000})
      for (std::uint64_t k = 0; k < 100; ++k, ++made)
        seen.insert(draws(Substreams(seed, task)(k), 2));
  EXPECT_EQ(seen.size(), made);
}

TEST(Substream, DiffersFromTheTasksOwnStreamAndFromPhiloxCounterStreams) {
  TaskFixture a(3, 9);
  const auto own = draws(a.task.rng(), 2);
  for (std::uint64_t k = 0; k < 1000; ++k) {
    const auto sub = draws(a.task.substream(k), 2);
    ASSERT_NE(sub, own) << "k " << k;
    // Stream(seed, task, k + 1) was the substream before Substreams; it is another stream now.
    ASSERT_NE(sub, draws(Stream(9, 3, k + 1), 2)) << "k " << k;
  }
}

TEST(Substream, DrawsOfManySubstreamsHaveMeanOneHalf) {
  // 1000 substreams x 100 uniform draws: the mean of 10^5 U(0,1) has sd sqrt(1/12 / 10^5).
  const Substreams sub(2026, 7);
  double sum = 0;
  const int n_streams = 1000, per_stream = 100;
  for (int k = 0; k < n_streams; ++k) {
    Stream rng = sub(static_cast<std::uint64_t>(k));
    for (int i = 0; i < per_stream; ++i) sum += rng.uniform();
  }
  const double n = n_streams * per_stream;
  EXPECT_NEAR(sum / n, 0.5, 5 * std::sqrt(1.0 / 12 / n));
}

TEST(Substream, EachOfTheFirstDrawsHasMeanOneHalfAcrossSubstreams) {
  // The seeding shows most in a stream's first outputs: check draws 1..4 across 10^5 substreams.
  const Substreams sub(1, 0);
  const int n = 100000;
  std::array<double, 4> sum{};
  for (int k = 0; k < n; ++k) {
    Stream rng = sub(static_cast<std::uint64_t>(k));
    for (double& s : sum) s += rng.uniform();
  }
  for (std::size_t i = 0; i < sum.size(); ++i)
    EXPECT_NEAR(sum[i] / n, 0.5, 5 * std::sqrt(1.0 / 12 / n)) << "draw " << i + 1;
}

TEST(Substream, FirstDrawsOfConsecutiveSubstreamsAreUncorrelated) {
  // Pearson correlation of (u_k, u_{k+1}) and (u_k, u_{k+2}), u_k = the first uniform() of
  // substream k: about N(0, 1/n) if independent.
  const Substreams sub(42, 17);
  const int n = 100000;
  std::vector<double> u(n + 2);
  for (std::size_t k = 0; k < u.size(); ++k) u[k] = sub(k).uniform();
  for (const std::size_t lag : {std::size_t{1}, std::size_t{2}}) {
    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    for (std::size_t k = 0; k < static_cast<std::size_t>(n); ++k) {
      const double x = u[k], y = u[k + lag];
      sx += x, sy += y, sxx += x * x, syy += y * y, sxy += x * y;
    }
    const double cov = sxy / n - sx / n * sy / n;
    const double r = cov / std::sqrt((sxx / n - sx / n * sx / n) * (syy / n - sy / n * sy / n));
    EXPECT_LT(std::abs(r), 5 / std::sqrt(static_cast<double>(n))) << "lag " << lag;
  }
}

TEST(Substream, EveryBitOfTheFirstWordIsSetHalfTheTime) {
  // A weak seeding shows as biased bits in the first output; each bit over 10^5 substreams has
  // sd sqrt(n / 4) around n / 2.
  const Substreams sub(7, 7);
  const int n = 100000;
  std::array<int, 64> ones{};
  for (int k = 0; k < n; ++k) {
    const std::uint64_t x = sub(static_cast<std::uint64_t>(k)).next_u64();
    for (int b = 0; b < 64; ++b) ones[static_cast<std::size_t>(b)] += static_cast<int>(x >> b & 1);
  }
  for (int b = 0; b < 64; ++b)
    EXPECT_NEAR(ones[static_cast<std::size_t>(b)], n / 2.0, 5 * std::sqrt(n / 4.0)) << "bit " << b;
}

TEST(Substreams, Mix64IsSplitMix64sFinaliser) {
  // SplitMix64 with seed 0 (state += gamma, then mix): its first outputs, as published with
  // Vigna's splitmix64.c and used to seed xoshiro.
  std::uint64_t state = 0;
  std::array<std::uint64_t, 3> got{};
  for (auto& x : got) x = Substreams::mix64(state += Substreams::kGamma[0]);
  EXPECT_EQ(got, (std::array<std::uint64_t, 3>{0xe220a8397b1dcdafULL, 0x6e789e6aa1b965f4ULL,
                                               0x06c45d188009454fULL}));
}

}  // namespace
