#pragma once
/// \file
/// Byte sizes with suffixes ("256MiB", "4GiB", "1.5GB", "1000") and their pretty printing.
#include <cstdint>
#include <string>
#include <string_view>

namespace carlo {

/// Parses a size; binary (KiB, MiB, GiB, TiB) and decimal (kB, MB, GB, TB) suffixes, case
/// insensitive, optional "B". Throws InputError naming `what` (e.g. "--bytes") on bad input,
/// negative values or overflow past 2^63.
std::uint64_t parse_size(std::string_view text, std::string_view what);
/// Parses a non-negative integer count with optional k/M/G decimal suffix or 1e6 form.
std::uint64_t parse_count(std::string_view text, std::string_view what);
/// "4.00 GiB" style.
std::string format_bytes(std::uint64_t bytes);
/// The shortest text that reads back as the same double: "0.85", not "0.84999999999999998".
std::string format_real(double value);

}  // namespace carlo
