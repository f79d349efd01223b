// Results-file throughput on rank 0: how many tasks per second write_observations absorbs for
// several batch sizes (batches arriving out of order, as from many ranks), what finish() costs
// (status, summaries re-read from the file), and rank 0's peak memory.
//
//   bench_results [TASKS=10000000] [OBSERVATIONS=1] [DIR=/tmp]
//
// The runner's target is >= 2,000,000 tasks/s; the ratio column is measured / target.

#include "io/results_file.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double peak_rss_mib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // KiB on Linux
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t tasks = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 10'000'000;
  const std::size_t n_obs = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 1;
  const std::string dir = argc > 3 ? argv[3] : "/tmp";
  const std::string path = dir + "/bench_results_" + std::to_string(::getpid()) + ".h5";
  constexpr double kTarget = 2'000'000;

  std::vector<std::string> names;
  for (std::size_t k = 0; k < n_obs; ++k) names.push_back("obs" + std::to_string(k));

  std::printf("results file: %llu tasks, %zu observation(s), file %s\n",
              static_cast<unsigned long long>(tasks), n_obs, path.c_str());
  std::printf("%10s %12s %14s %10s %8s %12s %10s %10s\n", "batch", "write s", "tasks/s", "MB/s",
              "ratio", "finish s", "file MiB", "peak MiB");
  for (const std::uint64_t batch : {std::uint64_t{1000}, std::uint64_t{10'000},
                                    std::uint64_t{100'000}, std::uint64_t{1'000'000}}) {
    // Batches in task order, then shuffled within windows of 64: ranks finish out of order, but
    // the schedule hands out ranges roughly in order.
    std::vector<std::uint64_t> firsts;
    for (std::uint64_t f = 0; f < tasks; f += batch) firsts.push_back(f);
    std::mt19937_64 gen(batch);
    for (std::size_t w = 0; w < firsts.size(); w += 64)
      std::shuffle(firsts.begin() + static_cast<std::ptrdiff_t>(w),
                   firsts.begin() + static_cast<std::ptrdiff_t>(std::min(firsts.size(), w + 64)),
                   gen);
    std::vector<double> values(static_cast<std::size_t>(batch * n_obs));

    carlo::io::ResultsWriter writer(path, names, {{"visits", 1000}}, tasks, true);
    double write_s = 0;  // write_observations only, not making up the values
    for (const std::uint64_t first : firsts) {
      const std::uint64_t n = std::min(batch, tasks - first);
      for (std::size_t k = 0; k < n_obs; ++k)
        for (std::uint64_t i = 0; i < n; ++i)
          values[k * n + i] = std::sin(static_cast<double>(first + i)) + static_cast<double>(k);
      const auto t0 = Clock::now();
      writer.write_observations(first, n, std::span<const double>(values.data(), n * n_obs));
      write_s += seconds_since(t0);
    }

    const auto t1 = Clock::now();
    carlo::io::RunMeta meta;
    meta.simulation = "bench";
    meta.tasks = tasks;
    writer.finish(
        [](std::uint64_t, std::uint64_t count, carlo::io::TaskState* s, std::uint8_t* a) {
          std::fill_n(s, count, carlo::io::TaskState::done);
          std::fill_n(a, count, std::uint8_t{1});
        },
        {std::vector<std::uint64_t>(1000, 1)}, {}, meta);
    const double finish_s = seconds_since(t1);
    const double rate = static_cast<double>(tasks) / write_s;
    std::printf("%10llu %12.3f %14.0f %10.1f %8.2f %12.3f %10.1f %10.1f\n",
                static_cast<unsigned long long>(batch), write_s, rate,
                rate * static_cast<double>(8 * n_obs) / 1e6, rate / kTarget, finish_s,
                static_cast<double>(std::filesystem::file_size(path)) / (1 << 20), peak_rss_mib());
  }
  std::filesystem::remove(path);
  return 0;
}
