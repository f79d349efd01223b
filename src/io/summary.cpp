// Summary statistics of observations: the exact, reproducible definitions stored in /summary.
//
// Reproducibility (DESIGN §4) rests on two choices: sums are compensated and taken in task order
// (never in arrival order), and percentiles are order statistics selected exactly, so the result
// is a function of the multiset of values alone. Memory stays bounded whatever the task count:
// above `memory_keys` values an exact radix selection scans the data a few more times instead of
// loading it.

#include "io/results_internal.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>
#include <vector>

namespace carlo::io {
namespace detail {

std::uint64_t order_key(double x) noexcept {
  const auto bits = std::bit_cast<std::uint64_t>(x);
  constexpr std::uint64_t sign = std::uint64_t{1} << 63;
  return (bits & sign) ? ~bits : (bits | sign);
}

double from_order_key(std::uint64_t key) noexcept {
  constexpr std::uint64_t sign = std::uint64_t{1} << 63;
  return std::bit_cast<double>((key & sign) ? (key & ~sign) : ~key);
}

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::size_t kDigitBits = 16;
constexpr std::size_t kBins = std::size_t{1} << kDigitBits;
constexpr std::array<double, 3> kQuantiles = {0.025, 0.5, 0.975};

/// Neumaier's compensated sum: the result depends only on the order of the additions.
class CompensatedSum {
 public:
  void add(double x) noexcept {
    const double t = sum_ + x;
    if (std::fabs(sum_) >= std::fabs(x)) c_ += (sum_ - t) + x;
    else c_ += (x - t) + sum_;
    sum_ = t;
  }
  /// Once the plain sum is infinite (or NaN) the compensation is meaningless; return the sum.
  double value() const noexcept { return std::isfinite(sum_) ? sum_ + c_ : sum_; }

 private:
  double sum_ = 0, c_ = 0;
};

/// Where numpy's default ("linear") method takes quantile q of n sorted values.
struct Position {
  std::uint64_t lo = 0, hi = 0;
  double gamma = 0;
};

Position position(std::uint64_t n, double q) {
  const double h = static_cast<double>(n - 1) * q;
  Position p;
  if (h >= static_cast<double>(n - 1)) {
    p.lo = p.hi = n - 1;
    return p;
  }
  const double lo = std::floor(h);
  p.lo = static_cast<std::uint64_t>(lo);
  p.hi = p.lo + 1;
  p.gamma = h - lo;
  return p;
}

/// numpy's _lerp, including its switch to the upper bound at t >= 0.5 (kept for bitwise agreement).
double lerp(double a, double b, double t) {
  if (a == b) return a;  // also the single-position case; numpy would give NaN for a == b == inf
  const double diff = b - a;
  if (t >= 0.5) return b - diff * (1 - t);
  return a + diff * t;
}

/// Selects the keys of several ranks from keys held in memory (reorders `keys`).
void select_in_memory(std::vector<std::uint64_t>& keys, const std::vector<std::uint64_t>& ranks,
                      std::vector<std::uint64_t>& out) {
  // Ascending ranks: each nth_element leaves everything after its rank >= it, so the next one
  // only searches the rest.
  auto from = keys.begin();
  for (std::size_t i = 0; i < ranks.size(); ++i) {
    const auto nth = keys.begin() + static_cast<std::ptrdiff_t>(ranks[i]);
    if (nth >= from) {
      std::nth_element(from, nth, keys.end());
      from = nth + 1;
    }
    out[i] = *nth;
  }
}

/// Exact selection of several order statistics over data scanned repeatedly, 16 key bits per
/// scan. Ranks whose candidates fit the memory budget are finished with nth_element.
class RadixSelector {
 public:
  /// `root_hist` counts the top 16 bits of all keys (gathered by the caller's first scan).
  RadixSelector(const std::vector<std::uint64_t>& root_hist,
                const std::vector<std::uint64_t>& ranks, std::uint64_t budget)
      : budget_(std::max<std::uint64_t>(budget, 1)), keys_(ranks.size()) {
    for (std::size_t i = 0; i < ranks.size(); ++i) targets_.push_back({ranks[i], 0, 0, false, i});
    for (auto& t : targets_) descend(t, root_hist);
    plan();
  }

