#pragma once
/// \file
/// Ragged arrays in HDF5 files (DESIGN §1). This header is HDF5-free; the implementation in
/// src/io/ is the only code that includes <hdf5.h>.
#include <carlo/dtype.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace carlo::io {

/// What a ragged array on disk is, without reading its values.
struct RaggedInfo {
  std::string path;
  std::string group;  ///< "/" by default
  DType dtype = DType::float64;
  std::uint64_t rows = 0;
  std::uint64_t n_values = 0;
  bool values_contiguous = false;  ///< contiguous, unfiltered, allocated: can be memory-mapped
  std::uint64_t values_file_offset = 0;  ///< byte offset of values in the file when contiguous
  bool values_native_order = true;       ///< little-endian on this machine; needed to map
  std::string values_layout;             ///< "contiguous", "chunked", "chunked+gzip", "compact"...
  bool offsets_signed = false;           ///< int64 offsets (accepted, checked non-negative)
  bool has_format_attribute = false;
};

/// Opens and checks the structure of a ragged array: objects present, ranks, types, lengths
/// (offsets has rows+1 entries). Throws InputError "FILE:/group/object: problem" otherwise.
/// Not thread-safe (HDF5 is built without thread safety); use from one thread.
class RaggedReader {
 public:
  RaggedReader(const std::string& path, const std::string& group = "/");
  ~RaggedReader();
  RaggedReader(RaggedReader&&) noexcept;
  RaggedReader& operator=(RaggedReader&&) noexcept;

  const RaggedInfo& info() const noexcept;
  /// Reads all rows+1 offsets into `out` and validates them (start 0, non-decreasing, end ==
  /// n_values), naming the first bad index. `out.size()` must be rows+1.
  void read_offsets(std::span<std::uint64_t> out) const;
  /// Reads values[first, first+count) into `out` (count * dtype_size bytes), in pieces so no
  /// single HDF5 or OS call moves more than 2^30 bytes.
  void read_values(std::uint64_t first, std::uint64_t count, void* out) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Streams a ragged array to a new file: append rows (or raw value blocks plus lengths), then
/// `finish()`. Memory stays bounded by the write buffer whatever the file size. Without
/// `finish()` (an exception, a kill) the file is removed by the destructor, so no partial file
/// poses as complete.
class RaggedWriter {
 public:
  struct Options {
    std::string group = "/";
    bool overwrite = false;          ///< otherwise an existing path is refused
    std::uint64_t chunk_values = 0;  ///< 0: contiguous (mappable); else chunk length in values
    int gzip_level = 0;              ///< with chunking only
  };
  RaggedWriter(const std::string& path, DType dtype, std::uint64_t n_values_hint, Options opts);
  ~RaggedWriter();
  RaggedWriter(RaggedWriter&&) noexcept;
  RaggedWriter& operator=(RaggedWriter&&) noexcept;

  /// Appends one row of `count` elements of the writer's dtype.
  void append_row(const void* data, std::uint64_t count);
  /// Appends values without closing a row (a long row written in pieces).
  void append_values(const void* data, std::uint64_t count);
  /// Closes the current row (its values are those appended since the previous end_row).
  void end_row();
  /// Writes offsets and attributes, closes the file. Returns the final info.
  RaggedInfo finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace carlo::io
