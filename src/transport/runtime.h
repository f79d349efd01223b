#pragma once
/// \file
/// The MPI transport layer's public face. This header is MPI-free; src/transport/ is the only code
/// that includes <mpi.h>. Every call documented "collective" must be made by all ranks of the
/// named group in the same order.

#include "sched/channel.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace carlo::transport {

/// Owns MPI for the process: initialises it (MPI_THREAD_FUNNELED) in the constructor, finalises it
/// in the destructor; exactly one per process. Ranks are grouped into nodes by shared memory
/// (MPI_Comm_split_type), or, when CARLO_RANKS_PER_NODE=k is set (a testing aid, DESIGN §6), every
/// k consecutive world ranks form one virtual node. Node rank 0 is the node's leader. MPI errors
/// become SystemError exceptions carrying MPI_Error_string.
class Runtime {
 public:
  Runtime(int& argc, char**& argv);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  int world_rank() const noexcept;
  int world_size() const noexcept;
  int node_rank() const noexcept;   ///< rank within the node
  int node_size() const noexcept;   ///< ranks on this node
  int node_index() const noexcept;  ///< which node, 0..node_count-1
  int node_count() const noexcept;
  bool is_leader() const noexcept { return node_rank() == 0; }
  std::string host_name() const;

  /// Collective (world): true on every rank iff `ok` was true on every rank.
  bool all_ok(bool ok) const;
  /// Collective (world): "" if every rank passed "", else the message of the lowest rank that
  /// passed a non-empty one, on every rank. Lets one rank's error stop all ranks cleanly.
  std::string first_error(const std::string& message) const;
  /// Collective (world): root's bytes to every rank (resized on receivers); any size.
  void broadcast(std::vector<std::byte>& data, int root = 0) const;
  /// Collective (world): element-wise sum into `data` on rank 0 (unchanged elsewhere); any size.
  void reduce_sum(std::span<std::uint64_t> data) const;
  /// Collective (node leaders; other ranks must not call it): element-wise sum over the leaders
  /// into `data` on rank 0 (a leader; unchanged elsewhere); any size. For per-node totals.
  void reduce_sum_leaders(std::span<std::uint64_t> data) const;
  /// Collective (node).
  void node_barrier() const;
  /// Collective (world).
  void barrier() const;
  /// Ends the whole job with `code` (MPI_Abort); for unrecoverable errors only.
  [[noreturn]] void abort(int code) const noexcept;

  /// Collective (world): a channel over the world communicator (its own duplicate), for the
  /// scheduler. Destroy it (after flush()) before the Runtime.
  std::unique_ptr<sched::Channel> make_channel() const;

  struct Impl;
  Impl& impl() const noexcept { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

/// Memory shared by all ranks of a node, in an MPI-3 shared window (MPI_Win_allocate_shared):
/// the leader allocates `bytes`, the others allocate nothing and query the leader's segment.
/// The leader fills it through `writable()`, then `seal()` makes it read-only on every rank
/// (mprotect), so a stray write faults instead of corrupting the neighbours' data. Move-only; the
/// window is freed (collectively, at destruction) on every rank of the node.
class SharedSegment {
 public:
  /// Collective (world). Checks first that the node can hold `bytes` (shared-memory file system
  /// space and available memory) and throws InputError naming the sizes otherwise, on every rank.
  /// `bytes` may be the same or differ per node (each leader passes its node's size); other ranks'
  /// argument is ignored.
  static SharedSegment allocate(const Runtime& rt, std::uint64_t bytes, const std::string& what);
  SharedSegment() noexcept;
  ~SharedSegment();
  SharedSegment(SharedSegment&&) noexcept;
  SharedSegment& operator=(SharedSegment&&) noexcept;

  /// Leader only, before seal(); page-aligned.
  std::byte* writable();
  /// Leader only, before seal(): fills bytes [at, at + count) of the segment with `count` bytes
  /// of the open file `fd` from `file_offset`. Where the segment's backing file can be written
  /// (Open MPI's tmpfs file, reachable with CAP_SYS_ADMIN), the kernel copies the bytes there
  /// (sendfile: no page faults, no zeroing); otherwise pread() through writable(). Throws
  /// SystemError on I/O errors.
  void fill_from_file(int fd, std::uint64_t file_offset, std::uint64_t at, std::uint64_t count);
  /// Page-aligned start of the shared bytes, on every rank of the node.
  const std::byte* data() const noexcept;
  std::uint64_t size() const noexcept;
  /// Collective (node): waits for the leader's writes, then makes the pages read-only everywhere.
  void seal();
  /// For a segment that is never sealed (node-wide scratch, e.g. shared tallies): the shared
  /// bytes on every rank of the node, all of them writing (they coordinate, e.g. with atomics).
  std::byte* shared_writable();
  /// Collective (node): every rank's earlier writes become visible to all ranks of the node.
  void sync();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace carlo::transport