  bool done() const noexcept { return groups_.empty(); }

  void feed(std::span<const double> values) {
    for (const double x : values) {
      if (std::isnan(x)) continue;
      const std::uint64_t k = order_key(x);
      for (auto& g : groups_) {
        if ((k >> (64 - g.bits)) != g.prefix) continue;
        if (g.collect) g.keys.push_back(k);
        else ++g.hist[(k >> (64 - g.bits - kDigitBits)) & (kBins - 1)];
      }
    }
  }

  void end_pass() {
    for (std::size_t gi = 0; gi < groups_.size(); ++gi) {
      auto& g = groups_[gi];
      std::vector<std::uint64_t> ranks;
      std::vector<Target*> members;
      for (auto& t : targets_)
        if (!t.done && t.group == gi) members.push_back(&t);
      if (g.collect) {
        std::sort(members.begin(), members.end(),
                  [](const Target* a, const Target* b) { return a->rank < b->rank; });
        for (auto* t : members) ranks.push_back(t->rank);
        std::vector<std::uint64_t> out(ranks.size());
        select_in_memory(g.keys, ranks, out);
        for (std::size_t i = 0; i < members.size(); ++i) finish(*members[i], out[i]);
      } else {
        for (auto* t : members) descend(*t, g.hist);
      }
    }
    plan();
  }

  /// The key of the i-th rank passed to the constructor.
  std::uint64_t key(std::size_t i) const { return keys_[i]; }

 private:
  struct Target {
    std::uint64_t rank;    ///< rank among the keys that share the prefix
    std::uint64_t prefix;  ///< the top `bits` bits known so far
    std::size_t bits;
    bool done;
    std::size_t index;  ///< into keys_
    std::size_t group = 0;
  };
  struct Group {
    std::uint64_t prefix;
    std::size_t bits;
    std::uint64_t count;
    bool collect = false;
    std::vector<std::uint64_t> hist;
    std::vector<std::uint64_t> keys;
  };

  void finish(Target& t, std::uint64_t key) {
    t.done = true;
    keys_[t.index] = key;
  }

  /// Fixes the next 16 bits of `t` from the histogram of its current prefix.
  void descend(Target& t, const std::vector<std::uint64_t>& hist) {
    std::uint64_t below = 0;
    std::size_t b = 0;
    while (below + hist[b] <= t.rank) below += hist[b++];
    t.rank -= below;
    t.prefix = (t.prefix << kDigitBits) | b;
    t.bits += kDigitBits;
    pending_counts_.push_back({t.prefix, t.bits, hist[b]});
    if (t.bits == 64) finish(t, t.prefix);
  }

  /// Builds the groups of the next scan: one per distinct prefix still undecided; the smallest
  /// ones collect their keys while they fit the budget, the others histogram the next digit.
  void plan() {
    groups_.clear();
    for (auto& t : targets_) {
      if (t.done) continue;
      std::size_t gi = 0;
      while (gi < groups_.size() && !(groups_[gi].prefix == t.prefix && groups_[gi].bits == t.bits))
        ++gi;
      if (gi == groups_.size()) {
        std::uint64_t count = 0;
        for (const auto& c : pending_counts_)
          if (c.prefix == t.prefix && c.bits == t.bits) count = c.count;
        groups_.push_back({t.prefix, t.bits, count, false, {}, {}});
      }
      t.group = gi;
    }
    pending_counts_.clear();
    std::vector<std::size_t> order(groups_.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return groups_[a].count < groups_[b].count; });
    std::uint64_t used = 0;
    for (const std::size_t gi : order) {
      auto& g = groups_[gi];
      if (used + g.count <= budget_) {
        g.collect = true;
        used += g.count;
        g.keys.reserve(g.count);
      } else {
        g.hist.assign(kBins, 0);
      }
    }
  }

  struct PrefixCount {
    std::uint64_t prefix;
    std::size_t bits;
    std::uint64_t count;
  };
  std::uint64_t budget_;
  std::vector<Target> targets_;
  std::vector<Group> groups_;
  std::vector<PrefixCount> pending_counts_;
  std::vector<std::uint64_t> keys_;
};

}  // namespace

