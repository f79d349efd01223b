// The `walk` simulation (DESIGN §5): setup checks, reproducibility, and agreement with PageRank
// computed by power iteration, driven through walk_info().create() and carlo::Task as the scheduler
// does.

#include "sims/builtin.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace {

using carlo::DType;
using carlo::OptionValues;
using carlo::RaggedView;

/// A CSR graph owned by the test, viewed with values stored as T.
template <class T>
struct Graph {
  std::vector<std::uint64_t> offsets{0};
  std::vector<T> values;

  explicit Graph(const std::vector<std::vector<std::int64_t>>& rows) {
    for (const auto& r : rows) {
      for (auto v : r) values.push_back(static_cast<T>(v));
      offsets.push_back(values.size());
    }
  }
  RaggedView view() const {
    RaggedView g;
    g.offsets = offsets.data();
    g.values = values.data();
    g.rows = offsets.size() - 1;
    g.n_values = values.size();
    g.dtype = carlo::dtype_of<T>();
    return g;
  }
};

// 6 nodes: duplicate edges (0 -> 1 twice, 4 -> 5 three times), a dangling node (3), a self loop
// (1).
const std::vector<std::vector<std::int64_t>> kSmall = {{1, 1, 2}, {2, 1},       {0, 3},
                                                       {},        {3, 5, 5, 5}, {4, 0}};

OptionValues options(std::int64_t walks, double alpha) {
  OptionValues o;
  o.set("walks-per-task", walks);
  o.set("alpha", alpha);
  return o;
}

struct TaskOutput {
  std::vector<std::uint64_t> visits;  // dense, one bin per node
  double steps = 0;
};

/// Runs task `id` of `sim` the way the scheduler does and returns its dense visits and `steps`.
TaskOutput run_task(carlo::Simulation& sim, std::uint64_t seed, std::uint64_t id) {
  const auto specs = sim.tally_specs();
  carlo::TallyLog log;
  double obs = std::nan("");
  carlo::Task task(id, seed, 0, &obs, 1, &log, &specs);
  sim.run(task);
  TaskOutput out;
  std::vector<std::vector<std::uint64_t>> dense{
      std::vector<std::uint64_t>(static_cast<std::size_t>(specs.at(0).length), 0)};
  log.add_to(dense);
  out.visits = std::move(dense[0]);
  out.steps = obs;
  return out;
}

void walk_info_check(const RaggedView& g) {
  carlo::sims::walk_info().check_data(options(1000, 0.85), g, carlo::RowRange{0, g.rows});
}

std::unique_ptr<carlo::Simulation> make_walk(const RaggedView& g, std::int64_t walks = 1000,
                                             double alpha = 0.85) {
  return carlo::sims::walk_info().create(options(walks, alpha), g);
}

/// The id check of rows [first, last) (SimulationInfo::check_data): its error, or "(accepted)".
std::string check_error(const RaggedView& g, std::uint64_t first, std::uint64_t last) {
  try {
    carlo::sims::walk_info().check_data(options(1000, 0.85), g, carlo::RowRange{first, last});
  } catch (const carlo::InputError& e) {
    return e.what();
  }
  return "(accepted)";
}

/// What the engine does with one rank: the check of every row (if there are rows), then create.
std::string setup_error(const RaggedView& g, std::int64_t walks = 1000, double alpha = 0.85) {
  try {
    if (g.rows > 0) walk_info_check(g);
    make_walk(g, walks, alpha);
  } catch (const carlo::InputError& e) {
    return e.what();
  }
  return "(accepted)";
}

/// PageRank by power iteration: uniform teleport, dangling mass spread uniformly, each row entry
/// (duplicates included) an equally likely move.
std::vector<double> pagerank(const std::vector<std::vector<std::int64_t>>& rows, double alpha) {
  const std::size_t n = rows.size();
  std::vector<double> p(n, 1.0 / static_cast<double>(n)), next(n);
  for (int it = 0; it < 1000; ++it) {
    double dangling = 0;
    std::fill(next.begin(), next.end(), 0.0);
    for (std::size_t i = 0; i < n; ++i) {
      if (rows[i].empty()) {
        dangling += p[i];
        continue;
      }
      const double share = p[i] / static_cast<double>(rows[i].size());
      for (auto j : rows[i]) next[static_cast<std::size_t>(j)] += share;
    }
    double change = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double v = (1 - alpha) / static_cast<double>(n) +
                       alpha * (next[i] + dangling / static_cast<double>(n));
      change += std::abs(v - p[i]);
      p[i] = v;
    }
    if (change < 1e-15) break;
  }
  return p;
}

