#include "core/exact_sum.h"

#include <cmath>

namespace carlo {
namespace {

// Bins in a node-shared segment are written by several processes: only lock-free atomics work.
static_assert(std::atomic_ref<std::uint64_t>::is_always_lock_free);

using Limbs = ExactSum::Limbs;
constexpr std::size_t kLimbs = ExactSum::kLimbs;

/// Relaxed is enough: the limbs are integers summed modulo 2^64 each, and readers synchronise
/// with writers by other means (see add_atomic).
bool atomic_add_carry(std::uint64_t& limb, std::uint64_t v) noexcept {
  if (v == 0) return false;
  const std::uint64_t old =
      std::atomic_ref<std::uint64_t>(limb).fetch_add(v, std::memory_order_relaxed);
  return old + v < old;
}

bool atomic_sub_borrow(std::uint64_t& limb, std::uint64_t v) noexcept {
  if (v == 0) return false;
  const std::uint64_t old =
      std::atomic_ref<std::uint64_t>(limb).fetch_sub(v, std::memory_order_relaxed);
  return old < v;
}

/// |N| of a two's-complement N (the most negative value cannot occur: see the header's range).
bool make_magnitude(Limbs& a) noexcept {
  if ((a[kLimbs - 1] >> 63) == 0) return false;
  bool carry = true;
  for (auto& limb : a) {
    limb = ~limb + (carry ? 1U : 0U);
    carry = carry && limb == 0;
  }
  return true;
}

/// 53-bit significand of a magnitude whose highest set bit is `top`, rounded to nearest-even.
std::uint64_t rounded_significand(const Limbs& a, std::size_t top) noexcept {
  std::uint64_t w = 0;  // the 64 bits [top - 63, top]
  bool sticky = false;  // any set bit below them
  if (top < 64) {
    w = a[0] << (63 - top);
  } else {
    const std::size_t low = top - 63;
    const std::size_t k = low / 64;
    const unsigned off = static_cast<unsigned>(low % 64);
    w = off == 0 ? a[k] : (a[k] >> off) | (a[k + 1] << (64U - off));
    sticky = off != 0 && (a[k] & ((std::uint64_t{1} << off) - 1)) != 0;
    for (std::size_t j = 0; j < k && !sticky; ++j) sticky = a[j] != 0;
  }
  std::uint64_t m = w >> 11;
  const bool round = ((w >> 10) & 1U) != 0;
  sticky = sticky || (w & 0x3ffU) != 0;
  if (round && (sticky || (m & 1U) != 0)) ++m;  // may reach 2^53: still exact as a double
  return m;
}

}  // namespace

ExactSum::ExactSum(ConstLimbSpan limbs) noexcept {
  for (std::size_t i = 0; i < kLimbs; ++i) limbs_[i] = limbs[i];
}

void ExactSum::merge(const ExactSum& other) noexcept {
  bool carry = false;
  for (std::size_t i = 0; i < kLimbs; ++i) {
    std::uint64_t r = 0;
    const bool c1 = __builtin_add_overflow(limbs_[i], other.limbs_[i], &r);
    const bool c2 = __builtin_add_overflow(r, carry ? 1U : 0U, &r);
    limbs_[i] = r;
    carry = c1 || c2;
  }
}

bool ExactSum::is_zero() const noexcept {
  for (auto limb : limbs_)
    if (limb != 0) return false;
  return true;
}

void ExactSum::to_bytes(std::span<std::byte, kBytes> out) const noexcept {
  for (std::size_t i = 0; i < kLimbs; ++i)
    for (std::size_t b = 0; b < 8; ++b)
      out[8 * i + b] = static_cast<std::byte>((limbs_[i] >> (8 * b)) & 0xffU);
}

ExactSum ExactSum::from_bytes(std::span<const std::byte, kBytes> in) noexcept {
  ExactSum s;
  for (std::size_t i = 0; i < kLimbs; ++i)
    for (std::size_t b = 0; b < 8; ++b)
      s.limbs_[i] |= static_cast<std::uint64_t>(in[8 * i + b]) << (8 * b);
  return s;
}

bool ExactSum::add_atomic(LimbSpan limbs, double x) noexcept {
  const auto bits = std::bit_cast<std::uint64_t>(x);
  if (((bits >> 52) & 0x7ffU) == 0x7ffU) return false;
  const auto p = exact_sum_detail::place(bits);
  const auto lo = static_cast<std::uint64_t>(p.v);
  const auto hi = static_cast<std::uint64_t>(p.v >> 64);
  std::size_t i = p.index;
  if (!p.negative) {
    bool c = atomic_add_carry(limbs[i], lo);
    c = atomic_add_carry(limbs[i + 1], hi + (c ? 1U : 0U));  // hi < 2^53: no wrap
    for (i += 2; c && i < kLimbs; ++i) c = atomic_add_carry(limbs[i], 1);
  } else {
    bool b = atomic_sub_borrow(limbs[i], lo);
    b = atomic_sub_borrow(limbs[i + 1], hi + (b ? 1U : 0U));
    for (i += 2; b && i < kLimbs; ++i) b = atomic_sub_borrow(limbs[i], 1);
  }
  return true;
}

void ExactSum::merge_into_atomic(LimbSpan limbs) const noexcept {
  bool carry = false;
  for (std::size_t i = 0; i < kLimbs; ++i) {
    const std::uint64_t w = limbs_[i] + (carry ? 1U : 0U);
    const bool wrapped = carry && w == 0;  // limbs_[i] was all ones: carry passes through
    carry = atomic_add_carry(limbs[i], w) || wrapped;
  }
}

double ExactSum::value_of(ConstLimbSpan limbs) noexcept {
  Limbs a;
  for (std::size_t i = 0; i < kLimbs; ++i) a[i] = limbs[i];
  const bool negative = make_magnitude(a);
  std::size_t t = kLimbs;
  while (t > 0 && a[t - 1] == 0) --t;
  if (t == 0) return 0.0;
  const std::size_t top = 64 * (t - 1) + 63 - static_cast<std::size_t>(std::countl_zero(a[t - 1]));
  const std::uint64_t m = rounded_significand(a, top);
  // m * 2^(top - 52) units of 2^-1074; exact or subnormal-exact, or inf past DBL_MAX.
  const double v = std::ldexp(static_cast<double>(m), static_cast<int>(top) - 52 - 1074);
  return negative ? -v : v;
}

}  // namespace carlo