namespace {

/// What the first scan learns: count, sum, extremes, the top-digit histogram, and the keys while
/// they fit in `memory_keys`.
struct FirstScan {
  std::uint64_t count = 0;
  CompensatedSum sum;
  std::uint64_t min_key = std::numeric_limits<std::uint64_t>::max(), max_key = 0;
  std::vector<std::uint64_t> root_hist = std::vector<std::uint64_t>(kBins, 0);
  std::vector<std::uint64_t> keys;  ///< in task order; emptied once they do not fit
  bool keys_fit = true;
};

FirstScan first_scan(const Scan& scan, std::uint64_t memory_keys) {
  FirstScan f;
  scan([&](std::span<const double> values) {
    for (const double x : values) {
      if (std::isnan(x)) continue;
      ++f.count;
      f.sum.add(x);
      const std::uint64_t k = order_key(x);
      f.min_key = std::min(f.min_key, k);
      f.max_key = std::max(f.max_key, k);
      ++f.root_hist[k >> (64 - kDigitBits)];
      if (!f.keys_fit) continue;
      if (f.keys.size() < memory_keys) {
        f.keys.push_back(k);
      } else {
        f.keys_fit = false;
        std::vector<std::uint64_t>().swap(f.keys);
      }
    }
  });
  return f;
}

}  // namespace

Summary summarize_scan(const Scan& scan, std::uint64_t memory_keys) {
  FirstScan first = first_scan(scan, memory_keys);
  const std::uint64_t count = first.count;
  Summary s;
  s.count = count;
  if (count == 0) {
    s.mean = s.sd = s.stderr_ = s.min = s.max = s.p2_5 = s.p50 = s.p97_5 = kNaN;
    return s;
  }
  s.mean = first.sum.value() / static_cast<double>(count);
  s.min = from_order_key(first.min_key);
  s.max = from_order_key(first.max_key);

  std::array<Position, kQuantiles.size()> positions;
  std::vector<std::uint64_t> ranks;
  for (std::size_t i = 0; i < kQuantiles.size(); ++i) {
    positions[i] = position(count, kQuantiles[i]);
    ranks.push_back(positions[i].lo);
    ranks.push_back(positions[i].hi);
  }
  std::sort(ranks.begin(), ranks.end());
  ranks.erase(std::unique(ranks.begin(), ranks.end()), ranks.end());
  std::vector<std::uint64_t> selected(ranks.size());

  // Scan 2 (or the kept keys, still in task order): squared deviations from the mean.
  CompensatedSum squares;
  const auto add_square = [&](double x) {
    const double d = x - s.mean;
    squares.add(d * d);
  };
  if (first.keys_fit) {
    for (const std::uint64_t k : first.keys) add_square(from_order_key(k));
    select_in_memory(first.keys, ranks, selected);
  } else {
    RadixSelector selector(first.root_hist, ranks, memory_keys);
    scan([&](std::span<const double> values) {
      for (const double x : values)
        if (!std::isnan(x)) add_square(x);
      if (!selector.done()) selector.feed(values);
    });
    if (!selector.done()) selector.end_pass();
    while (!selector.done()) {
      scan([&](std::span<const double> values) { selector.feed(values); });
      selector.end_pass();
    }
    for (std::size_t i = 0; i < ranks.size(); ++i) selected[i] = selector.key(i);
  }
  s.sd = count > 1 ? std::sqrt(squares.value() / static_cast<double>(count - 1)) : kNaN;
  s.stderr_ = s.sd / std::sqrt(static_cast<double>(count));

  const auto value_at = [&](std::uint64_t rank) {
    const auto it = std::lower_bound(ranks.begin(), ranks.end(), rank);
    return from_order_key(selected[static_cast<std::size_t>(it - ranks.begin())]);
  };
  double* out[] = {&s.p2_5, &s.p50, &s.p97_5};
  for (std::size_t i = 0; i < kQuantiles.size(); ++i)
    *out[i] = lerp(value_at(positions[i].lo), value_at(positions[i].hi), positions[i].gamma);
  return s;
}

}  // namespace detail

Summary summarize(std::span<const double> values) {
  return detail::summarize_scan([values](const detail::ChunkVisitor& visit) { visit(values); },
                                std::max<std::uint64_t>(values.size(), 1));
}

}  // namespace carlo::io
