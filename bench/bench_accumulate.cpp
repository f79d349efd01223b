// Cost of one float tally contribution (ExactSum, src/core/exact_sum.h) next to one integer tally
// increment, for a small tally (cache resident) and a large one (memory bound), with bins visited
// in sequence or at random; for the large random case also with the prefetch TallyStore uses and
// with the bins on transparent huge pages. Contributions and bins are drawn before timing; best
// of 3 passes, timed in thread CPU time (the machine is shared).
//   build/bench/bench_accumulate [contributions]     (default 10,000,000)
#include "core/exact_sum.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace {

using carlo::ExactSum;

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

/// Best ns per contribution over 3 passes of body().
template <class Body>
double ns_per(std::size_t n, Body&& body) {
  double best = 1e300;
  for (int pass = 0; pass < 3; ++pass) {
    const double t0 = cpu_seconds();
    body();
    best = std::min(best, (cpu_seconds() - t0) * 1e9 / static_cast<double>(n));
  }
  return best;
}

/// Zeroed uint64s, optionally advised onto transparent huge pages (as walk's index is).
struct Bins {
  std::uint64_t* data = nullptr;
  std::size_t bytes = 0;
  Bins(std::size_t count, bool huge)
      : bytes((count * 8 + (2u << 20) - 1) / (2u << 20) * (2u << 20)) {
    data = static_cast<std::uint64_t*>(std::aligned_alloc(2u << 20, bytes));
    if (data == nullptr) std::abort();
    if (huge) (void)madvise(data, bytes, MADV_HUGEPAGE);
    std::fill(data, data + bytes / 8, std::uint64_t{0});
  }
  Bins(const Bins&) = delete;
  Bins& operator=(const Bins&) = delete;
  ~Bins() { std::free(data); }
};

struct Case {
  std::size_t bins;
  bool random;
  bool prefetch;
  bool huge;
};

constexpr std::size_t kAhead = 128;  // TallyStore's kPrefetchAhead

template <bool Prefetch>
void run_kernels(const Case& c, const std::vector<std::uint64_t>& bin,
                 const std::vector<double>& value, Bins& counts, Bins& limbs, double t[5]) {
  const std::size_t n = bin.size();
  auto at = [&](std::size_t b) {
    return ExactSum::LimbSpan(limbs.data + b * ExactSum::kLimbs, ExactSum::kLimbs);
  };
  auto ahead_count = [&](std::size_t i) {
    if (Prefetch && i + kAhead < n) __builtin_prefetch(&counts.data[bin[i + kAhead]], 1, 0);
  };
  auto ahead_limb = [&](std::size_t i) {
    if (Prefetch && i + kAhead < n) {
      const std::size_t j = i + kAhead;
      __builtin_prefetch(&at(bin[j])[ExactSum::limb_of(value[j])], 1, 0);
    }
  };
  bool ok = true;
  t[0] = ns_per(n, [&] {
    for (std::size_t i = 0; i < n; ++i) ahead_count(i), counts.data[bin[i]] += 1;
  });
  t[1] = ns_per(n, [&] {
    for (std::size_t i = 0; i < n; ++i)
      ahead_count(i), std::atomic_ref<std::uint64_t>(counts.data[bin[i]])
                          .fetch_add(1, std::memory_order_relaxed);
  });
  std::vector<double> plain(c.bins, 0.0);  // the non-reproducible reference
  t[4] = ns_per(n, [&] {
    for (std::size_t i = 0; i < n; ++i) {
      if (Prefetch && i + kAhead < n) __builtin_prefetch(&plain[bin[i + kAhead]], 1, 0);
      plain[bin[i]] += value[i];
    }
  });
  t[2] = ns_per(n, [&] {
    for (std::size_t i = 0; i < n; ++i) ahead_limb(i), ok &= ExactSum::add_to(at(bin[i]), value[i]);
  });
  t[3] = ns_per(n, [&] {
    for (std::size_t i = 0; i < n; ++i)
      ahead_limb(i), ok &= ExactSum::add_atomic(at(bin[i]), value[i]);
  });
  if (!ok || counts.data[0] == 0)
    std::printf("  (unexpected: refused contribution or empty bin 0)\n");
  (void)c;
}

void run(const Case& c, std::size_t n) {
  std::mt19937_64 rng(42);
  std::vector<std::uint64_t> bin(n);
  std::vector<double> value(n);
  for (std::size_t i = 0; i < n; ++i) {
    bin[i] = c.random ? rng() % c.bins : i % c.bins;
    // Track-length-like scores: positive, a few decades of magnitude.
    value[i] =
        std::ldexp(static_cast<double>(rng() >> 11) * 0x1p-53, -static_cast<int>(rng() % 20));
  }
  Bins counts(c.bins, c.huge);
  Bins limbs(c.bins * ExactSum::kLimbs, c.huge);
  double t[5];
  if (c.prefetch) run_kernels<true>(c, bin, value, counts, limbs, t);
  else run_kernels<false>(c, bin, value, counts, limbs, t);
  std::string what = c.random ? "random" : "sequential";
  if (c.prefetch) what += " +prefetch";
  if (c.huge) what += " +huge pages";
  std::printf("| %zu | %s | %.2f | %.2f | %.2f | %.2f (%.1fx) | %.2f (%.1fx) |\n", c.bins,
              what.c_str(), t[0], t[1], t[4], t[2], t[2] / t[0], t[3], t[3] / t[1]);
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 10'000'000ULL;
  std::printf("ns per contribution, %zu contributions, best of 3 (thread CPU time); bin = %zu B\n",
              n, ExactSum::kBytes);
  std::printf(
      "| bins | order | uint64 += 1 | atomic uint64 += 1 | double += | ExactSum add (vs uint64 "
      "+=) | ExactSum add_atomic (vs atomic) |\n|---|---|---|---|---|---|---|\n");
  const Case cases[] = {{100, false, false, false},       {100, true, false, false},
                        {4'000'000, false, false, false}, {4'000'000, true, false, false},
                        {4'000'000, true, true, false},   {4'000'000, true, true, true}};
  for (const auto& c : cases) run(c, n);
  return 0;
}
