// The `slab` simulation (DESIGN §5), driven through slab_info().create() and carlo::Task as the
// scheduler does: the analytic answers without scattering, the definition's draws re-implemented
// one particle at a time with scattering, and option checks.

#include "sims/builtin.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace {

using carlo::OptionValues;

struct SlabSetup {
  double thickness = 5;
  double sigma = 1;
  double scatter = 0.5;
  std::int64_t particles = 1000;
  std::int64_t bins = 100;
};

OptionValues options(const SlabSetup& s) {
  OptionValues o;
  o.set("thickness", s.thickness);
  o.set("sigma", s.sigma);
  o.set("scatter", s.scatter);
  o.set("particles", s.particles);
  o.set("bins", s.bins);
  return o;
}

std::unique_ptr<carlo::Simulation> make_slab(const SlabSetup& s) {
  return carlo::sims::slab_info().create(options(s), carlo::RaggedView{});
}

struct TaskOutput {
  std::array<double, 3> fate{};  // transmitted, reflected, absorbed
  std::vector<double> flux;      // dense, one value per bin
};

/// Runs task `id` of `sim` the way the scheduler does: its observation slots laid out by
/// observation_specs(), its scores summed into dense bins.
TaskOutput run_task(carlo::Simulation& sim, std::uint64_t seed, std::uint64_t id) {
  const auto specs = sim.tally_specs();
  const auto obs_specs = sim.observation_specs();
  carlo::TallyLog log;
  TaskOutput out;
  out.fate.fill(std::nan(""));
  carlo::Task task(id, seed, 0, out.fate.data(), 3, &log, &specs, &obs_specs);
  sim.run(task);
  out.flux.assign(static_cast<std::size_t>(specs.at(0).length), 0.0);
  for (const auto& [bin, value] : log.tallies.at(0).scores)
    out.flux[static_cast<std::size_t>(bin)] += value;
  return out;
}

/// Mean and standard error of per-task values.
struct Estimate {
  double mean = 0;
  double stderr_ = 0;
  double z(double expected) const { return std::abs(mean - expected) / stderr_; }
};

Estimate estimate(const std::vector<double>& v) {
  const auto n = static_cast<double>(v.size());
  double sum = 0, sq = 0;
  for (double x : v) sum += x;
  const double mean = sum / n;
  for (double x : v) sq += (x - mean) * (x - mean);
  return {mean, std::sqrt(sq / (n - 1) / n)};
}

TEST(Slab, DeclaresFateVectorAndRealFluxTally) {
  auto sim = make_slab(SlabSetup{.bins = 7});
  const auto obs = sim->observation_specs();
  ASSERT_EQ(obs.size(), 1u);
  EXPECT_EQ(obs[0].name, "fate");
  EXPECT_EQ(obs[0].components, 3u);
  const auto tallies = sim->tally_specs();
  ASSERT_EQ(tallies.size(), 1u);
  EXPECT_EQ(tallies[0].name, "flux");
  EXPECT_EQ(tallies[0].length, 7u);
  EXPECT_EQ(tallies[0].kind, carlo::TallyKind::real);
}

// Without scattering a particle is transmitted iff its one free path exceeds L, and the flux at
// depth x is the uncollided beam exp(-S x); both within 5 standard errors of the per-task values.
TEST(Slab, PureAbsorberMatchesExponentialAttenuation) {
  const SlabSetup s{.thickness = 2, .sigma = 1.5, .scatter = 0, .particles = 500, .bins = 10};
  auto sim = make_slab(s);
  const std::uint64_t tasks = 200;
  const double width = s.thickness / static_cast<double>(s.bins);
  std::vector<double> transmitted;
  std::vector<std::vector<double>> flux(static_cast<std::size_t>(s.bins));
  for (std::uint64_t t = 0; t < tasks; ++t) {
    const auto out = run_task(*sim, 17, t);
    EXPECT_EQ(out.fate[1], 0.0) << "nothing is reflected without scattering";
    transmitted.push_back(out.fate[0]);
    for (std::size_t b = 0; b < flux.size(); ++b)
      flux[b].push_back(out.flux[b] / (static_cast<double>(s.particles) * width));
  }
  const Estimate tr = estimate(transmitted);
  const double exact = std::exp(-s.sigma * s.thickness);
  EXPECT_LT(tr.z(exact), 5.0) << "transmission " << tr.mean << " vs exp(-S L) " << exact;
  EXPECT_GT(tr.z(0.9 * exact), 5.0) << "the bound detects a 10% error";
  for (std::size_t b = 0; b < flux.size(); ++b) {
    const double a = static_cast<double>(b) * width;
    const double bin_average =
        (std::exp(-s.sigma * a) - std::exp(-s.sigma * (a + width))) / (s.sigma * width);
    const Estimate f = estimate(flux[b]);
    EXPECT_LT(f.z(bin_average), 5.0) << "bin " << b << ": " << f.mean << " vs " << bin_average;
    EXPECT_GT(f.z(0.9 * bin_average), 5.0) << "bin " << b << ": the bound detects a 10% error";
  }
}

