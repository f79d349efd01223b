#pragma once
/// \file
/// ExactSum: the exact sum of float64 contributions, for float tallies (DESIGN §3, issue 11).
///
/// Contract: the state is a pure function of the EXACT (real-number) sum of the contributions, so
/// any order of adds and any tree of merges (ranks, batches, retries, resume, `carlo merge`) gives
/// the same bytes, and value() is that exact sum correctly rounded to nearest-even: error
/// <= 2^-53 |sum| <= 1.2e-16 x (sum of magnitudes), far inside the 1e-13 of DESIGN §3.
///
/// Why exact and not binned (ReproBLAS-style K-fold indexed sums, ~6 doubles = 48 B per bin):
/// a binned sum is reproducible for the same MULTISET of contributions but its bytes are not a
/// function of the exact sum (the index depends on the largest contribution), it drops low bits
/// of each contribution, and its merge needs renormalisation under a lock. The fixed-point long
/// accumulator below needs no rounding anywhere, so it is trivially order-independent, its
/// representation is canonical (equal exact sums => equal bytes, so checkpoints and merges are
/// exact), and it can be added into from several ranks with plain atomic fetch_add per limb.
/// Price: memory, 272 B per bin (34 x uint64) against 8 B for a uint64 count; cost per add is one
/// 128-bit add over two limbs and a rare carry: ~2.3 ns in cache against ~0.4 ns for a count,
/// a DRAM miss for multi-million-bin tallies (docs/benchmarks.md, "Float tallies").
///
/// Threads: an ExactSum object is a plain value (not thread-safe). Bins shared by several ranks
/// live as raw limbs in shared memory and are written only through add_atomic and
/// merge_into_atomic (below).
///
/// Representation: a 2176-bit two's-complement integer N in units of 2^-1074 (the smallest
/// subnormal), limb 0 least significant. Every finite double is an integer multiple of 2^-1074
/// below 2^2098 units, so any sum of fewer than 2^77 finite doubles is exact; arithmetic wraps
/// modulo 2^2176, so intermediate sums beyond the range (DBL_MAX + DBL_MAX - DBL_MAX) still give
/// the right final sum. value() returns +-inf when the exact sum rounds beyond DBL_MAX.
#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace carlo {

class ExactSum {
 public:
  static constexpr std::size_t kLimbs = 34;
  static constexpr std::size_t kBytes = kLimbs * sizeof(std::uint64_t);
  using Limbs = std::array<std::uint64_t, kLimbs>;
  /// One bin's limbs inside a flat uint64 array (bin b at offset b * kLimbs), e.g. a node-shared
  /// segment: the engine keeps a float tally of B bins as B * kLimbs zero-initialised uint64s.
  using LimbSpan = std::span<std::uint64_t, kLimbs>;
  using ConstLimbSpan = std::span<const std::uint64_t, kLimbs>;

  ExactSum() = default;
  /// The accumulator whose limbs are `limbs` (from limbs() or a bin of a flat array).
  explicit ExactSum(ConstLimbSpan limbs) noexcept;

  /// Adds x exactly. Returns false and changes nothing when x is NaN or +-inf: the caller turns
  /// that into a task failure (a non-finite contribution has no reproducible sum).
  [[nodiscard]] bool add(double x) noexcept { return add_to(limbs_, x); }
  /// Adds other's sum exactly; merges commute and associate bitwise.
  void merge(const ExactSum& other) noexcept;
  /// The exact sum rounded to nearest-even (+-inf beyond DBL_MAX; +0 for an exact zero).
  [[nodiscard]] double value() const noexcept { return value_of(limbs_); }
  [[nodiscard]] bool is_zero() const noexcept;
  [[nodiscard]] const Limbs& limbs() const noexcept { return limbs_; }

  /// Fixed-size serialisation, little-endian limbs: equal exact sums <=> equal bytes.
  void to_bytes(std::span<std::byte, kBytes> out) const noexcept;
  static ExactSum from_bytes(std::span<const std::byte, kBytes> in) noexcept;

  friend bool operator==(const ExactSum&, const ExactSum&) = default;

