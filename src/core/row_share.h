#pragma once
/// \file
/// Splitting a ragged array's rows among the ranks of a node, so that each checks its share
/// (SimulationInfo::check_data).
#include <carlo/ragged.h>

#include <cstdint>

namespace carlo {

/// Share `part` of `parts` (part < parts) of rows [0, rows) of a ragged array with valid `offsets`
/// (rows + 1 entries, ragged.h): consecutive ranges in order of `part`, disjoint, together
/// covering every row, each of about equal cost, a row costing its length + 1. So ranks that scan
/// their shares read about the same bytes however ragged the rows, and rows without values still
/// count. A share is empty when there are more parts than rows, or when a long row takes more than
/// a share of the cost.
RowRange row_share(const std::uint64_t* offsets, std::uint64_t rows, std::uint64_t part,
                   std::uint64_t parts) noexcept;

}  // namespace carlo
