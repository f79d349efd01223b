#include "core/tally_words.h"

namespace carlo {

std::vector<std::vector<std::uint64_t>> zero_tallies(const std::vector<TallySpec>& specs) {
  std::vector<std::vector<std::uint64_t>> z;
  z.reserve(specs.size());
  for (const auto& s : specs) z.emplace_back(static_cast<std::size_t>(tally_words(s)), 0);
  return z;
}

void add_tally(std::span<std::uint64_t> dst, std::span<const std::uint64_t> src, TallyKind kind) {
  const std::size_t n = std::min(dst.size(), src.size());
  if (kind == TallyKind::count) {
    for (std::size_t i = 0; i < n; ++i) dst[i] += src[i];
    return;
  }
  for (std::size_t i = 0; i + ExactSum::kLimbs <= n; i += ExactSum::kLimbs) {
    ExactSum a(ExactSum::ConstLimbSpan(dst.subspan(i, ExactSum::kLimbs)));
    a.merge(ExactSum(ExactSum::ConstLimbSpan(src.subspan(i, ExactSum::kLimbs))));
    std::copy(a.limbs().begin(), a.limbs().end(), dst.begin() + static_cast<std::ptrdiff_t>(i));
  }
}

void add_tallies(std::vector<std::vector<std::uint64_t>>& dst,
                 const std::vector<std::vector<std::uint64_t>>& src,
                 const std::vector<TallySpec>& specs) {
  for (std::size_t k = 0; k < dst.size() && k < src.size(); ++k)
    add_tally(dst[k], src[k], k < specs.size() ? specs[k].kind : TallyKind::count);
}

void limbs_to_halves(std::span<const std::uint64_t> limbs, std::span<std::uint64_t> halves) {
  for (std::size_t i = 0; i < limbs.size(); ++i) {
    halves[2 * i] = limbs[i] & 0xffffffffU;
    halves[2 * i + 1] = limbs[i] >> 32;
  }
}

void halves_to_limbs(std::span<const std::uint64_t> halves, std::span<std::uint64_t> limbs) {
  for (std::size_t b = 0; b + ExactSum::kLimbs <= limbs.size(); b += ExactSum::kLimbs) {
    std::uint64_t carry = 0;  // < 2^31 for sums of at most 2^31 contributors (halves < 2^63)
    for (std::size_t i = b; i < b + ExactSum::kLimbs; ++i) {
      const std::uint64_t lo = halves[2 * i] + carry;
      const std::uint64_t hi = halves[2 * i + 1] + (lo >> 32);
      limbs[i] = (lo & 0xffffffffU) | (hi << 32);
      carry = hi >> 32;
    }
  }
}

std::vector<double> real_values(std::span<const std::uint64_t> words) {
  std::vector<double> v(words.size() / ExactSum::kLimbs);
  for (std::size_t b = 0; b < v.size(); ++b)
    v[b] = ExactSum::value_of(
        ExactSum::ConstLimbSpan(words.subspan(b * ExactSum::kLimbs, ExactSum::kLimbs)));
  return v;
}

}  // namespace carlo
