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
///
/// Substreams(seed, task)(k), behind Task::substream(k), is the k-th extra stream of a task: one
/// Philox block per task, then a few ns per substream (walk builds one per walk). Its exact
/// definition is on Substreams.
#include <cstdint>

namespace carlo {

__extension__ using uint128_t = unsigned __int128;

/// out = Philox4x64-10(counter, key): the one call into Random123. Defined in src/core/rng.cpp.
void philox4x64_10(const std::uint64_t key[2], const std::uint64_t counter[4],
                   std::uint64_t out[4]) noexcept;

class Stream {
 public:
  /// `substream` selects another Philox counter, an independent stream of the same key (Task's own
  /// stream is substream 0; Task::substream uses Substreams, not this).
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
  friend class Substreams;
  /// The xoshiro256++ state (s0, s1, s2, s3), not all zero.
  Stream(std::uint64_t s0, std::uint64_t s1, std::uint64_t s2, std::uint64_t s3) noexcept
      : s_{s0, s1, s2, s3} {}
  static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
  std::uint64_t half_ = 0;
  bool have_half_ = false;
};

/// The extra streams of task `task` under `seed`: operator()(k) is a pure function of
/// (seed, task, k), so a task's substream k is the same on any rank, in any order, on a retry.
///
/// Definition (docs/reproducibility.md):
///   key K = Philox4x64-10(key (seed, task), counter (0, 0, 1, "carlo")), 256 bits, once per
///           task (no Stream uses that counter: theirs have 0 in the third word);
///   stream k = xoshiro256++ with state s_j = mix64(K_j + (k + 1) * C_j), j = 0..3 (mod 2^64),
///           where mix64 is SplitMix64's output function (Stafford's Mix13 finaliser) and C_j are
///           the odd constants kGamma below (all-zero state replaced by (1, 0, 0, 0), as Stream).
/// So word j of substream k is output k of a SplitMix64 generator with seed K_j and gamma C_j
/// (Steele, Lea, Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014), the
/// seeding Vigna recommends for xoshiro (https://prng.di.unimi.it/). Why the substreams are
/// independent enough:
///  - for each j, k -> K_j + (k + 1) C_j is a bijection mod 2^64 (C_j odd), and so is mix64:
///    every k < 2^64 starts from its own state, and mix64 (SplitMix64 passes BigCrush with it)
///    leaves no visible relation between the states of nearby k;
///  - from there each substream is a stretch of xoshiro256++'s one cycle of 2^256 - 1 states:
///    were the starting points random, n substreams of L draws would overlap with probability
///    about n^2 L / 2^256 (1e-41 at n = L = 1e12);
///  - other tasks and seeds have unrelated keys K (Philox): their substreams could coincide with
///    this task's only if all four words' SplitMix64 sequences were shifted by the same amount
///    (K'_j - K_j = d C_j for every j), a 2^-192 event; none is the task's own stream.
/// Cost: one Philox block per task here, then twelve multiplies (about 5 ns) per substream.
///
/// Small (four words), immutable after construction: safe to share between threads.
class Substreams {
 public:
  /// One Philox4x64-10 block (defined in src/core/rng.cpp).
  Substreams(std::uint64_t seed, std::uint64_t task) noexcept;

  /// Substream k (k = 0, 1, ...).
  Stream operator()(std::uint64_t k) const noexcept {
    const std::uint64_t n = k + 1;
    const std::uint64_t s0 = mix64(key_[0] + n * kGamma[0]);
    const std::uint64_t s1 = mix64(key_[1] + n * kGamma[1]);
    const std::uint64_t s2 = mix64(key_[2] + n * kGamma[2]);
    const std::uint64_t s3 = mix64(key_[3] + n * kGamma[3]);
    // Each word is a bijection of k, so the zero state is possible for at most one k.
    if ((s0 | s1 | s2 | s3) == 0) [[unlikely]]
      return Stream(1, 0, 0, 0);
    return Stream(s0, s1, s2, s3);
  }

  /// SplitMix64's finaliser (Stafford's Mix13): a bijection of 64-bit words with full avalanche.
  static constexpr std::uint64_t mix64(std::uint64_t z) noexcept {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  /// C_0..C_3: SplitMix64's golden-ratio gamma and xxHash64's primes 2, 3, 4; odd, and each with
  /// at least 24 bit transitions (SplitMix's test for a good gamma).
  static constexpr std::uint64_t kGamma[4] = {0x9e3779b97f4a7c15ULL, 0xc2b2ae3d27d4eb4fULL,
                                              0x165667b19e3779f9ULL, 0x85ebca77c2b2ae63ULL};

 private:
  std::uint64_t key_[4];
};

}  // namespace carlo
