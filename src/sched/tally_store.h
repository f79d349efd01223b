#pragma once
/// \file
/// Where a worker adds the tallies of its accepted results. On a node with several ranks, one
/// store is shared by all of them (memory from a node-shared segment): the node holds one copy of
/// every tally instead of one per rank. Shared bins are added with atomic read-modify-writes;
/// small tallies (where ranks would fight over the same cache lines) are first summed in a private
/// cache and flushed into the shared bins at synchronisation points (checkpoint snapshots and the
/// end of the run). Counts are integers, so the sums do not depend on the order of additions.
/// Real tallies (TallyKind::real) are ExactSum limbs (core/tally_words.h: kLimbs words per bin),
/// added exactly with ExactSum::add_to / add_atomic: order-free too. They are never cached.
#include <carlo/simulation.h>

#include <cstdint>
#include <span>
#include <vector>

namespace carlo::sched {

class TallyStore {
 public:
  /// Tallies of this length or shorter are cached privately when the store is shared.
  static constexpr std::uint64_t kPrivateCacheBins = 1 << 15;  // 256 KiB per tally

  /// A private store: owns zeroed dense arrays (tally_words(spec) each). Collects its own tallies.
  explicit TallyStore(const std::vector<TallySpec>& specs);
  /// A view of `bins[k]` (tally_words of spec k each, zeroed by the caller, outliving the store),
  /// possibly shared by other workers (`shared`: they add concurrently, so additions are atomic).
  /// `collector`: this worker reports the contents of the shared bins for everyone sharing them
  /// (exactly one worker per shared set). Shared count tallies of at most `cache_bins` bins are
  /// cached. `kinds[k]`: the kind of tally k (missing: count).
  TallyStore(std::vector<std::span<std::uint64_t>> bins, bool shared, bool collector,
             std::uint64_t cache_bins = kPrivateCacheBins, std::vector<TallyKind> kinds = {});
  TallyStore(const TallyStore&) = delete;
  TallyStore& operator=(const TallyStore&) = delete;

  /// Adds an accepted batch's counts and scores. Thread-compatible: one thread per store object.
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
  std::vector<std::vector<std::uint64_t>> owned_;  ///< private store's memory
  std::vector<std::span<std::uint64_t>> bins_;
  std::vector<std::vector<std::uint64_t>> cache_;  ///< per tally; empty unless cached
  std::vector<TallyKind> kinds_;                   ///< per tally
  bool shared_ = false;
  bool collector_ = true;
};

}  // namespace carlo::sched
