// Random stream throughput: the per-element cost of `bootstrap` is one bounded draw plus one
// gather, so the generator decides whether it reaches 150 M resampled elements/s per core.
//   build/bench/bench_rng [draws]
#include <carlo/rng.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char** argv) {
  const std::uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 400000000ULL;
  using clock = std::chrono::steady_clock;
  auto rate = [&](auto&& body, const char* what) {
    const auto t0 = clock::now();
    const std::uint64_t sink = body();
    const double s = std::chrono::duration<double>(clock::now() - t0).count();
    std::printf("%-34s %8.1f M/s   (checksum %llu)\n", what, static_cast<double>(n) / s / 1e6,
                static_cast<unsigned long long>(sink));
  };
  rate(
      [&] {
        carlo::Stream r(1, 2);
        std::uint64_t acc = 0;
        for (std::uint64_t i = 0; i < n; ++i) acc += r.next_u32();
        return acc;
      },
      "next_u32");
  rate(
      [&] {
        carlo::Stream r(1, 2);
        std::uint64_t acc = 0;
        for (std::uint64_t i = 0; i < n; ++i) acc += r.below32(4097);
        return acc;
      },
      "below32(4097)");
  rate(
      [&] {
        carlo::Stream r(1, 2);
        double acc = 0;
        for (std::uint64_t i = 0; i < n; ++i) acc += r.uniform();
        return static_cast<std::uint64_t>(acc);
      },
      "uniform");
  std::vector<double> row(400000, 1.0);
  rate(
      [&] {
        carlo::Stream r(1, 2);
        double acc = 0;
        const auto len = static_cast<std::uint32_t>(row.size());
        for (std::uint64_t i = 0; i < n; ++i) acc += row[r.below32(len)];
        return static_cast<std::uint64_t>(acc);
      },
      "gather row[below32(400000)]");
  return 0;
}