/// Uniform in [0, n): Lemire's multiply-and-reject on 64-bit draws, as the kernel draws.
std::uint64_t below(carlo::Stream& rng, std::uint64_t n) {
  for (;;) {
    const auto m = static_cast<carlo::uint128_t>(rng.next_u64()) * n;
    if (static_cast<std::uint64_t>(m) >= (0 - n) % n) return static_cast<std::uint64_t>(m >> 64);
  }
}

/// The definition of DESIGN §5 with the draws of src/sims/walk_kernel.h, one walk at a time: walk
/// w uses task.substream(w) only: its start node below(n), then at each node go-on
/// (next_u64() < alpha 2^64) and, if it goes on, below(row length) to follow an entry or
/// below(n) to teleport from an empty row. The interleaved kernel must give exactly these visits.
std::vector<std::uint64_t> reference_visits(const std::vector<std::vector<std::int64_t>>& rows,
                                            std::uint64_t walks, double alpha, std::uint64_t seed,
                                            std::uint64_t id, std::uint64_t* steps) {
  const std::uint64_t n = rows.size();
  const auto continue_below =
      static_cast<std::uint64_t>(std::ldexp(static_cast<long double>(alpha), 64));
  std::vector<std::uint64_t> visits(n, 0);
  *steps = 0;
  const carlo::Substreams substream(seed, id);
  for (std::uint64_t w = 0; w < walks; ++w) {
    carlo::Stream rng = substream(w);  // == task.substream(w)
    std::uint64_t cur = below(rng, n);
    for (;;) {
      ++visits[cur];
      ++*steps;
      if (!(rng.next_u64() < continue_below)) break;
      const auto& row = rows[cur];
      const std::uint64_t x = below(rng, row.empty() ? n : row.size());
      cur = row.empty() ? x : static_cast<std::uint64_t>(row[x]);
    }
  }
  return visits;
}

// ---------------------------------------------------------------------------------------------

TEST(Walk, RefusesNeighbourIdOutsideTheGraphNamingTheFirstBadRow) {
  std::vector<std::vector<std::int64_t>> rows(50, std::vector<std::int64_t>{1, 2});
  rows[17] = {3, 99};
  rows[30] = {120};
  EXPECT_EQ(setup_error(Graph<std::int64_t>(rows).view()),
            "walk: row 17 has neighbour id 99 outside [0, 50)");
}

TEST(Walk, RefusesNegativeNeighbourIdAfterEmptyRows) {
  std::vector<std::vector<std::int64_t>> rows(10);
  rows[9] = {0, -1};
  EXPECT_EQ(setup_error(Graph<std::int32_t>(rows).view()),
            "walk: row 9 has neighbour id -1 outside [0, 10)");
}

TEST(Walk, FindsABadIdFarIntoALargeArray) {
  // Past the validator's first chunks, in an unsigned type.
  std::vector<std::vector<std::int64_t>> rows(100, std::vector<std::int64_t>(100, 7));
  rows[83][50] = 100;
  EXPECT_EQ(setup_error(Graph<std::uint32_t>(rows).view()),
            "walk: row 83 has neighbour id 100 outside [0, 100)");
}

TEST(Walk, FindsTheMostNegativeIdAndOutOfRangeIdsOfEveryWidthPastTheFirstChunks) {
  std::vector<std::vector<std::int64_t>> rows(200, std::vector<std::int64_t>(50, 7));
  rows[150][3] = INT64_MIN;
  EXPECT_EQ(setup_error(Graph<std::int64_t>(rows).view()),
            "walk: row 150 has neighbour id -9223372036854775808 outside [0, 200)");
  rows[150][3] = -128;
  EXPECT_EQ(setup_error(Graph<std::int8_t>(rows).view()),
            "walk: row 150 has neighbour id -128 outside [0, 200)");
  rows[150][3] = 250;  // 200 nodes: more than half of what a uint8 holds
  EXPECT_EQ(setup_error(Graph<std::uint8_t>(rows).view()),
            "walk: row 150 has neighbour id 250 outside [0, 200)");
  rows[150][3] = 199;
  EXPECT_EQ(setup_error(Graph<std::uint8_t>(rows).view()), "(accepted)");
}

