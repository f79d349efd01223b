#pragma once
/// \file
/// The MPI transport layer's public face. This header is MPI-free; src/transport/ is the only code
/// that includes <mpi.h>. Every call documented "collective" must be made by all ranks of the
/// named group in the same order.

#include "sched/channel.h"
#include "transport/mpi_defaults.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
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
  /// What this process decided about Open MPI's pml before MPI_Init (apply_mpi_defaults).
  PmlChoice pml_choice() const noexcept;
  /// The value the MPI library uses for its control variable `name` (MPI_T; for Open MPI an MCA
  /// parameter such as "pml"), or std::nullopt when it has no such string variable. Not
  /// collective. For tests and diagnostics.
  std::optional<std::string> control_variable(const std::string& name) const;

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

/// Memory shared by all ranks of a node, one copy per node: the leader creates an anonymous memory
/// file (memfd) of `bytes` with its pages reserved, and every rank of the node maps it (the others
/// open it through the leader's /proc entry: same user, no privilege needed). The leader fills it
/// through `writable()` or `fill_from_file()`, then `seal()` makes it read-only on every rank
/// (mprotect), so a stray write faults instead of corrupting the neighbours' data. Move-only;
/// destruction unmaps locally (not collective); the memory goes with the last mapping.
/// docs/architecture-transport.md, "Where the window lives".
class SharedSegment {
 public:
  /// Collective (world). Checks first that the node can hold `bytes` (available memory, capped by
  /// the cgroup's limit) and throws InputError naming the sizes otherwise, on every rank; a
  /// failure to reserve the pages is the same InputError on every rank too. `bytes` may be the
  /// same or differ per node (each leader passes its node's size); other ranks' argument is
  /// ignored. Every byte of a new segment is zero (a new memory file, never recycled memory:
  /// tmpfs reads unwritten pages, reserved or not, as zeros), so callers need not clear it.
  static SharedSegment allocate(const Runtime& rt, std::uint64_t bytes, const std::string& what);
  SharedSegment() noexcept;
  ~SharedSegment();
  SharedSegment(SharedSegment&&) noexcept;
  SharedSegment& operator=(SharedSegment&&) noexcept;

  /// Leader only, before seal(); page-aligned.
  std::byte* writable();
  /// Leader only, before seal(): fills bytes [at, at + count) of the segment with `count` bytes
  /// of the open file `fd` from `file_offset`. The kernel copies them into the memory file
  /// (sendfile: no page faults, no zeroing, no privilege needed); where sendfile cannot read `fd`,
  /// pread() through writable() finishes. Throws SystemError on I/O errors. Copies in pieces of
  /// 64 MiB and gives up between two when `*stop` is set (a signal during a long load): returns
  /// false then, the segment partly filled.
  bool fill_from_file(int fd, std::uint64_t file_offset, std::uint64_t at, std::uint64_t count,
                      const std::atomic<bool>* stop = nullptr);
  /// Every rank of the node, with the same arguments, before seal(), on a segment on huge pages:
  /// reads its share of `count` bytes of the open file `fd` from `file_offset` into [at, at +
  /// count) of the segment (the huge pages the range touches, split in node-rank order) through
  /// its own mapping (pread), so the node's ranks copy at once, each mapping its pages as it goes.
  /// Not collective: a rank returns when its share is in; seal() waits for all. Throws
  /// std::logic_error without huge pages (there a rank would fault in every 4 KiB page:
  /// fill_from_file is the way), SystemError on I/O errors, a file ending early included. Gives
  /// up between 64 MiB pieces when `*stop` is set: returns false.
  bool read_share_from_file(int fd, std::uint64_t file_offset, std::uint64_t at,
                            std::uint64_t count, const std::atomic<bool>* stop = nullptr);
  /// Leader only, before seal(): copies `count` bytes from `bytes` to [at, at + count) of the
  /// segment, through the memory file (pwrite: no page faults on this rank's mapping) when there
  /// is one, else through writable(). Throws SystemError on a failed write.
  void write(std::uint64_t at, const void* bytes, std::uint64_t count);
  /// Page-aligned start of the shared bytes, on every rank of the node (huge-page aligned when it
  /// tries huge pages).
  const std::byte* data() const noexcept;
  /// Whether the segment is on huge pages, the same on every rank. Tried unless
  /// CARLO_HUGE_PAGES=0 is in every rank's environment; best effort: a segment of 16 MiB or more,
  /// on Linux 6.1 or later unless tmpfs huge pages are denied, with free huge pages.
  bool huge_pages() const noexcept;
  std::uint64_t size() const noexcept;
  /// Collective (node): waits for the leader's writes, then makes the pages read-only everywhere
  /// (a write faults; whole pages, so the bytes after size() in the last page too).
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
