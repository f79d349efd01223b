
#include "sched/tally_store.h"

#include "core/prefault.h"
#include "core/tally_words.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <thread>

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
  locks_.resize(specs.size());
  stripe_shift_.resize(specs.size(), 0);
}

namespace {

/// Whether a shared tally of `words` words of `kind` is striped (when locks are given).
bool striped(std::uint64_t words, TallyKind kind, std::uint64_t cache_bins) {
  return kind == TallyKind::count && words > cache_bins;
}

}  // namespace

std::uint64_t TallyStore::lock_words(const std::vector<TallySpec>& specs,
                                     std::uint64_t cache_bins) {
  std::uint64_t n = 0;
  for (const auto& s : specs)
    if (striped(tally_words(s), s.kind, cache_bins)) n += kStripes * kLockStride;
  return n;
}

TallyStore::TallyStore(std::vector<std::span<std::uint64_t>> bins, bool shared, bool collector,
                       std::uint64_t cache_bins, std::vector<TallyKind> kinds,
                       std::span<std::uint64_t> locks)
    : bins_(std::move(bins)), kinds_(std::move(kinds)), shared_(shared), collector_(collector) {
  kinds_.resize(bins_.size(), TallyKind::count);
  cache_.resize(bins_.size());
  locks_.resize(bins_.size());
  stripe_shift_.resize(bins_.size(), 0);
  if (!shared_) return;
  for (std::size_t k = 0; k < bins_.size(); ++k) {
    const std::uint64_t n = bins_[k].size();
    if (n <= cache_bins) cache_[k].assign(n, 0);
    if (locks.empty() || !striped(n, kinds_[k], cache_bins)) continue;
    if (locks.size() < kStripes * kLockStride)
      throw std::logic_error("TallyStore: fewer stripe locks than lock_words() says");
    locks_[k] = locks.first(kStripes * kLockStride);
    locks = locks.subspan(kStripes * kLockStride);
    // Stripes of a power-of-two width: at most kStripes of them cover the n bins.
    stripe_shift_[k] = static_cast<unsigned>(std::bit_width((n - 1) / kStripes));
  }
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
    if (!locks_[k].empty()) {  // every add to a striped tally goes under its stripe's lock
      apply_striped(k, t);
      continue;
    }
    apply_ones(bins_[k], t.ones, shared_);
    for (const auto& [bin, count] : t.adds) add_one(bins_[k][bin], count, shared_);
  }
}

void TallyStore::sort_into_stripes(std::size_t k, const std::vector<std::uint64_t>& ones) {
  const unsigned shift = stripe_shift_[k];
  stripe_start_.assign(kStripes + 1, 0);
  for (std::uint64_t bin : ones) ++stripe_start_[static_cast<std::size_t>(bin >> shift) + 1];
  for (std::size_t s = 0; s < kStripes; ++s) stripe_start_[s + 1] += stripe_start_[s];
  scratch_.resize(ones.size());
  std::vector<std::size_t>& at = fill_at_;
  at.assign(stripe_start_.begin(), stripe_start_.end() - 1);
  for (std::uint64_t bin : ones) scratch_[at[static_cast<std::size_t>(bin >> shift)]++] = bin;
}

// Each stripe's adds under its lock: plain read-modify-writes (through atomic_ref, relaxed, so
// readers after the run's synchronisation points see them; on x86 a plain load and store).
void TallyStore::apply_striped(std::size_t k, const TallyLog::PerTally& t) {
  sort_into_stripes(k, t.ones);
  const std::span<std::uint64_t> bins = bins_[k];
  const std::span<std::uint64_t> locks = locks_[k];
  auto lock = [&](std::size_t s) {
    std::uint64_t expected = 0;
    return std::atomic_ref<std::uint64_t>(locks[s * kLockStride])
        .compare_exchange_strong(expected, 1, std::memory_order_acquire);
  };
  auto unlock = [&](std::size_t s) {
    std::atomic_ref<std::uint64_t>(locks[s * kLockStride]).store(0, std::memory_order_release);
  };
  std::vector<std::size_t>& todo = todo_;
  todo.clear();
  for (std::size_t s = 0; s < kStripes; ++s)
    if (stripe_start_[s + 1] > stripe_start_[s]) todo.push_back(s);
  for (const auto& [bin, count] : t.adds) {  // rare (walk has none): one lock each
    const auto s = static_cast<std::size_t>(bin >> stripe_shift_[k]);
    while (!lock(s)) std::this_thread::sleep_for(std::chrono::microseconds(20));
    std::atomic_ref<std::uint64_t> b(bins[bin]);
    b.store(b.load(std::memory_order_relaxed) + count, std::memory_order_relaxed);
    unlock(s);
  }
  while (!todo.empty()) {
    std::size_t left = 0;
    for (const std::size_t s : todo) {
      if (!lock(s)) {
        todo[left++] = s;  // another worker is in it: come back
        continue;
      }
      const std::uint64_t* first = scratch_.data() + stripe_start_[s];
      const std::size_t n = stripe_start_[s + 1] - stripe_start_[s];
      for (std::size_t i = 0; i < n; ++i) {
        if (i + kPrefetchAhead < n) __builtin_prefetch(&bins[first[i + kPrefetchAhead]], 1, 0);
        std::atomic_ref<std::uint64_t> b(bins[first[i]]);
        b.store(b.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      }
      unlock(s);
    }
    if (left == todo.size()) std::this_thread::sleep_for(std::chrono::microseconds(20));
    todo.resize(left);
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
