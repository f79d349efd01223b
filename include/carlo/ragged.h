#pragma once
/// \file
/// Read-only view of a ragged array in memory: row i is values[offsets[i] : offsets[i+1]].
/// The view never owns memory. Whoever builds it (the node-shared window, a file mapping, a test)
/// guarantees that offsets are validated (offsets[0] == 0, non-decreasing, offsets[rows] ==
/// n_values) and that the memory outlives the view. All calls are const and thread-safe.
#include <carlo/dtype.h>
#include <carlo/error.h>

#include <cstdint>
#include <span>
#include <string>

namespace carlo {

/// Rows [first, last) of a ragged array.
struct RowRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  bool empty() const noexcept { return first >= last; }
  std::uint64_t size() const noexcept { return empty() ? 0 : last - first; }
};

struct RaggedView {
  const std::uint64_t* offsets = nullptr;  ///< rows + 1 entries
  const void* values = nullptr;            ///< n_values elements of `dtype`
  std::uint64_t rows = 0;
  std::uint64_t n_values = 0;
  DType dtype = DType::float64;

  bool empty() const noexcept { return offsets == nullptr; }
  std::uint64_t row_length(std::uint64_t i) const noexcept { return offsets[i + 1] - offsets[i]; }

  /// Row i as a span of T. T must be the stored type (checked).
  template <class T>
  std::span<const T> row(std::uint64_t i) const {
    if (dtype_of<T>() != dtype)
      throw InputError("ragged row requested as " + std::string(dtype_name(dtype_of<T>())) +
                       " but values are " + std::string(dtype_name(dtype)));
    return row_unchecked<T>(i);
  }
  /// Row i without the type check, for hot loops that checked the type once.
  template <class T>
  std::span<const T> row_unchecked(std::uint64_t i) const noexcept {
    const T* base = static_cast<const T*>(values);
    return {base + offsets[i], static_cast<std::size_t>(offsets[i + 1] - offsets[i])};
  }
  /// All values as a span of T (type checked).
  template <class T>
  std::span<const T> all() const {
    if (dtype_of<T>() != dtype)
      throw InputError("ragged values requested as " + std::string(dtype_name(dtype_of<T>())) +
                       " but values are " + std::string(dtype_name(dtype)));
    return {static_cast<const T*>(values), static_cast<std::size_t>(n_values)};
  }
  std::uint64_t value_bytes() const noexcept { return n_values * dtype_size(dtype); }
};

/// Checks the offsets invariants of DESIGN §1 and throws InputError naming `where` (e.g.
/// "groups.h5:/offsets") and the first bad index.
void validate_offsets(std::span<const std::uint64_t> offsets, std::uint64_t n_values,
                      const std::string& where);

}  // namespace carlo
