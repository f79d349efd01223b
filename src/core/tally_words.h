#pragma once
/// \file
/// How a tally is laid out as uint64 words wherever the engine moves tallies around (node-shared
/// segment, checkpoint snapshots, checkpoints, the leaders' reduction, `carlo merge`): a count
/// tally of B bins is B uint64 counts; a real tally of B bins is B ExactSum limb arrays, bin b at
/// words b * ExactSum::kLimbs .. (b + 1) * ExactSum::kLimbs - 1 (272 B per bin). Counts add word
/// by word; limbs add exactly (with carries), so the sum of real tallies is order-free too.
#include "core/exact_sum.h"

#include <carlo/simulation.h>

#include <cstdint>
#include <span>
#include <vector>

namespace carlo {

/// Words of one tally: length for counts, length * ExactSum::kLimbs for real sums.
inline std::uint64_t tally_words(const TallySpec& s) noexcept {
  return s.kind == TallyKind::real ? s.length * ExactSum::kLimbs : s.length;
}

/// One zeroed word array per spec.
std::vector<std::vector<std::uint64_t>> zero_tallies(const std::vector<TallySpec>& specs);

/// dst += src for one tally of `kind` (equal sizes, a multiple of kLimbs for real).
void add_tally(std::span<std::uint64_t> dst, std::span<const std::uint64_t> src, TallyKind kind);

/// dst[k] += src[k] for every tally k; a missing spec (specs shorter than dst) means counts.
void add_tallies(std::vector<std::vector<std::uint64_t>>& dst,
                 const std::vector<std::vector<std::uint64_t>>& src,
                 const std::vector<TallySpec>& specs);

/// Limbs -> carry-save halves: every 64-bit limb becomes two words holding 32 bits each, so
/// word-by-word uint64 sums (an MPI_SUM over up to 2^31 contributors) lose no carry.
/// `halves` has 2 * limbs.size() words.
void limbs_to_halves(std::span<const std::uint64_t> limbs, std::span<std::uint64_t> halves);
/// The inverse after such a sum: propagates the carries, modulo 2^2176 per bin like ExactSum.
void halves_to_limbs(std::span<const std::uint64_t> halves, std::span<std::uint64_t> limbs);

/// The correctly rounded value of every bin of a real tally's words.
std::vector<double> real_values(std::span<const std::uint64_t> words);

}  // namespace carlo
