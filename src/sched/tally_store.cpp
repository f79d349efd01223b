
#include "sched/tally_store.h"

#include "core/tally_words.h"

#include <algorithm>
#include <atomic>

namespace carlo::sched {
namespace {

// Bins of a large tally are random addresses (walk: one per step, tens of MiB): fetch a few
// entries ahead so several cache misses are in flight instead of one.
constexpr std::size_t kPrefetchAhead = 16;

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
    owned_.emplace_back(static_cast<std::size_t>(tally_words(s)), 0);
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
      if (kinds_[k] == TallyKind::count && bins_[k].size() <= cache_bins)
        cache_[k].assign(bins_[k].size(), 0);
}

void TallyStore::apply(const TallyLog& log) {
  for (std::size_t k = 0; k < log.tallies.size() && k < bins_.size(); ++k) {
    const auto& t = log.tallies[k];
    if (kinds_[k] == TallyKind::real) {
      apply_scores(bins_[k], t.scores, shared_);
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
    for (std::size_t i = 0; i < c.size(); ++i)
      if (c[i] != 0) {
        add_one(bins_[k][i], c[i], shared_);
        c[i] = 0;
      }
  }
  // Whoever reads the bins next (the collector, after a message round trip) sees these adds.
  std::atomic_thread_fence(std::memory_order_release);
}

std::vector<std::vector<std::uint64_t>> TallyStore::contents() const {
  std::atomic_thread_fence(std::memory_order_acquire);
  std::vector<std::vector<std::uint64_t>> out;
  out.reserve(bins_.size());
  for (const auto& b : bins_) {
    if (!shared_) {
      out.emplace_back(b.begin(), b.end());
      continue;
    }
    // Other ranks may have written these bins with atomics; read them the same way.
    auto& v = out.emplace_back(b.size());
    for (std::size_t i = 0; i < b.size(); ++i)
      v[i] = std::atomic_ref<std::uint64_t>(b[i]).load(std::memory_order_relaxed);
  }
  return out;
}

}  // namespace carlo::sched
