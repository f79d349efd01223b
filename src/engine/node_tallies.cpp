#include "engine/node_tallies.h"

#include "core/prefault.h"

#include <cstring>
#include <span>

namespace carlo::engine {

NodeTallies::NodeTallies(const transport::Runtime& rt, const std::vector<TallySpec>& specs)
    : specs_(specs) {
  std::uint64_t bins = 0;
  for (const auto& s : specs) bins += s.length;
  if (bins == 0) {  // nothing to share (the same on every rank: all run the same simulation)
    store_.emplace(specs);
    return;
  }
  segment_ = transport::SharedSegment::allocate(rt, bins * sizeof(std::uint64_t), "tallies");
  auto* base = reinterpret_cast<std::uint64_t*>(segment_.shared_writable());
  // Every rank adds into all of it: map it now, in one call per rank, rather than fault it in
  // a page at a time during the run (docs/benchmarks.md, "walk end to end").
  prefault_writable(base, bins * sizeof(std::uint64_t));
  if (rt.is_leader()) std::memset(base, 0, bins * sizeof(std::uint64_t));
  segment_.sync();
  std::vector<std::span<std::uint64_t>> views;
  for (const auto& s : specs) {
    views.emplace_back(base, static_cast<std::size_t>(s.length));
    base += s.length;
  }
  store_.emplace(std::move(views), /*shared=*/rt.node_size() > 1, /*collector=*/rt.is_leader());
}

std::vector<std::vector<std::uint64_t>> NodeTallies::reduce(const transport::Runtime& rt) {
  std::vector<std::vector<std::uint64_t>> totals(specs_.size());
  if (segment_.size() == 0) {  // no shared bins: a private (empty) store on every rank
    totals = store_->contents();
    for (auto& t : totals) rt.reduce_sum(t);
    if (rt.world_rank() != 0) totals.assign(specs_.size(), {});
    return totals;
  }
  segment_.sync();  // every rank of the node flushed before its goodbye; make it visible
  if (!rt.is_leader()) return totals;
  if (rt.world_rank() == 0) {
    totals = store_->contents();
    for (auto& t : totals) rt.reduce_sum_leaders(t);
  } else {
    // Other leaders send straight from the node's bins: no copy.
    auto* base = reinterpret_cast<std::uint64_t*>(segment_.shared_writable());
    for (const auto& s : specs_) {
      rt.reduce_sum_leaders({base, static_cast<std::size_t>(s.length)});
      base += s.length;
    }
  }
  return totals;
}

}  // namespace carlo::engine
