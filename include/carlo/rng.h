#pragma once
/// \file
/// Per-task random streams (DESIGN §4). Stream(seed, task, substream) is a pure function of its
/// key: the same (seed, task id) gives the same numbers on any rank, in any order, on a retry or
/// after a restart.
///
/// How: Philox4x64-10 (Random123, counter-based) maps the key (seed, task) and the counter
/// (substream) to 256 random bits, which seed a xoshiro256++ generator that produces the draws.
/// Philox gives independent, reproducible per-task streams without any shared state; xoshiro256++
/// gives ~1 ns draws (Philox alone costs ~3 ns per 32-bit draw on the benchmark machine, the
/// bottleneck of `bootstrap`). With 2^256 states seeded by a strong hash, stream overlap is not a
/// practical concern. See docs/reproducibility.md.
///
/// A Stream is small (five words), cheap to create (one Philox block) and not thread-safe: one per
/// task (or per walker).
#include <cstdint>

namespace carlo {

__extension__ using uint128_t = unsigned __int128;

/// out = Philox4x64-10(counter, key): the one call into Random123. Defined in src/core/rng.cpp.
void philox4x64_10(const std::uint64_t key[2], const std::uint64_t counter[4],
                   std::uint64_t out[4]) noexcept;

class Stream {
 public:
  /// `substream` selects an independent stream of the same task (e.g. one per interleaved walker).
  Stream(std::uint64_t seed, std::uint64_t task, std::uint64_t substream = 0) noexcept {
    const std::uint64_t key[2] = {seed, task};
    const std::uint64_t ctr[4] = {substream, 0, 0, 0x6361726c6fULL /* "carlo" */};
    philox4x64_10(key, ctr, s_);
    if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) s_[0] = 1;  // xoshiro's one forbidden state
  }

  /// Uniform 64-bit word (xoshiro256++).
  std::uint64_t next_u64() noexcept {
    const std::uint64_t result = rotl(s_[0] + s_[3], 23) + s_[0];
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  /// Uniform 32-bit word: the two halves of one 64-bit draw are used in turn.
  std::uint32_t next_u32() noexcept {
    if (have_half_) {
      have_half_ = false;
      return static_cast<std::uint32_t>(half_ >> 32);
    }
    half_ = next_u64();
    have_half_ = true;
    return static_cast<std::uint32_t>(half_);
  }
  /// Uniform double in [0, 1) with 53 random bits.
  double uniform() noexcept { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  /// Uniform integer in [0, n), unbiased (Lemire's multiply-and-reject). n must be > 0.
  std::uint64_t below(std::uint64_t n) noexcept {
    if (n <= 0xffffffffULL) return below32(static_cast<std::uint32_t>(n));
    uint128_t m = static_cast<uint128_t>(next_u64()) * n;
    auto low = static_cast<std::uint64_t>(m);
    if (low < n) {
      const std::uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = static_cast<uint128_t>(next_u64()) * n;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::uint64_t>(m >> 64);
  }
  /// Uniform integer in [0, n) for 0 < n < 2^32, one 32-bit draw in the common case.
  std::uint32_t below32(std::uint32_t n) noexcept {
    std::uint64_t m = static_cast<std::uint64_t>(next_u32()) * n;
    auto low = static_cast<std::uint32_t>(m);
    if (low < n) {
      const std::uint32_t threshold = (0u - n) % n;
      while (low < threshold) {
        m = static_cast<std::uint64_t>(next_u32()) * n;
        low = static_cast<std::uint32_t>(m);
      }
    }
    return static_cast<std::uint32_t>(m >> 32);
  }
  /// True with probability p.
  bool bernoulli(double p) noexcept { return uniform() < p; }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
  std::uint64_t half_ = 0;
  bool have_half_ = false;
};

}  // namespace carlo
