#pragma once
/// \file
/// The flat layout of a task's observations: every observation takes ObservationSpec::width()
/// consecutive "columns" (one for a scalar, k for a vector of k), in declaration order. Batches,
/// journals, checkpoints, summaries and reports work on columns; only the results file groups a
/// vector's columns back into one float64[T, k] dataset.
#include <carlo/simulation.h>

#include <cstdint>
#include <string>
#include <vector>

namespace carlo {

/// Number of columns (doubles per task) of `specs`.
inline std::size_t observation_width(const std::vector<ObservationSpec>& specs) {
  std::size_t n = 0;
  for (const auto& s : specs) n += static_cast<std::size_t>(s.width());
  return n;
}

/// Label of each column: the name of a scalar, `name[i]` for component i of a vector.
inline std::vector<std::string> observation_columns(const std::vector<ObservationSpec>& specs) {
  std::vector<std::string> out;
  for (const auto& s : specs) {
    if (s.components == 0) {
      out.push_back(s.name);
      continue;
    }
    for (std::uint64_t i = 0; i < s.components; ++i)
      out.push_back(s.name + "[" + std::to_string(i) + "]");
  }
  return out;
}

}  // namespace carlo