TEST(Walk, ChecksOnlyTheRowsItIsGivenAndNamesTheFirstBadOneAmongThem) {
  std::vector<std::vector<std::int64_t>> rows(50, std::vector<std::int64_t>{1, 2});
  rows[17] = {3, 99};
  rows[30] = {120};
  const auto g = Graph<std::int64_t>(rows);
  EXPECT_EQ(check_error(g.view(), 0, 17), "(accepted)");
  EXPECT_EQ(check_error(g.view(), 18, 30), "(accepted)");
  EXPECT_EQ(check_error(g.view(), 17, 18), "walk: row 17 has neighbour id 99 outside [0, 50)");
  EXPECT_EQ(check_error(g.view(), 20, 50), "walk: row 30 has neighbour id 120 outside [0, 50)");
}

TEST(Walk, RefusesFloatingPointValues) {
  EXPECT_EQ(setup_error(Graph<double>(kSmall).view()),
            "walk: neighbour ids must be integers, but values are float64");
  EXPECT_EQ(setup_error(Graph<float>(kSmall).view()),
            "walk: neighbour ids must be integers, but values are float32");
}

TEST(Walk, RefusesAlphaOutsideZeroToOneAndNoWalks) {
  const auto g = Graph<std::int64_t>(kSmall);
  EXPECT_EQ(setup_error(g.view(), 1000, 1.0), "--alpha must be in [0, 1) (got 1.000000)");
  EXPECT_EQ(setup_error(g.view(), 1000, -0.5), "--alpha must be in [0, 1) (got -0.500000)");
  EXPECT_EQ(setup_error(g.view(), 0, 0.85), "--walks-per-task must be at least 1 (got 0)");
}

TEST(Walk, RefusesAGraphWithoutNodes) {
  EXPECT_EQ(setup_error(Graph<std::int64_t>({}).view()), "walk: the graph has no nodes (0 rows)");
}

TEST(Walk, InterleavedWalksGiveExactlyTheOneWalkAtATimeVisits) {
  const auto g = Graph<std::int64_t>(kSmall);
  for (std::uint64_t walks : {1u, 31u, 64u, 65u, 1000u}) {
    auto sim = make_walk(g.view(), static_cast<std::int64_t>(walks), 0.85);
    for (std::uint64_t id : {0u, 7u, 123456u}) {
      std::uint64_t steps = 0;
      const auto want = reference_visits(kSmall, walks, 0.85, 42, id, &steps);
      const auto got = run_task(*sim, 42, id);
      EXPECT_EQ(got.visits, want) << "walks " << walks << " task " << id;
      EXPECT_EQ(got.steps, static_cast<double>(steps));
    }
  }
}

TEST(Walk, AGraphWithoutEdgesOnlyTeleports) {
  const std::vector<std::vector<std::int64_t>> empty(5);
  const auto g = Graph<std::int64_t>(empty);
  ASSERT_EQ(g.view().n_values, 0u);
  auto sim = make_walk(g.view(), 100);
  std::uint64_t steps = 0;
  EXPECT_EQ(run_task(*sim, 6, 1).visits, reference_visits(empty, 100, 0.85, 6, 1, &steps));
}

TEST(Walk, StepsObservationCountsTheTaskVisits) {
  const auto g = Graph<std::int64_t>(kSmall);
  auto sim = make_walk(g.view());
  ASSERT_EQ(sim->observation_names(), std::vector<std::string>{"steps"});
  const auto out = run_task(*sim, 1, 5);
  std::uint64_t sum = 0;
  for (auto v : out.visits) sum += v;
  EXPECT_EQ(out.steps, static_cast<double>(sum));
  EXPECT_GE(sum, 1000u);
}

TEST(Walk, WithAlphaZeroEveryWalkIsOneVisit) {
  const auto g = Graph<std::int64_t>(kSmall);
  auto sim = make_walk(g.view(), 500, 0.0);
  EXPECT_EQ(run_task(*sim, 3, 9).steps, 500.0);
}

