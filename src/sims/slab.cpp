// `slab` (DESIGN §5): particle transport through a 1-D slab [0, L], the textbook Monte Carlo.
// Every particle of a task enters at x = 0 moving along +x (direction cosine mu = 1). Per flight,
// from task.rng() in this order:
//   u: free path d = -log(1 - u) / S (1 - u is exact for u = k 2^-53, so log, a third faster
//      than log1p here, loses nothing);
//   the particle moves to x + mu d; past L it is transmitted, below 0 reflected, and ends;
//   else it collides: v < c scatters it (w: new mu = 2 w - 1), otherwise it is absorbed.
// (tests/unit/test_slab.cpp re-implements exactly these draws, one particle at a time.)
// Observation `fate` = fractions (transmitted, reflected, absorbed) of the task's particles.
// Real tally `flux`: B equal bins over [0, L]; each flight adds to every bin it crosses the track
// length it travelled inside that bin, |dx| / |mu| (the track-length flux estimator).
//
// Speed: a flight crossing k bins costs k additions into a per-rank scratch array; the task hands
// each nonzero bin to Task::score once at its end. Scoring every crossing would put ~10^5 entries
// per task (at the defaults) into the TallyLog that travels to the master; the per-task sums are a
// pure function of the task's draws (fixed order), so the run stays bitwise reproducible.

#include "sims/builtin.h"

#include <carlo/error.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <sstream>
#include <string>

namespace carlo::sims {
namespace {

struct SlabParams {
  double thickness = 5;
  double sigma = 1;
  double scatter = 0.5;
  std::uint64_t particles = 1000;
  std::uint64_t bins = 100;
};

/// Upper limit of --bins. An exact float64 bin costs 272 bytes per node (docs/benchmarks.md, "Float
/// tallies"), so the tally stays under 18 MB per node; finer bins would add nothing to a sample.
constexpr std::int64_t kMaxBins = std::int64_t{1} << 16;

class Slab final : public Simulation {
 public:
  explicit Slab(const SlabParams& p)
      : p_(p), bins_per_length_(static_cast<double>(p.bins) / p.thickness),
        width_(p.thickness / static_cast<double>(p.bins)), flux_(p.bins, 0.0) {}
  std::vector<ObservationSpec> observation_specs() const override { return {{"fate", 3}}; }
  std::vector<TallySpec> tally_specs() const override {
    return {{"flux", p_.bins, TallyKind::real}};
  }
  void run(Task& task) override {
    std::fill(flux_.begin(), flux_.end(), 0.0);
    std::array<std::uint64_t, 3> ends{};  // transmitted, reflected, absorbed
    Stream& rng = task.rng();
    for (std::uint64_t i = 0; i < p_.particles; ++i) ++ends[follow(rng)];
    for (std::uint64_t b = 0; b < p_.bins; ++b)
      if (flux_[b] != 0.0) task.score(0, b, flux_[b]);
    const auto n = static_cast<double>(p_.particles);
    const std::array<double, 3> fate{static_cast<double>(ends[0]) / n,
                                     static_cast<double>(ends[1]) / n,
                                     static_cast<double>(ends[2]) / n};
    task.observe(0, fate);
  }

 private:
  /// Follows one particle from x = 0, mu = 1 to its end: 0 transmitted, 1 reflected, 2 absorbed.
  std::size_t follow(Stream& rng) {
    double x = 0.0;
    double mu = 1.0;
    for (;;) {
      const double d = -std::log(1.0 - rng.uniform()) / p_.sigma;
      const double to = x + mu * d;
      if (to >= p_.thickness) {
        score_track(x, p_.thickness, mu, d);
        return 0;
      }
      if (to < 0.0) {
        score_track(x, 0.0, mu, d);
        return 1;
      }
      score_track(x, to, mu, d);
      x = to;
      if (!(rng.uniform() < p_.scatter)) return 2;
      mu = 2.0 * rng.uniform() - 1.0;
    }
  }
  /// Adds the track of a flight from depth `from` to depth `to` (both in [0, L]) with direction
  /// cosine `mu` into the bins it crosses: |dx| / |mu| per bin. `d`: the flight's whole length,
  /// the track when mu == 0 (the particle stays at one depth).
  void score_track(double from, double to, double mu, double d) {
    if (mu == 0.0) {
      flux_[bin_of(from * bins_per_length_)] += d;
      return;
    }
    // In units of bins, so a bin's partial share is exact to rounding and never negative.
    double lo = from * bins_per_length_;
    double hi = to * bins_per_length_;
    if (lo > hi) std::swap(lo, hi);
    const double per_bin = width_ / std::abs(mu);  // track per bin width of depth
    const std::uint64_t first = bin_of(lo);
    const std::uint64_t last = bin_of(hi);
    if (first == last) {
      flux_[first] += (hi - lo) * per_bin;
      return;
    }
    flux_[first] += (static_cast<double>(first + 1) - lo) * per_bin;
    for (std::uint64_t b = first + 1; b < last; ++b) flux_[b] += per_bin;
    flux_[last] += (hi - static_cast<double>(last)) * per_bin;
  }
  /// The bin of depth `u` (in bin units, in [0, B]); depth L belongs to the last bin.
  std::uint64_t bin_of(double u) const noexcept {
    const auto b = static_cast<std::uint64_t>(u);
    return b < p_.bins ? b : p_.bins - 1;
  }

  SlabParams p_;
  double bins_per_length_;
  double width_;
  std::vector<double> flux_;  // this task's track length per bin; one task at a time (simulation.h)
};

std::string text(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

SlabParams validated(const OptionValues& opts) {
  SlabParams p;
  p.thickness = opts.get_real("thickness");
  p.sigma = opts.get_real("sigma");
  p.scatter = opts.get_real("scatter");
  const std::int64_t n = opts.get_int("particles");
  const std::int64_t bins = opts.get_int("bins");
  if (!(p.thickness > 0 && std::isfinite(p.thickness)))
    throw InputError("--thickness must be finite and > 0 (got " + text(p.thickness) + ")");
  if (!(p.sigma > 0 && std::isfinite(p.sigma)))
    throw InputError("--sigma must be finite and > 0 (got " + text(p.sigma) + ")");
  if (!(p.scatter >= 0 && p.scatter <= 1))
    throw InputError("--scatter must be in [0, 1] (got " + text(p.scatter) + ")");
  if (n < 1) throw InputError("--particles must be at least 1 (got " + std::to_string(n) + ")");
  if (bins < 1 || bins > kMaxBins)
    throw InputError("--bins must be in [1, " + std::to_string(kMaxBins) + "] (got " +
                     std::to_string(bins) + ")");
  p.particles = static_cast<std::uint64_t>(n);
  p.bins = static_cast<std::uint64_t>(bins);
  return p;
}

}  // namespace

SimulationInfo slab_info() {
  SimulationInfo info;
  info.name = "slab";
  info.summary = "particle transport through a 1-D slab: fates and track-length flux (no data)";
  info.data = DataNeed::none;
  info.declare_options = [](OptionSet& o) {
    o.add_real("thickness", 5.0, "slab thickness L")
        .add_real("sigma", 1.0, "total cross-section S (collisions per unit length)")
        .add_real("scatter", 0.5, "probability c that a collision scatters (else it absorbs)")
        .add_int("particles", 1000, "particles followed by each task")
        .add_int("bins", 100, "equal bins of the flux tally over [0, L]");
  };
  info.create = [](const OptionValues& opts, const RaggedView&) -> std::unique_ptr<Simulation> {
    return std::make_unique<Slab>(validated(opts));
  };
  return info;
}

}  // namespace carlo::sims
