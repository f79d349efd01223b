#pragma once
/// \file
/// Loads a ragged array (DESIGN §1) so that each node holds one read-only copy, shared by all of
/// its ranks: the wiring between the I/O layer (RaggedReader) and the transport (SharedSegment).
#include "io/ragged_file.h"
#include "transport/runtime.h"

#include <carlo/ragged.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace carlo::engine {

/// How a node shares the values: `window` copies them into an MPI shared window (any layout,
/// memory = data size per node); `mmap` maps them straight from the file (contiguous,
/// uncompressed, native-order values only; ready at once, pages come from the page cache).
/// Offsets always live in a shared window.
enum class ShareMode { window, mmap };

/// "window" or "mmap"; throws InputError naming --share otherwise.
ShareMode parse_share_mode(std::string_view text);

/// The loaded data of one rank. Move-only; the memory stays valid (and read-only: a write
/// faults) while this object lives. Destroying it is collective over the node (it frees the
/// shared window) and must happen before the Runtime is destroyed.
class SharedRagged {
 public:
  SharedRagged() = default;
  ~SharedRagged();
  SharedRagged(SharedRagged&&) noexcept;
  SharedRagged& operator=(SharedRagged&&) noexcept;
  SharedRagged(const SharedRagged&) = delete;
  SharedRagged& operator=(const SharedRagged&) = delete;

  /// The rows, identical on every rank. Valid while this object lives; thread-safe.
  RaggedView view() const;

  /// What the file holds (as rank 0 saw it), identical on every rank.
  io::RaggedInfo info;

 private:
  friend class SharedRaggedLoader;
  void unmap() noexcept;

  transport::SharedSegment segment_;  ///< offsets, then (window mode) the values
  std::uint64_t values_offset_ = 0;   ///< 64-byte aligned position of the values in segment_
  ShareMode mode_ = ShareMode::window;
  void* mapping_ = nullptr;  ///< mmap mode: the file mapping (page-aligned)
  std::size_t mapping_bytes_ = 0;
  const std::byte* mapped_values_ = nullptr;
};

/// Collective (world). Rank 0 first opens the file and checks its structure and offsets; a bad
/// file becomes the same InputError on every rank before anything is allocated. Then each node
/// leader reads the file into its node's shared segment (after a capacity check that also
/// raises InputError on every rank), errors are agreed again, and the segment is sealed. In
/// `mmap` mode a file whose values cannot be mapped (chunked, compressed, not native order) is
/// refused with an InputError that suggests `--share window`.
/// `stop` (a signal's flag): a node leader that sees it set stops copying between two pieces of
/// 64 MiB and leaves the segment partly filled; the caller must check the flag (agreed over the
/// ranks) before using the data.
SharedRagged load_shared_ragged(const transport::Runtime& rt, const std::string& path,
                                const std::string& group, ShareMode mode,
                                const std::atomic<bool>* stop = nullptr);

}  // namespace carlo::engine
