#pragma once
/// \file
/// The run's tallies, one copy per node: a shared segment every rank of the node adds into (the
/// wiring between the scheduler's TallyStore and the transport's SharedSegment). Without this, a
/// walk over 4 M nodes would hold 32 MiB per rank; with it, 32 MiB per node.
#include "sched/tally_store.h"
#include "transport/runtime.h"

#include <carlo/simulation.h>

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace carlo::engine {

class NodeTallies {
 public:
  /// Collective (world): allocates and zeroes the node's bins (none if there are no tallies).
  /// Throws InputError on every rank if a node cannot hold them.
  NodeTallies(const transport::Runtime& rt, const std::vector<TallySpec>& specs);
  NodeTallies(const NodeTallies&) = delete;
  NodeTallies& operator=(const NodeTallies&) = delete;

  /// This rank's store, shared with the other ranks of its node; the node leader collects.
  sched::TallyStore& store() noexcept { return *store_; }
  /// Collective (world), after every worker loop of the job ended (each flushed its store):
  /// the job's totals on rank 0, as views of this object's memory (the node's shared bins, summed
  /// over the nodes in place; valid while it lives, writable: nothing else uses the bins any
  /// more); an empty list elsewhere. Call once.
  std::vector<std::span<std::uint64_t>> reduce(const transport::Runtime& rt);

 private:
  std::vector<TallySpec> specs_;
  std::vector<std::vector<std::uint64_t>> owned_totals_;  ///< reduce() without shared bins
  transport::SharedSegment segment_;
  std::optional<sched::TallyStore> store_;
};

}  // namespace carlo::engine
