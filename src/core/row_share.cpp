#include "core/row_share.h"

#include <carlo/rng.h>  // uint128_t

namespace carlo {
namespace {

// The first row r in [0, rows] whose cost before it, offsets[r] + r (strictly increasing in r),
// is at least part/parts of the total, offsets[rows] + rows.
std::uint64_t boundary(const std::uint64_t* offsets, std::uint64_t rows, std::uint64_t part,
                       std::uint64_t parts) noexcept {
  const auto total = static_cast<uint128_t>(offsets[rows] + rows);
  const auto target = static_cast<std::uint64_t>(total * part / parts);
  std::uint64_t lo = 0, hi = rows;  // the answer is in [lo, hi]
  while (lo < hi) {
    const std::uint64_t mid = lo + (hi - lo) / 2;
    if (offsets[mid] + mid >= target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

}  // namespace

RowRange row_share(const std::uint64_t* offsets, std::uint64_t rows, std::uint64_t part,
                   std::uint64_t parts) noexcept {
  if (parts == 0 || part >= parts) return {rows, rows};
  return {boundary(offsets, rows, part, parts), boundary(offsets, rows, part + 1, parts)};
}

}  // namespace carlo
