// Cost of one float tally contribution (ExactSum, src/core/exact_sum.h) next to one integer tally
// increment, for a small tally (cache resident) and a large one (memory bound), with bins visited
// in sequence or at random. Contributions and bins are drawn before timing; best of 3 passes.
//   build/bench/bench_accumulate [contributions]     (default 10,000,000)
#include "core/exact_sum.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

namespace {

using carlo::ExactSum;
using Clock = std::chrono::steady_clock;

/// Best ns per contribution over 3 passes of body().
template <class Body>
double ns_per(std::size_t n, Body&& body) {
  double best = 1e300;
  for (int pass = 0; pass < 3; ++pass) {
    const auto t0 = Clock::now();
    body();
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    best = std::min(best, s * 1e9 / static_cast<double>(n));
  }
  return best;
}

void run(std::size_t n_bins, bool random_bins, std::size_t n) {
  std::mt19937_64 rng(42);
  std::vector<std::uint64_t> bin(n);
  std::vector<double> value(n);
  for (std::size_t i = 0; i < n; ++i) {
    bin[i] = random_bins ? rng() % n_bins : i % n_bins;
    // Track-length-like scores: positive, a few decades of magnitude.
    value[i] =
        std::ldexp(static_cast<double>(rng() >> 11) * 0x1p-53, -static_cast<int>(rng() % 20));
  }
  std::vector<std::uint64_t> counts(n_bins, 0);
  std::vector<std::uint64_t> limbs(n_bins * ExactSum::kLimbs, 0);
  std::vector<double> plain(n_bins, 0.0);
  auto at = [&](std::size_t b) {
    return ExactSum::LimbSpan(limbs.data() + b * ExactSum::kLimbs, ExactSum::kLimbs);
  };
  const double t_int = ns_per(n, [&] {
    for (std::size_t i = 0; i < n; ++i) counts[bin[i]] += 1;
  });
  const double t_int_atomic = ns_per(n, [&] {
    for (std::size_t i = 0; i < n; ++i)
      std::atomic_ref<std::uint64_t>(counts[bin[i]]).fetch_add(1, std::memory_order_relaxed);
  });
  const double t_double = ns_per(n, [&] {
    for (std::size_t i = 0; i < n; ++i) plain[bin[i]] += value[i];
  });
  bool ok = true;
  const double t_exact = ns_per(n, [&] {
    for (std::size_t i = 0; i < n; ++i) ok &= ExactSum::add_to(at(bin[i]), value[i]);
  });
  const double t_exact_atomic = ns_per(n, [&] {
    for (std::size_t i = 0; i < n; ++i) ok &= ExactSum::add_atomic(at(bin[i]), value[i]);
  });
  double check = 0;
  for (std::size_t b = 0; b < n_bins; ++b) check += ExactSum::value_of(at(b)) - plain[b];
  std::printf(
      "%9zu bins %-10s | uint64 += 1 %6.2f | atomic %6.2f | double += %6.2f | "
      "ExactSum add %6.2f (%4.1fx) | add_atomic %6.2f (%4.1fx)   [check %d %.1e %llu]\n",
      n_bins, random_bins ? "random" : "sequential", t_int, t_int_atomic, t_double, t_exact,
      t_exact / t_int, t_exact_atomic, t_exact_atomic / t_int_atomic, ok ? 1 : 0, check,
      static_cast<unsigned long long>(counts[0]));
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 10'000'000ULL;
  std::printf("ns per contribution, %zu contributions, best of 3; ExactSum bin = %zu B\n", n,
              ExactSum::kBytes);
  for (std::size_t bins : {std::size_t{100}, std::size_t{4'000'000}})
    for (bool random_bins : {false, true}) run(bins, random_bins, n);
  return 0;
}
