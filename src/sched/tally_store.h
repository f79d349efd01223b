#pragma once
/// \file
/// Where a worker adds the tallies of its accepted results. On a node with several ranks, one
/// store is shared by all of them (memory from a node-shared segment): the node holds one copy of
/// every tally instead of one per rank. Shared bins are added with atomic read-modify-writes;
/// small tallies (where ranks would fight over the same cache lines) are first summed in a private
/// cache and flushed into the shared bins at synchronisation points (checkpoint snapshots and the
/// end of the run). Counts are integers, so the sums do not depend on the order of additions.
/// Real tallies (TallyKind::real) are ExactSum limbs (core/tally_words.h: kLimbs words per bin),
/// added exactly with ExactSum::add_to / add_atomic: order-free too. A shared real tally of at most
/// kPrivateCacheBins words (963 bins) is cached like counts and merged bin by bin at a flush.
///
/// A large shared count tally (above the cache size) may come with stripe locks (words in
/// node-shared memory, zeroed; every store over the same bins must get them): its bins
/// fall into kStripes ranges, and a worker applies a batch's counts range by range, each under
/// its range's lock, with plain adds. A locked atomic add costs 5.7 ns whether its bin is cached
/// or not; a plain add within a range that fits the L2 about 1-2 ns (docs/benchmarks.md, "walk
/// end to end"). A worker that finds a range locked takes the next one and comes back; it sleeps
/// only when every range it still has is locked, each for the few microseconds another worker's
/// adds take.
///
/// A worker holds a batch's contributions as a StagedLog until the master acknowledges the batch:
/// `stage` appends each finished task's log to it in this store's layout, so a striped tally's
/// counts are sorted into their ranges while the task's small log is still in the cache, as 4-byte
/// offsets, instead of being appended to a log of megabytes that is sorted again before applying.
#include <carlo/simulation.h>

#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

namespace carlo::sched {

class TallyStore;

/// An allocator whose resize() leaves new elements uninitialised (they are written right after).
template <class T>
struct UninitialisedAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = UninitialisedAllocator<U>;
  };
  UninitialisedAllocator() = default;
  template <class U>
  UninitialisedAllocator(const UninitialisedAllocator<U>&) noexcept {}
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

/// Offsets of +1 counts within one stripe of a tally.
using StripeList = std::vector<std::uint32_t, UninitialisedAllocator<std::uint32_t>>;

/// One batch's tally contributions, laid out for the TallyStore that staged them (see
/// TallyStore::stage). Reused across batches: clear() keeps the memory.
class StagedLog {
 public:
  bool empty() const noexcept;
  /// Counts and scores held (each +1 count, each other count, each score).
  std::size_t size() const noexcept;
  void clear() noexcept;

 private:
  friend class TallyStore;
  TallyLog rest_;  ///< everything not striped, as logged
  /// Per tally: empty unless striped; else kStripes lists of +1 counts as offsets in the stripe.
  std::vector<std::vector<StripeList>> stripes_;
};

class TallyStore {
 public:
  /// Tallies of this many words or fewer are cached privately when the store is shared.
  static constexpr std::uint64_t kPrivateCacheBins = 1 << 15;  // 256 KiB per tally
  /// Ranges of a striped tally, and the words each lock takes (one per cache line).
  static constexpr std::size_t kStripes = 64;
  static constexpr std::size_t kLockStride = 8;
  /// Words of stripe locks a shared store of these tallies takes (zeroed, node-shared): kStripes
  /// locks of kLockStride words for every count tally too large to cache.
  static std::uint64_t lock_words(const std::vector<TallySpec>& specs,
                                  std::uint64_t cache_bins = kPrivateCacheBins);

  /// A private store: owns zeroed dense arrays (tally_words(spec) each). Collects its own tallies.
  explicit TallyStore(const std::vector<TallySpec>& specs);
  /// A view of `bins[k]` (tally_words of spec k each, zeroed by the caller, outliving the store),
  /// possibly shared by other workers (`shared`: they add concurrently, so additions are atomic).
  /// `collector`: this worker reports the contents of the shared bins for everyone sharing them
  /// (exactly one worker per shared set). Shared tallies of at most `cache_bins` words are
  /// cached. `kinds[k]`: the kind of tally k (missing: count).
  /// `locks`: lock_words(specs) zeroed words shared by every store over the same bins, or empty
  /// (every shared add atomic).
  TallyStore(std::vector<std::span<std::uint64_t>> bins, bool shared, bool collector,
             std::uint64_t cache_bins = kPrivateCacheBins, std::vector<TallyKind> kinds = {},
             std::span<std::uint64_t> locks = {});
  TallyStore(const TallyStore&) = delete;
  TallyStore& operator=(const TallyStore&) = delete;

  /// Appends a finished task's contributions (`task`) to `batch`, laid out for this store. Does
  /// not touch the bins. Thread-compatible like apply.
  void stage(const TallyLog& task, StagedLog& batch) const;
  /// Adds an accepted batch's counts and scores (staged by this store or one over the same
  /// tallies). Thread-compatible: one thread per store object.
  void apply(const StagedLog& batch);
  /// The same for a log not staged (stages it first).
  void apply(const TallyLog& log);
  /// Moves privately cached counts into the shared bins (no-op for private stores). After it, the
  /// bins hold everything this worker applied.
  void flush();
  bool shared() const noexcept { return shared_; }
  bool collector() const noexcept { return collector_; }
  /// The bins' contents (a copy). For a shared store, complete only once every sharer flushed and
  /// none applies meanwhile.
  std::vector<std::vector<std::uint64_t>> contents() const;
  std::span<const std::uint64_t> bins(std::size_t k) const noexcept { return bins_[k]; }
  std::size_t size() const noexcept { return bins_.size(); }

 private:
  void flush_real(std::size_t k);
  /// Adds tally k's staged counts range by range under the stripe locks (plain adds), and its
  /// other counts (`adds`) one lock each.
  void apply_striped(std::size_t k, const StagedLog& batch);
  /// Appends tally k's +1 counts `ones` to its kStripes `lists` (offsets in the stripe).
  void stage_striped(std::size_t k, const std::vector<std::uint64_t>& ones,
                     std::vector<StripeList>& lists) const;
  bool striped(std::size_t k) const noexcept { return !locks_[k].empty(); }

  std::vector<std::vector<std::uint64_t>> owned_;  ///< private store's memory
  std::vector<std::span<std::uint64_t>> bins_;
  std::vector<std::vector<std::uint64_t>> cache_;  ///< per tally; empty unless cached
  std::vector<TallyKind> kinds_;                   ///< per tally
  /// Per tally: its kStripes locks (kLockStride words apart), empty unless striped.
  std::vector<std::span<std::uint64_t>> locks_;
  std::vector<unsigned> stripe_shift_;  ///< per striped tally: bin >> shift is its stripe
  std::vector<std::size_t> todo_;       ///< apply_striped's stripes not yet done
  StagedLog unstaged_;                  ///< apply(const TallyLog&)'s staging (reused)
  bool shared_ = false;
  bool collector_ = true;
};

}  // namespace carlo::sched
