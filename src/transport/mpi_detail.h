#pragma once
/// \file
/// Private to src/transport/ (the only code that includes <mpi.h>): error checking, the single
/// checked narrowing of a 64-bit count to MPI's int, the piece-wise loops that keep every count
/// passed to MPI within that limit, a sleeping wait for requests, and Runtime::Impl.

#include "transport/runtime.h"

#include <mpi.h>

#include <cstdint>
#include <string>

namespace carlo::transport {

namespace detail {

/// Throws SystemError "`call`: MPI_Error_string(rc)" unless rc == MPI_SUCCESS.
void check(int rc, const char* call);

/// The one place a 64-bit count becomes MPI's int; throws SystemError naming `what` if it does
/// not fit. Every count handed to MPI goes through here.
int to_int(std::uint64_t count, const char* what);

/// Largest number of bytes moved by one MPI call. Well below INT_MAX so that implementations
/// that keep byte counts in an int internally stay safe too.
inline constexpr std::uint64_t kMaxPieceBytes = std::uint64_t{1} << 30;

/// Collectives moving at most this many bytes are non-blocking with a sleeping wait; larger ones
/// first wait (sleeping) at a barrier, then run as blocking calls.
inline constexpr std::uint64_t kSleepingCollectiveBytes = std::uint64_t{64} << 10;

/// Largest element count of one call for elements of `element_size` bytes (0 allowed: a
/// zero-size datatype, used by tests to cross INT_MAX elements without memory).
std::uint64_t max_piece_count(std::uint64_t element_size);

/// Broadcasts `count` elements of `type` (extent `element_size`) from `root` over `comm`, in
/// pieces, without spinning while ranks arrive (see kSleepingCollectiveBytes); returns the number
/// of MPI calls made.
std::uint64_t broadcast_pieces(void* data, std::uint64_t count, MPI_Datatype type,
                               std::uint64_t element_size, int root, MPI_Comm comm);
/// Reduces `count` elements with `op` into rank 0 (in place there), in pieces; returns the number
/// of MPI calls made.
std::uint64_t reduce_pieces(void* data, std::uint64_t count, MPI_Datatype type,
                            std::uint64_t element_size, MPI_Op op, MPI_Comm comm);

/// Waits for all `count` requests without spinning a core: MPI_Testall, then sleeps that start at
/// 20 us and double up to 1 ms. Open MPI's own MPI_Wait busy-polls, which would steal a core from
/// the simulations sharing the node.
void wait_sleeping(MPI_Request* requests, std::size_t count, const char* what);

/// MPI_Allreduce in place and MPI_Barrier, as nonblocking calls waited for with wait_sleeping:
/// ranks that reach a collective early (while a leader reads gigabytes) must not spin.
void allreduce_sleeping(void* data, int count, MPI_Datatype type, MPI_Op op, MPI_Comm comm);
void barrier_sleeping(MPI_Comm comm);

/// Duplicates `comm` with MPI_ERRORS_RETURN set on the copy.
MPI_Comm dup_with_errors_return(MPI_Comm comm);
/// Frees a communicator we own, ignoring errors (used in destructors); null-safe.
void free_comm(MPI_Comm& comm) noexcept;

}  // namespace detail

struct Runtime::Impl {
  MPI_Comm world = MPI_COMM_NULL;    ///< owned duplicate of MPI_COMM_WORLD
  MPI_Comm host = MPI_COMM_NULL;     ///< ranks sharing memory (physical node), owned
  MPI_Comm node = MPI_COMM_NULL;     ///< the (possibly virtual) node, owned
  MPI_Comm leaders = MPI_COMM_NULL;  ///< node leaders only; MPI_COMM_NULL elsewhere, owned
  int world_rank = 0;
  int world_size = 1;
  int node_rank = 0;
  int node_size = 1;
  int node_index = 0;
  int node_count = 1;
  bool virtual_nodes = false;                      ///< CARLO_RANKS_PER_NODE is in force
  PmlChoice pml_choice = PmlChoice::not_one_node;  ///< apply_mpi_defaults before MPI_Init
};

}  // namespace carlo::transport
