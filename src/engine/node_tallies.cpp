#include "engine/node_tallies.h"

#include "core/prefault.h"
#include "core/tally_words.h"

#include <span>

namespace carlo::engine {

NodeTallies::NodeTallies(const transport::Runtime& rt, const std::vector<TallySpec>& specs)
    : specs_(specs) {
  std::uint64_t bins = 0;  // words: a real tally takes ExactSum::kLimbs per bin
  for (const auto& s : specs) bins += tally_words(s);
  if (bins == 0) {  // nothing to share (the same on every rank: all run the same simulation)
    store_.emplace(specs);
    return;
  }
  // The bins, then the stripe locks of the large tallies (after every bin: reduce() reads the
  // bins from the start of the segment).
  const std::uint64_t locks = sched::TallyStore::lock_words(specs);
  const std::uint64_t words = bins + locks;
  segment_ = transport::SharedSegment::allocate(rt, words * sizeof(std::uint64_t), "tallies");
  auto* base = reinterpret_cast<std::uint64_t*>(segment_.shared_writable());
  // Every rank adds into all of it: map it now, in one call per rank, rather than fault it in
  // a page at a time during the run (docs/benchmarks.md, "walk end to end"). A new segment is
  // zero-filled (SharedSegment::allocate), which is what empty bins and free locks are: clearing
  // it again cost rank 0 a 32 MiB memset for the walk's 4 M bins.
  prefault_writable(base, words * sizeof(std::uint64_t));
  segment_.sync();
  const std::span<std::uint64_t> lock_span(base + bins, static_cast<std::size_t>(locks));
  std::vector<std::span<std::uint64_t>> views;
  std::vector<TallyKind> kinds;
  for (const auto& s : specs) {
    views.emplace_back(base, static_cast<std::size_t>(tally_words(s)));
    base += tally_words(s);
    kinds.push_back(s.kind);
  }
  store_.emplace(std::move(views), /*shared=*/rt.node_size() > 1, /*collector=*/rt.is_leader(),
                 sched::TallyStore::kPrivateCacheBins, std::move(kinds), lock_span);
}

namespace {

// A real tally's limbs cannot be summed word by word (carries between limbs would be lost): they
// travel as carry-save halves (core/tally_words.h), summed by the same uint64 reduction.
template <class Reduce>
void reduce_words(std::span<std::uint64_t> words, TallyKind kind, bool root, Reduce reduce) {
  if (kind == TallyKind::count) return reduce(words);
  std::vector<std::uint64_t> halves(2 * words.size());
  limbs_to_halves(words, halves);
  reduce(std::span<std::uint64_t>(halves));
  if (root) halves_to_limbs(halves, words);
}

}  // namespace

std::vector<std::span<std::uint64_t>> NodeTallies::reduce(const transport::Runtime& rt) {
  std::vector<std::span<std::uint64_t>> totals;
  if (segment_.size() == 0) {  // no shared bins: a private (empty) store on every rank
    owned_totals_ = store_->contents();
    for (std::size_t k = 0; k < owned_totals_.size(); ++k)
      reduce_words(owned_totals_[k], specs_[k].kind, rt.world_rank() == 0,
                   [&](std::span<std::uint64_t> w) { rt.reduce_sum(w); });
    if (rt.world_rank() == 0) totals.assign(owned_totals_.begin(), owned_totals_.end());
    return totals;
  }
  segment_.sync();  // every rank of the node flushed before its goodbye; make it visible
  if (!rt.is_leader()) return totals;
  // Every leader reduces straight from its node's bins, and rank 0 into its own: no copy (counts
  // as they are; real limbs go as halves). Plain reads and writes are safe here, although the
  // workers added with atomics: every worker of the node has said goodbye after its last flush,
  // rank 0's worker thread has been joined, and the sync above (fence, node barrier, fence)
  // orders all their writes before these reads; nothing writes the bins any more.
  auto leaders = [&](std::span<std::uint64_t> w) { rt.reduce_sum_leaders(w); };
  const bool root = rt.world_rank() == 0;
  auto* base = reinterpret_cast<std::uint64_t*>(segment_.shared_writable());
  for (const auto& s : specs_) {
    const std::span<std::uint64_t> bins(base, static_cast<std::size_t>(tally_words(s)));
    reduce_words(bins, s.kind, root, leaders);
    if (root) totals.push_back(bins);
    base += tally_words(s);
  }
  return totals;
}

}  // namespace carlo::engine
