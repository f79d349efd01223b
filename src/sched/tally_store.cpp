
#include "sched/tally_store.h"

#include "core/prefault.h"
#include "core/tally_words.h"

#include <algorithm>
#include <atomic>

namespace carlo::sched {
namespace {

// Bins of a large tally are random addresses (walk: one per step, tens of MiB): fetch entries
// far enough ahead that many cache misses are in flight instead of one. Measured (a 32 MiB tally
// in node-shared memory, 8 M adds, 30 % of them to 4096 hot bins; docs/benchmarks.md, "walk end
// to end"): plain adds 3.2 ns each without prefetch or 16 ahead, 2.4 ns at 64, 2.0-2.2 ns at 128,
// 2.2-2.4 ns at 256. Atomic adds cost 5.7 ns at any distance (the locked instruction, not the
// miss, is what they wait for).
constexpr std::size_t kPrefetchAhead = 128;

void add_one(std::uint64_t& bin, std::uint64_t count, bool atomic) {
  if (atomic) std::atomic_ref<std::uint64_t>(bin).fetch_add(count, std::memory_order_relaxed);
  else bin += count;
}

void apply_ones(std::span<std::uint64_t> bins, const std::vector<std::uint64_t>& ones,
                bool atomic) {
  const std::size_t n = ones.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (i + kPrefetchAhead < n) __builtin_prefetch(&bins[ones[i + kPrefetchAhead]], 1, 0);
    add_one(bins[ones[i]], 1, atomic);
  }
}

// Scores of a real tally: exact adds into the bins' limbs (contributions were checked finite by
// Task::score, so add_to/add_atomic cannot refuse them).
void apply_scores(std::span<std::uint64_t> words,
                  const std::vector<std::pair<std::uint64_t, double>>& scores, bool atomic) {
  for (const auto& [bin, value] : scores) {
    const ExactSum::LimbSpan limbs(words.subspan(bin * ExactSum::kLimbs, ExactSum::kLimbs));
    const bool ok = atomic ? ExactSum::add_atomic(limbs, value) : ExactSum::add_to(limbs, value);
    (void)ok;
  }
}

}  // namespace

TallyStore::TallyStore(const std::vector<TallySpec>& specs) {
  owned_.reserve(specs.size());
  for (const auto& s : specs) {
    owned_.push_back(prefaulted_zeros(tally_words(s)));
    bins_.emplace_back(owned_.back());
    kinds_.push_back(s.kind);
  }
  cache_.resize(specs.size());
}

TallyStore::TallyStore(std::vector<std::span<std::uint64_t>> bins, bool shared, bool collector,
                       std::uint64_t cache_bins, std::vector<TallyKind> kinds)
    : bins_(std::move(bins)), kinds_(std::move(kinds)), shared_(shared), collector_(collector) {
  kinds_.resize(bins_.size(), TallyKind::count);
  cache_.resize(bins_.size());
  if (shared_)
    for (std::size_t k = 0; k < bins_.size(); ++k)
      if (bins_[k].size() <= cache_bins) cache_[k].assign(bins_[k].size(), 0);
}

void TallyStore::apply(const TallyLog& log) {
  for (std::size_t k = 0; k < log.tallies.size() && k < bins_.size(); ++k) {
    const auto& t = log.tallies[k];
    if (kinds_[k] == TallyKind::real) {
      if (!cache_[k].empty()) apply_scores(cache_[k], t.scores, false);
      else apply_scores(bins_[k], t.scores, shared_);
      continue;
    }
    if (!cache_[k].empty()) {
      auto& c = cache_[k];
      for (std::uint64_t bin : t.ones) ++c[static_cast<std::size_t>(bin)];
      for (const auto& [bin, count] : t.adds) c[static_cast<std::size_t>(bin)] += count;
      continue;
    }
    apply_ones(bins_[k], t.ones, shared_);
    for (const auto& [bin, count] : t.adds) add_one(bins_[k][bin], count, shared_);
  }
}

void TallyStore::flush() {
  for (std::size_t k = 0; k < cache_.size(); ++k) {
    auto& c = cache_[k];
    if (kinds_[k] == TallyKind::real) {
      flush_real(k);
      continue;
    }
    for (std::size_t i = 0; i < c.size(); ++i)
      if (c[i] != 0) {
        add_one(bins_[k][i], c[i], shared_);
        c[i] = 0;
      }
  }
  // Whoever reads the bins next (the collector, after a message round trip) sees these adds.
  std::atomic_thread_fence(std::memory_order_release);
}

// A cached real tally merges each touched bin once (34 atomic limb adds, carries included),
// instead of two atomic adds per score.
void TallyStore::flush_real(std::size_t k) {
  auto& c = cache_[k];
  for (std::size_t i = 0; i + ExactSum::kLimbs <= c.size(); i += ExactSum::kLimbs) {
    const std::span<std::uint64_t> limbs(c.data() + i, ExactSum::kLimbs);
    if (std::all_of(limbs.begin(), limbs.end(), [](std::uint64_t w) { return w == 0; })) continue;
    ExactSum(ExactSum::ConstLimbSpan(limbs))
        .merge_into_atomic(ExactSum::LimbSpan(bins_[k].subspan(i, ExactSum::kLimbs)));
    std::fill(limbs.begin(), limbs.end(), 0);
  }
}

std::vector<std::vector<std::uint64_t>> TallyStore::contents() const {
  std::atomic_thread_fence(std::memory_order_acquire);
  std::vector<std::vector<std::uint64_t>> out;
  out.reserve(bins_.size());
  for (const auto& b : bins_) {
    auto& v = out.emplace_back(prefaulted_zeros(b.size()));  // a tally may be tens of MiB
    if (!shared_) {
      std::copy(b.begin(), b.end(), v.begin());
      continue;
    }
    // Other ranks may have written these bins with atomics; read them the same way.
    for (std::size_t i = 0; i < b.size(); ++i)
      v[i] = std::atomic_ref<std::uint64_t>(b[i]).load(std::memory_order_relaxed);
  }
  return out;
}

}  // namespace carlo::sched
