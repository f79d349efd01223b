#pragma once
/// \file
/// Counter-based random streams (DESIGN §4). Stream(seed, task) is a pure function of its key:
/// the same (seed, task id) gives the same numbers on any rank, in any order, on a retry or after a
/// restart. Philox4x64-10 (Random123) does the work behind `philox4x64`; nothing else sees its
/// types. A Stream is cheap to create (no state but the key, a counter and a 4-word buffer) and is
/// not thread-safe: one per task.
#include <cstdint>

namespace carlo {

__extension__ using uint128_t = unsigned __int128;

/// out = Philox4x64-10(counter, key), the one call into Random123. Defined in src/core/rng.cpp.
void philox4x64_10(const std::uint64_t key[2], const std::uint64_t counter[4],
                std::uint64_t out[4]) noexcept;

class Stream {
 public:
  /// `substream` selects an independent stream of the same task (e.g. one per interleaved walker).
  Stream(std::uint64_t seed, std::uint64_t task, std::uint64_t substream = 0) noexcept
      : key_{seed, task}, ctr_{0, substream, 0, 0x6361726c6fULL /* "carlo" */} {}

  /// Uniform 64-bit word.
  std::uint64_t next_u64() noexcept {
    if (pos_ == 8) refill();
    if (pos_ & 1u) ++pos_;  // a half-used word is skipped so 64-bit draws stay aligned
    std::uint64_t v = buf_[pos_ >> 1];
    pos_ += 2;
    return v;
  }
  /// Uniform 32-bit word (each 64-bit output feeds two).
  std::uint32_t next_u32() noexcept {
    if (pos_ == 8) refill();
    std::uint64_t w = buf_[pos_ >> 1];
    std::uint32_t v = (pos_ & 1u) ? static_cast<std::uint32_t>(w >> 32) : static_cast<std::uint32_t>(w);
    ++pos_;
    return v;
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
  /// Uniform integer in [0, n) for n < 2^32, one 32-bit draw in the common case.
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
  void refill() noexcept {
    philox4x64_10(key_, ctr_, buf_);
    ++ctr_[0];
    pos_ = 0;
  }
  std::uint64_t key_[2];
  std::uint64_t ctr_[4];
  std::uint64_t buf_[4] = {0, 0, 0, 0};
  unsigned pos_ = 8;  // in 32-bit halves; 8 means empty
};

}  // namespace carlo
