#pragma once
/// \file
/// Internals of results files shared by src/io/summary.cpp, src/io/results_file.cpp and their unit
/// tests. HDF5-free. Not part of the public API.

#include "io/results_file.h"

#include <cstdint>
#include <functional>
#include <span>
#include <string>

namespace carlo::io::detail {

/// Visits every value of one observation in task order, in chunks of any size (NaN = not done).
/// A scan may be called several times and must present the same values in the same order each time.
using ChunkVisitor = std::function<void(std::span<const double>)>;
using Scan = std::function<void(const ChunkVisitor&)>;

/// Default bound on the number of 8-byte keys `summarize_scan` holds in memory (128 MiB).
inline constexpr std::uint64_t kSummaryMemoryKeys = std::uint64_t{1} << 24;

/// The summary of the values `scan` presents, with at most `memory_keys` values held in memory.
/// If the non-NaN values fit, one scan: they are kept and percentiles use nth_element. Otherwise
/// an exact radix selection over 16-bit digits of the order-preserving key of each double costs a
/// few more scans. Both paths give bitwise the same Summary (tests force the second one with a
/// small `memory_keys`).
Summary summarize_scan(const Scan& scan, std::uint64_t memory_keys = kSummaryMemoryKeys);

/// Summarises /observations/<name> of a results file, reading it in chunks of `chunk_values`
/// values with at most `memory_keys` keys in memory. What ResultsWriter::finish stores.
Summary summarize_observation(const std::string& path, const std::string& name,
                              std::uint64_t memory_keys = kSummaryMemoryKeys,
                              std::uint64_t chunk_values = std::uint64_t{1} << 20);

/// Sum of /tallies/<name>, read in pieces (a tally may have 2^30 bins).
std::uint64_t tally_total(const std::string& path, const std::string& name);

/// Order-preserving map of a (non-NaN) double to uint64: a < b (with -0 < +0) iff key(a) < key(b).
std::uint64_t order_key(double x) noexcept;
double from_order_key(std::uint64_t key) noexcept;

}  // namespace carlo::io::detail
