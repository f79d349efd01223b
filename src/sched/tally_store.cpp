
#include "sched/tally_store.h"

#include "core/prefault.h"
#include "core/tally_words.h"

#include <algorithm>
#include <array>
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
bool stripes_when_shared(std::uint64_t words, TallyKind kind, std::uint64_t cache_bins) {
  return kind == TallyKind::count && words > cache_bins;
}

}  // namespace

std::uint64_t TallyStore::lock_words(const std::vector<TallySpec>& specs,
                                     std::uint64_t cache_bins) {
  std::uint64_t n = 0;
  for (const auto& s : specs)
    if (stripes_when_shared(tally_words(s), s.kind, cache_bins)) n += kStripes * kLockStride;
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
    if (locks.empty() || !stripes_when_shared(n, kinds_[k], cache_bins)) continue;
    // Stripes of a power-of-two width: at most kStripes of them cover the n bins; a staged count
    // is its bin's offset in the stripe, 4 bytes (a tally above 2^38 bins is not striped).
    const auto shift = static_cast<unsigned>(std::bit_width((n - 1) / kStripes));
    if (locks.size() < kStripes * kLockStride)
      throw std::logic_error("TallyStore: fewer stripe locks than lock_words() says");
    const std::span<std::uint64_t> mine = locks.first(kStripes * kLockStride);
    locks = locks.subspan(kStripes * kLockStride);
    if (shift > 32) continue;  // its locks stay unused: atomic adds
    locks_[k] = mine;
    stripe_shift_[k] = shift;
  }
}

bool StagedLog::empty() const noexcept {
  if (!rest_.empty()) return false;
  for (const auto& lists : stripes_)
    for (const auto& l : lists)
      if (!l.empty()) return false;
  return true;
}

std::size_t StagedLog::size() const noexcept {
  std::size_t n = 0;
  for (const auto& t : rest_.tallies) n += t.ones.size() + t.adds.size() + t.scores.size();
  for (const auto& lists : stripes_)
    for (const auto& l : lists) n += l.size();
  return n;
}

void StagedLog::clear() noexcept {
  rest_.clear();
  for (auto& lists : stripes_)
    for (auto& l : lists) l.clear();
}

void TallyStore::stage(const TallyLog& task, StagedLog& batch) const {
  const std::size_t n = std::min(task.tallies.size(), bins_.size());
  if (batch.rest_.tallies.size() < n) batch.rest_.tallies.resize(n);
  if (batch.stripes_.size() < n) batch.stripes_.resize(n);
  for (std::size_t k = 0; k < n; ++k) {
    const auto& t = task.tallies[k];
    auto& rest = batch.rest_.tallies[k];
    rest.adds.insert(rest.adds.end(), t.adds.begin(), t.adds.end());
    rest.scores.insert(rest.scores.end(), t.scores.begin(), t.scores.end());
    if (!striped(k)) {
      rest.ones.insert(rest.ones.end(), t.ones.begin(), t.ones.end());
      continue;
    }
    stage_striped(k, t.ones, batch.stripes_[k]);
  }
}

// Counts per stripe first, then writes through one pointer per stripe: the task's log is read
// twice, from the cache, and the batch's lists grow once per task instead of a check per count.
void TallyStore::stage_striped(std::size_t k, const std::vector<std::uint64_t>& ones,
                               std::vector<StripeList>& lists) const {
  lists.resize(kStripes);
  const unsigned shift = stripe_shift_[k];
  const std::uint64_t in_stripe = (std::uint64_t{1} << shift) - 1;
  std::array<std::size_t, kStripes> count{};
  for (const std::uint64_t bin : ones) ++count[static_cast<std::size_t>(bin >> shift)];
  std::array<std::uint32_t*, kStripes> at{};
  for (std::size_t s = 0; s < kStripes; ++s) {
    if (count[s] == 0) continue;
    const std::size_t before = lists[s].size();
    lists[s].resize(before + count[s]);
    at[s] = lists[s].data() + before;
  }
  for (const std::uint64_t bin : ones)
    *at[static_cast<std::size_t>(bin >> shift)]++ = static_cast<std::uint32_t>(bin & in_stripe);
}

void TallyStore::apply(const TallyLog& log) {
  unstaged_.clear();
  stage(log, unstaged_);
  apply(unstaged_);
}

void TallyStore::apply(const StagedLog& batch) {
  const TallyLog& log = batch.rest_;
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
    if (striped(k)) {  // every add to a striped tally goes under its stripe's lock
      apply_striped(k, batch);
      continue;
    }
    apply_ones(bins_[k], t.ones, shared_);
    for (const auto& [bin, count] : t.adds) add_one(bins_[k][bin], count, shared_);
  }
}

// Each stripe's adds under its lock: plain read-modify-writes (through atomic_ref, relaxed, so
// readers after the run's synchronisation points see them; on x86 a plain load and store).
void TallyStore::apply_striped(std::size_t k, const StagedLog& batch) {
  const std::span<std::uint64_t> bins = bins_[k];
  const std::span<std::uint64_t> locks = locks_[k];
  const unsigned shift = stripe_shift_[k];
  auto lock = [&](std::size_t s) {
    std::uint64_t expected = 0;
    return std::atomic_ref<std::uint64_t>(locks[s * kLockStride])
        .compare_exchange_strong(expected, 1, std::memory_order_acquire);
  };
  auto unlock = [&](std::size_t s) {
    std::atomic_ref<std::uint64_t>(locks[s * kLockStride]).store(0, std::memory_order_release);
  };
  for (const auto& [bin, count] : batch.rest_.tallies[k].adds) {  // rare: one lock each
    const auto s = static_cast<std::size_t>(bin >> shift);
    while (!lock(s)) std::this_thread::sleep_for(std::chrono::microseconds(20));
    std::atomic_ref<std::uint64_t> b(bins[bin]);
    b.store(b.load(std::memory_order_relaxed) + count, std::memory_order_relaxed);
    unlock(s);
  }
  if (k >= batch.stripes_.size()) return;  // no +1 counts staged
  const std::vector<StripeList>& stripes = batch.stripes_[k];
  std::vector<std::size_t>& todo = todo_;
  todo.clear();
  for (std::size_t s = 0; s < stripes.size(); ++s)
    if (!stripes[s].empty()) todo.push_back(s);
  while (!todo.empty()) {
    std::size_t left = 0;
    for (const std::size_t s : todo) {
      if (!lock(s)) {
        todo[left++] = s;  // another worker is in it: come back
        continue;
      }
      std::uint64_t* const base = bins.data() + (std::uint64_t{s} << shift);
      const std::uint32_t* const offset = stripes[s].data();
      const std::size_t n = stripes[s].size();
      for (std::size_t i = 0; i < n; ++i) {
        if (i + kPrefetchAhead < n) __builtin_prefetch(base + offset[i + kPrefetchAhead], 1, 0);
        std::atomic_ref<std::uint64_t> b(base[offset[i]]);
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