TEST(Walk, SameTaskAndSeedGiveSameVisitsOtherwiseDifferent) {
  const auto g = Graph<std::int64_t>(kSmall);
  auto a = make_walk(g.view());
  auto b = make_walk(g.view());
  EXPECT_EQ(run_task(*a, 11, 4).visits, run_task(*b, 11, 4).visits);
  EXPECT_NE(run_task(*a, 11, 4).visits, run_task(*a, 11, 5).visits);
  EXPECT_NE(run_task(*a, 11, 4).visits, run_task(*a, 12, 4).visits);
}

TEST(Walk, EveryIntegerDtypeGivesTheSameVisits) {
  const auto want = run_task(*make_walk(Graph<std::int64_t>(kSmall).view()), 8, 2).visits;
  EXPECT_EQ(run_task(*make_walk(Graph<std::int32_t>(kSmall).view()), 8, 2).visits, want);
  EXPECT_EQ(run_task(*make_walk(Graph<std::uint32_t>(kSmall).view()), 8, 2).visits, want);
  EXPECT_EQ(run_task(*make_walk(Graph<std::int8_t>(kSmall).view()), 8, 2).visits, want);
  EXPECT_EQ(run_task(*make_walk(Graph<std::uint8_t>(kSmall).view()), 8, 2).visits, want);
}

/// visits/sum(visits) over T tasks against PageRank p: per node, z = (p_hat - p) / stderr with the
/// stderr of the ratio estimator from the T independent tasks: d_t = V_t - p S_t has mean exactly
/// 0 (E[visits of i per walk] = p_i / (1 - alpha) = p_i E[walk length]), so
/// z = mean(d) / (sd(d) / sqrt(T)). Returns max |z| over the nodes.
double max_abs_z(carlo::Simulation& sim, const std::vector<double>& p, std::uint64_t tasks,
                 std::uint64_t seed) {
  const std::size_t n = p.size();
  std::vector<double> sum_d(n, 0), sum_d2(n, 0);
  for (std::uint64_t t = 0; t < tasks; ++t) {
    const auto out = run_task(sim, seed, t);
    for (std::size_t i = 0; i < n; ++i) {
      const double d = static_cast<double>(out.visits[i]) - p[i] * out.steps;
      sum_d[i] += d;
      sum_d2[i] += d * d;
    }
  }
  const auto T = static_cast<double>(tasks);
  double worst = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double mean = sum_d[i] / T;
    const double var = (sum_d2[i] - T * mean * mean) / (T - 1);
    worst = std::max(worst, std::abs(mean) / std::sqrt(var / T));
  }
  return worst;
}

TEST(Walk, VisitFrequenciesMatchPowerIterationPageRankOnASmallGraph) {
  // Dangling node, duplicates and a self loop; teleporting to all but one node is off by 145 sigma.
  for (double alpha : {0.85, 0.5}) {
    const auto g = Graph<std::int64_t>(kSmall);
    auto sim = make_walk(g.view(), 1000, alpha);
    EXPECT_LT(max_abs_z(*sim, pagerank(kSmall, alpha), 400, 2024), 5.0) << "alpha " << alpha;
  }
}

TEST(Walk, VisitFrequenciesMatchPowerIterationPageRankOnAnRmatGraph) {
  // An R-MAT-like graph of 256 nodes (skewed degrees, many dangling nodes) built here with a
  // carlo::Stream; the script test runs the same check on `carlo gen graph --scale 8`.
  const std::uint64_t n = 256;
  std::vector<std::vector<std::int64_t>> rows(n);
  carlo::Stream rng(5, 0);
  for (int e = 0; e < 16 * 256; ++e) {
    std::uint64_t src = 0, dst = 0;
    for (int bit = 0; bit < 8; ++bit) {
      const double u = rng.uniform();
      const std::uint64_t a = u < 0.57 ? 0 : u < 0.76 ? 1 : u < 0.95 ? 2 : 3;
      src = (src << 1) | (a >> 1);
      dst = (dst << 1) | (a & 1);
    }
    rows[src].push_back(static_cast<std::int64_t>(dst));
  }
  std::size_t dangling = 0;
  for (const auto& r : rows) dangling += r.empty() ? 1 : 0;
  ASSERT_GT(dangling, 10u);
  const auto g = Graph<std::int32_t>(rows);
  auto sim = make_walk(g.view());
  EXPECT_LT(max_abs_z(*sim, pagerank(rows, 0.85), 300, 77), 5.0);
}

}  // namespace
