// `slab` throughput: particles per second of one core, the simulation as shipped
// (slab_info().create(), run task by task through carlo::Task as a worker runs it), and the cost
// of collecting a task's scores into dense bins as a worker would.
//   build/bench/bench_slab [--tasks T] [--rounds R] [--scatter c] [--bins B] [--particles N]
#include "sims/builtin.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace {

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

struct Args {
  std::int64_t tasks = 2000;
  std::int64_t rounds = 5;
  std::int64_t particles = 1000;
  std::int64_t bins = 100;
  double scatter = 0.5;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--tasks") a.tasks = std::atoll(v);
    else if (k == "--rounds") a.rounds = std::atoll(v);
    else if (k == "--particles") a.particles = std::atoll(v);
    else if (k == "--bins") a.bins = std::atoll(v);
    else if (k == "--scatter") a.scatter = std::atof(v);
    else {
      std::fprintf(stderr, "bench_slab: unknown option %s\n", k.c_str());
      std::exit(1);
    }
  }
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  carlo::OptionValues o;
  o.set("thickness", 5.0);
  o.set("sigma", 1.0);
  o.set("scatter", a.scatter);
  o.set("particles", a.particles);
  o.set("bins", a.bins);
  auto sim = carlo::sims::slab_info().create(o, carlo::RaggedView{});
  const auto specs = sim->tally_specs();
  const auto obs_specs = sim->observation_specs();
  std::vector<double> dense(static_cast<std::size_t>(a.bins), 0.0);
  double fate[3] = {0, 0, 0};
  double best = 0, best_dense = 0, scores = 0;
  std::uint64_t next_task = 0;
  for (std::int64_t r = 0; r < a.rounds; ++r) {
    for (int applying = 0; applying < 2; ++applying) {
      carlo::TallyLog log;
      const double t0 = cpu_seconds();
      for (std::int64_t t = 0; t < a.tasks; ++t) {
        carlo::Task task(next_task++, 1, 0, fate, 3, &log, &specs, &obs_specs);
        sim->run(task);
        scores += static_cast<double>(log.tallies[0].scores.size());
        if (applying)
          for (const auto& [bin, v] : log.tallies[0].scores) dense[bin] += v;
        log.clear();
      }
      const double rate = static_cast<double>(a.tasks * a.particles) / (cpu_seconds() - t0);
      (applying ? best_dense : best) = std::max(applying ? best_dense : best, rate);
    }
  }
  std::printf("slab L=5 S=1 c=%g, %lld particles x %lld tasks, %lld bins, best of %lld rounds\n",
              a.scatter, static_cast<long long>(a.particles), static_cast<long long>(a.tasks),
              static_cast<long long>(a.bins), static_cast<long long>(a.rounds));
  std::printf("simulation (Task::run)          %8.2f M particles/s per core\n", best / 1e6);
  std::printf("  + summing the scores densely  %8.2f M particles/s per core\n", best_dense / 1e6);
  std::printf("scores per task %.1f   (checksum %.6g, fate %.3f %.3f %.3f)\n",
              scores / static_cast<double>(2 * a.rounds * a.tasks), dense[0], fate[0], fate[1],
              fate[2]);
  return 0;
}