/// What the definition (src/sims/slab.cpp) gives for one task, one particle at a time with the
/// same draws: the fate counts and the total track length inside the slab.
struct Reference {
  std::array<std::uint64_t, 3> ends{};
  double track = 0;
};

Reference reference(const SlabSetup& s, std::uint64_t seed, std::uint64_t id) {
  carlo::Stream rng(seed, id);  // == task.rng()
  Reference r;
  for (std::int64_t i = 0; i < s.particles; ++i) {
    double x = 0, mu = 1;
    for (;;) {
      const double d = -std::log(1.0 - rng.uniform()) / s.sigma;
      const double to = x + mu * d;
      if (to >= s.thickness || to < 0) {
        r.track += ((to >= s.thickness ? s.thickness : 0.0) - x) / mu;
        ++r.ends[to >= s.thickness ? 0 : 1];
        break;
      }
      r.track += d;
      x = to;
      if (!(rng.uniform() < s.scatter)) {
        ++r.ends[2];
        break;
      }
      mu = 2 * rng.uniform() - 1;
    }
  }
  return r;
}

// The flux tally is the track length, every bit of it: its bins add up to the total path the
// particles travelled inside the slab (to rounding), and the fates are the definition's.
TEST(Slab, ScatteringFatesAndTrackLengthFollowTheDefinition) {
  const SlabSetup s{.thickness = 3, .sigma = 1.2, .scatter = 0.7, .particles = 400, .bins = 37};
  auto sim = make_slab(s);
  for (std::uint64_t t = 0; t < 20; ++t) {
    const auto out = run_task(*sim, 4, t);
    const Reference ref = reference(s, 4, t);
    const auto n = static_cast<double>(s.particles);
    for (std::size_t k = 0; k < 3; ++k)
      EXPECT_EQ(out.fate[k], static_cast<double>(ref.ends[k]) / n) << "task " << t << " fate " << k;
    EXPECT_NEAR(out.fate[0] + out.fate[1] + out.fate[2], 1.0, 1e-15);
    EXPECT_GT(out.fate[1], 0.0) << "scattering reflects some particles";
    double total = 0;
    for (double f : out.flux) {
      EXPECT_GE(f, 0.0);
      total += f;
    }
    EXPECT_NEAR(total, ref.track, 1e-12 * ref.track) << "task " << t;
  }
}

TEST(Slab, PureScattererAbsorbsNothing) {
  auto sim = make_slab(SlabSetup{.scatter = 1, .particles = 300});
  for (std::uint64_t t = 0; t < 10; ++t) {
    const auto out = run_task(*sim, 8, t);
    EXPECT_EQ(out.fate[2], 0.0);
    EXPECT_EQ(out.fate[0] + out.fate[1], 1.0);
  }
}

TEST(Slab, TaskIsAPureFunctionOfSeedAndId) {
  auto sim = make_slab(SlabSetup{.particles = 200});
  const auto a = run_task(*sim, 3, 5);
  run_task(*sim, 3, 6);  // the scratch state of another task leaves no trace
  const auto b = run_task(*sim, 3, 5);
  EXPECT_EQ(a.fate, b.fate);
  EXPECT_EQ(a.flux, b.flux);
  EXPECT_NE(run_task(*sim, 3, 6).flux, a.flux);
}

std::string refusal(const SlabSetup& s) {
  try {
    make_slab(s);
  } catch (const carlo::InputError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(Slab, RefusesBadOptionsWithOneLine) {
  EXPECT_EQ(refusal(SlabSetup{.thickness = 0}), "--thickness must be finite and > 0 (got 0)");
  EXPECT_EQ(refusal(SlabSetup{.thickness = INFINITY}),
            "--thickness must be finite and > 0 (got inf)");
  EXPECT_EQ(refusal(SlabSetup{.sigma = -1}), "--sigma must be finite and > 0 (got -1)");
  EXPECT_EQ(refusal(SlabSetup{.scatter = 1.5}), "--scatter must be in [0, 1] (got 1.5)");
  EXPECT_EQ(refusal(SlabSetup{.scatter = NAN}), "--scatter must be in [0, 1] (got nan)");
  EXPECT_EQ(refusal(SlabSetup{.particles = 0}), "--particles must be at least 1 (got 0)");
  EXPECT_EQ(refusal(SlabSetup{.bins = 0}), "--bins must be in [1, 65536] (got 0)");
  EXPECT_EQ(refusal(SlabSetup{.bins = 65537}), "--bins must be in [1, 65536] (got 65537)");
  EXPECT_EQ(refusal(SlabSetup{.thickness = 1e-3, .scatter = 1, .particles = 1, .bins = 1}),
            "(accepted)");
}

}  // namespace
