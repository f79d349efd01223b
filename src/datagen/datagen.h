#pragma once
/// \file
/// `carlo gen` without a command line: deterministic synthetic ragged arrays (docs/data-format.md
/// says how they are made). Every number comes from counter-based streams keyed by the seed and a
/// row or edge id, so a file depends only on its config (same config, same bytes), and both
/// generators stream to disk with memory bounded independently of the file size.
/// Benchmarks and tests that need such data call these directly.
#include <carlo/dtype.h>

#include <cstdint>
#include <functional>
#include <string>

namespace carlo::datagen {

/// Told the bytes of values written so far and the total, after each row (groups) or each pass
/// over the edges (graph); how often it prints is the caller's choice. May be empty.
using Progress = std::function<void(std::uint64_t done_bytes, std::uint64_t total_bytes)>;

/// R rows of skewed (log-normal) lengths holding exactly bytes / dtype-size values; float rows
/// ~ Normal(row mean, row sd), integer rows uniform over the type.
struct GroupsConfig {
  std::uint64_t rows = 0;   ///< at least 1
  std::uint64_t bytes = 0;  ///< size of the values, a multiple of the dtype size
  DType dtype = DType::float64;
  std::uint64_t seed = 0;
  bool overwrite = false;  ///< otherwise an existing output is refused (InputError)
};

/// R-MAT graph (a=0.57 b=0.19 c=0.19 d=0.05) with 2^scale nodes and edge_factor * 2^scale
/// directed edges as CSR: row u = sorted int64 ids of u's out-neighbours.
struct GraphConfig {
  unsigned scale = 0;              ///< 1 to 32
  std::uint64_t edge_factor = 16;  ///< 1 to 2^24
  std::uint64_t seed = 0;
  bool overwrite = false;  ///< otherwise an existing output is refused (InputError)
};

/// Writes the groups array of `config` to `output` (group "/"). Memory: 1 Mi values at most.
/// Throws std::invalid_argument for a config outside its documented ranges (callers validate
/// user input first, with their own messages), InputError for the output file; a failed file is
/// removed.
void generate_groups(const GroupsConfig& config, const std::string& output,
                     const Progress& progress = {});

/// Writes the graph of `config` to `output` (group "/"). Edges are sorted in passes over node
/// ranges expected to hold about 2^24 edges each (128 MiB of keys), whatever the scale. Throws as
/// generate_groups does.
void generate_graph(const GraphConfig& config, const std::string& output,
                    const Progress& progress = {});

}  // namespace carlo::datagen