  // --- Bins kept as raw limbs (flat uint64 arrays, node-shared segments) ---------------------

  /// add() on a bin that only this thread writes. Hot kernel, inline.
  [[nodiscard]] static bool add_to(LimbSpan limbs, double x) noexcept;
  /// add() on a bin that several threads/ranks write at once (node-shared segment): lock-free,
  /// one relaxed atomic fetch_add/fetch_sub per touched limb, and each carry or borrow is pushed
  /// into the next limb by the thread that caused it, so concurrent adds give exactly the state
  /// of sequential adds. Readers must wait until writers are done (a barrier or a message round
  /// trip plus a release/acquire fence, as for the integer tallies): a read during adds may see a
  /// carry in flight.
  [[nodiscard]] static bool add_atomic(LimbSpan limbs, double x) noexcept;
  /// Adds this (private) sum into a shared bin with relaxed atomics, carries as in add_atomic.
  /// The cheap path for many contributions per bin: accumulate a batch privately, then merge once.
  void merge_into_atomic(LimbSpan limbs) const noexcept;
  /// An add of finite x changes limbs limb_of(x) and limb_of(x) + 1 only (and a rare carry): lets
  /// a caller applying many contributions to a large tally prefetch them a few contributions ahead.
  [[nodiscard]] static std::size_t limb_of(double x) noexcept;
  /// The correctly rounded value of a bin's limbs (no concurrent writers).
  [[nodiscard]] static double value_of(ConstLimbSpan limbs) noexcept;

 private:
  Limbs limbs_{};
};

namespace exact_sum_detail {

__extension__ using uint128 = unsigned __int128;
// add_to reads two adjacent limbs as one 128-bit integer.
static_assert(std::endian::native == std::endian::little, "ExactSum assumes a little-endian host");

/// Where x's significand lands: bits `v` (< 2^117) at limbs `index` and `index + 1`.
struct Placed {
  uint128 v;
  std::size_t index;
  bool negative;
};

/// x = m * 2^-1074 * 2^s with m the 53-bit significand (implicit bit for normals) and
/// s = max(biased exponent, 1) - 1 in [0, 2045]; so m << s fits below bit 2098.
inline Placed place(std::uint64_t bits) noexcept {
  const auto biased = static_cast<unsigned>((bits >> 52) & 0x7ffU);
  std::uint64_t m = bits & ((std::uint64_t{1} << 52) - 1);
  if (biased != 0) m |= std::uint64_t{1} << 52;
  const unsigned s = biased == 0 ? 0U : biased - 1U;
  return {static_cast<uint128>(m) << (s % 64U), s / 64U, (bits >> 63) != 0};
}

}  // namespace exact_sum_detail

inline std::size_t ExactSum::limb_of(double x) noexcept {
  return exact_sum_detail::place(std::bit_cast<std::uint64_t>(x)).index;
}

// Hot kernel: one 128-bit add (or subtract) over two limbs; the carry ripple beyond them runs
// only when the sum crosses a multiple of 2^(128 + 64k) units, e.g. when it changes sign.
inline bool ExactSum::add_to(LimbSpan limbs, double x) noexcept {
  const auto bits = std::bit_cast<std::uint64_t>(x);
  if (((bits >> 52) & 0x7ffU) == 0x7ffU) return false;  // NaN or inf
  const auto p = exact_sum_detail::place(bits);
  exact_sum_detail::uint128 pair = 0;
  std::memcpy(&pair, &limbs[p.index], sizeof pair);
  std::size_t i = p.index + 2;
  if (!p.negative) {
    const auto r = pair + p.v;
    std::memcpy(&limbs[p.index], &r, sizeof r);
    for (bool c = r < p.v; c && i < kLimbs; ++i) c = ++limbs[i] == 0;
  } else {
    const auto r = pair - p.v;
    std::memcpy(&limbs[p.index], &r, sizeof r);
    for (bool b = pair < p.v; b && i < kLimbs; ++i) b = limbs[i]-- == 0;
  }
  return true;
}

}  // namespace carlo
