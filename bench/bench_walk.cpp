// Benchmark: random-walk PageRank steps per second against the machine's random-gather rate
// (docs/benchmarks.md, "Random-walk PageRank (walk)").
//
//   bench_walk GRAPH.h5 [--tasks N] [--huge]
//
// One process, one core, the graph loaded into memory (like a node's shared copy). Measured in the
// same run, on the same values array:
//   (a) independent random gathers from `values` (precomputed random indices, many loads in
//       flight): the machine's gather rate, the ceiling for any step that needs one random load;
//   (a') dependent random loads, one at a time (each index computed from the previous value): what
//       one walker at a time could reach at best;
//   (b) the `walk` simulation itself, built with walk_info().create() and run task by task through
//       carlo::Task exactly as a worker does (the per-task tally log included, cleared per task);
//   (c) (b) plus applying each task's tally log to a dense per-rank array, as the worker does when
//       the master acknowledges the batch: the full per-step cost of a run; (c') the same with an
//       apply loop that prefetches the bins 16 entries ahead;
//   (d) one walker at a time (a plain loop), and the simulation's kernel (sims/walk_kernel.h) with
//       8..64 lanes counting visits into a dense per-rank array instead of the tally log;
//   (e) the kernel appending bare uint64 bins to a vector (a leaner log), and recording nothing.
// Each figure is the best of 3 interleaved rounds; rates use the thread's CPU time (the machine is
// shared), wall-clock rates are printed alongside.
// --huge asks for transparent huge pages (madvise) on the graph buffers; carlo's shared window and
// file mapping do not, so the default is the representative figure.
#include <carlo/error.h>
#include <carlo/io/ragged_file.h>
#include <carlo/sims/builtin.h>

#include "sims/walk_kernel.h"

#include <sys/mman.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// Anonymous memory, optionally backed by transparent huge pages.
class Buffer {
 public:
  Buffer(std::size_t bytes, bool huge) : bytes_(std::max<std::size_t>(bytes, 1)) {
    p_ = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p_ == MAP_FAILED) throw carlo::SystemError("mmap: " + std::string(std::strerror(errno)));
    if (huge && madvise(p_, bytes_, MADV_HUGEPAGE) != 0)
      throw carlo::SystemError("madvise(MADV_HUGEPAGE): " + std::string(std::strerror(errno)));
  }
  ~Buffer() { munmap(p_, bytes_); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  template <class T>
  T* as() const noexcept {
    return static_cast<T*>(p_);
  }

 private:
  std::size_t bytes_;
  void* p_;
};

// ---- (d) the simulation's kernel with other lane counts, counting into a dense array -----------

template <std::size_t Lanes>
std::uint64_t walk_dense(const carlo::RaggedView& g, std::uint64_t seed, std::uint64_t id,
                         std::uint64_t walks, std::uint64_t continue_below, std::uint64_t* visits) {
  return carlo::sims::walk_detail::run_walks<std::int64_t, Lanes>(
      g, walks, continue_below, [&](std::size_t lane) { return carlo::Stream(seed, id, lane + 1); },
      [&](std::span<const std::uint64_t> nodes) {
        for (const std::uint64_t node : nodes) ++visits[node];
      });
}

/// The simulation's kernel appending bare bins to a vector (8 bytes a visit, count 1 implicit), or
/// recording nothing (`log` null): what a leaner tally log would cost, and the kernel's ceiling.
std::uint64_t walk_bins(const carlo::RaggedView& g, std::uint64_t seed, std::uint64_t id,
                        std::uint64_t walks, std::uint64_t continue_below,
                        std::vector<std::uint64_t>* log, std::uint64_t* sink) {
  auto substream = [&](std::size_t lane) { return carlo::Stream(seed, id, lane + 1); };
  if (log == nullptr)
    return carlo::sims::walk_detail::run_walks<std::int64_t>(
        g, walks, continue_below, substream,
        [&](std::span<const std::uint64_t> nodes) { *sink += nodes.size(); });
  log->clear();
  return carlo::sims::walk_detail::run_walks<std::int64_t>(
      g, walks, continue_below, substream, [&](std::span<const std::uint64_t> nodes) {
        log->insert(log->end(), nodes.begin(), nodes.end());
      });
}

/// One walker at a time, no prefetch: every step waits for its two loads.
std::uint64_t walk_one_at_a_time(const carlo::RaggedView& g, std::uint64_t seed, std::uint64_t id,
                                 std::uint64_t walks, std::uint64_t continue_below,
                                 std::uint64_t* visits) {
  const auto* values = static_cast<const std::int64_t*>(g.values);
  carlo::Stream rng(seed, id, 1);
  std::uint64_t steps = 0;
  for (std::uint64_t w = 0; w < walks; ++w) {
    std::uint64_t cur = rng.below(g.rows);
    for (;;) {
      ++visits[cur];
      ++steps;
      if (!(rng.next_u64() < continue_below)) break;
      const std::uint64_t begin = g.offsets[cur];
      const std::uint64_t len = g.offsets[cur + 1] - begin;
      cur = len ? static_cast<std::uint64_t>(values[begin + rng.below(len)]) : rng.below(g.rows);
    }
  }
  return steps;
}

struct Args {
  std::string path;
  std::uint64_t tasks = 3000;
  bool huge = false;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    if (s == "--tasks" && i + 1 < argc) a.tasks = std::strtoull(argv[++i], nullptr, 10);
    else if (s == "--huge") a.huge = true;
    else if (a.path.empty() && s[0] != '-') a.path = s;
    else throw carlo::InputError("usage: bench_walk GRAPH.h5 [--tasks N] [--huge]");
  }
  if (a.path.empty()) throw carlo::InputError("usage: bench_walk GRAPH.h5 [--tasks N] [--huge]");
  return a;
}

int run(const Args& args) {
  // ---- load --------------------------------------------------------------------------------
  carlo::io::RaggedReader reader(args.path);
  const auto& info = reader.info();
  if (info.dtype != carlo::DType::int64)
    throw carlo::InputError(args.path + ": bench_walk wants int64 neighbour ids (carlo gen graph)");
  Buffer offsets_buf((info.rows + 1) * sizeof(std::uint64_t), args.huge);
  Buffer values_buf(info.n_values * sizeof(std::int64_t), args.huge);
  auto t0 = Clock::now();
  reader.read_offsets({offsets_buf.as<std::uint64_t>(), info.rows + 1});
  reader.read_values(0, info.n_values, values_buf.as<std::int64_t>());
  const double load_s = seconds_since(t0);
  carlo::RaggedView g;
  g.offsets = offsets_buf.as<std::uint64_t>();
  g.values = values_buf.as<std::int64_t>();
  g.rows = info.rows;
  g.n_values = info.n_values;
  g.dtype = info.dtype;
  const double value_mib = static_cast<double>(info.n_values * 8) / (1 << 20);
  std::printf(
      "graph %s: %llu nodes, %llu edges, values %.0f MiB, offsets %.0f MiB, loaded in %.2f s%s\n",
      args.path.c_str(), static_cast<unsigned long long>(info.rows),
      static_cast<unsigned long long>(info.n_values), value_mib,
      static_cast<double>((info.rows + 1) * 8) / (1 << 20), load_s,
      args.huge ? " (huge pages requested)" : "");

  carlo::OptionValues opts;
  opts.set("walks-per-task", std::int64_t{1000});
  opts.set("alpha", 0.85);
  t0 = Clock::now();
  auto sim = carlo::sims::walk_info().create(opts, g);
  std::printf("setup (validating every neighbour id): %.3f s\n", seconds_since(t0));

  // Every figure is the best of `kRounds` rounds, the items interleaved so a burst of load from
  // other processes does not favour one of them; rates use this thread's CPU time, since the
  // machine is shared (wall-clock rates are printed alongside).
  constexpr int kRounds = 3;
  struct Rate {
    double cpu = 0, wall = 0;
    void add(double work, double cpu_s, double wall_s) {
      cpu = std::max(cpu, work / cpu_s);
      wall = std::max(wall, work / wall_s);
    }
  };
  auto timed = [](Rate& r, auto&& body) {
    const auto w0 = Clock::now();
    const double c0 = thread_cpu_seconds();
    const double work = body();
    r.add(work, thread_cpu_seconds() - c0, seconds_since(w0));
  };

  const auto* values = values_buf.as<std::int64_t>();
  const std::size_t n_idx = std::size_t{1} << 24;
  std::vector<std::uint64_t> idx(n_idx);
  carlo::Stream irng(99, 0);
  for (auto& i : idx) i = irng.below(info.n_values);
  std::int64_t sink = 0;
  // (a) independent gathers: the loop carries no dependence between loads, so the core keeps as
  // many in flight as it can.
  auto gathers = [&] {
    std::int64_t acc = 0;
    for (std::size_t i = 0; i < n_idx; ++i) acc += values[idx[i]];
    sink += acc;
    return static_cast<double>(n_idx);
  };
  // (a') dependent loads: the next index needs the value just loaded.
  auto dependent = [&] {
    const std::uint64_t n_dep = 2'000'000;
    std::uint64_t cur = idx[0];
    for (std::uint64_t i = 0; i < n_dep; ++i)
      cur = (static_cast<std::uint64_t>(values[cur]) * 0x9e3779b97f4a7c15ULL + i) % info.n_values;
    sink += static_cast<std::int64_t>(cur);
    return static_cast<double>(n_dep);
  };

  // (b) the simulation through carlo::Task, (c) plus applying the tally log as the worker does.
  const auto specs = sim->tally_specs();
  std::vector<std::uint64_t> dense(info.rows, 0);
  std::uint64_t next_task = 0;  // fresh tasks every round
  // apply: 0 no, 1 as the worker does (sched/run_loop.cpp), 2 prefetching 16 entries ahead.
  auto run_sim = [&](int apply) {
    carlo::TallyLog log;
    log.tallies.resize(1);
    log.tallies[0].ones.reserve(16384);
    double steps = 0;
    for (std::uint64_t k = 0; k < args.tasks; ++k) {
      double obs = 0;
      carlo::Task task(next_task++, 1, 0, &obs, 1, &log, &specs);
      sim->run(task);
      steps += obs;
      const auto& es = log.tallies[0].ones;
      if (apply == 1)
        for (std::uint64_t bin : es) ++dense[bin];
      if (apply == 2) {
        constexpr std::size_t kAhead = 16;
        for (std::size_t i = 0; i < es.size(); ++i) {
          if (i + kAhead < es.size()) __builtin_prefetch(&dense[es[i + kAhead]], 1);
          ++dense[es[i]];
        }
      }
      log.clear();
    }
    return steps;
  };

  // (d) kernel experiments on a copy, first checked against the simulation.
  const auto continue_below = static_cast<std::uint64_t>(std::ldexp(0.85L, 64));
  {
    carlo::TallyLog log;
    double obs = 0;
    carlo::Task task(7, 1, 0, &obs, 1, &log, &specs);
    sim->run(task);
    std::vector<std::vector<std::uint64_t>> wanted{std::vector<std::uint64_t>(info.rows, 0)};
    log.add_to(wanted);
    const auto& want = wanted[0];
    std::vector<std::uint64_t> got(info.rows, 0);
    walk_dense<32>(g, 1, 7, 1000, continue_below, got.data());
    if (want != got)
      throw carlo::SystemError("bench_walk: the kernel copy disagrees with the simulation");
  }
  auto kernel_steps = [&](auto&& kernel, std::uint64_t tasks) {
    std::uint64_t steps = 0;
    for (std::uint64_t k = 0; k < tasks; ++k) steps += kernel(next_task++);
    return static_cast<double>(steps);
  };
  auto one_at_a_time = [&] {
    return kernel_steps(
        [&](std::uint64_t t) {
          return walk_one_at_a_time(g, 1, t, 1000, continue_below, dense.data());
        },
        std::max<std::uint64_t>(args.tasks / 10, 1));
  };
  std::vector<std::uint64_t> bins;
  bins.reserve(16384);
  std::uint64_t nothing = 0;
  auto bare_bins = [&] {
    return kernel_steps(
        [&](std::uint64_t t) { return walk_bins(g, 1, t, 1000, continue_below, &bins, &nothing); },
        args.tasks);
  };
  auto no_record = [&] {
    return kernel_steps(
        [&](std::uint64_t t) {
          return walk_bins(g, 1, t, 1000, continue_below, nullptr, &nothing);
        },
        args.tasks);
  };
  auto lanes = [&]<std::size_t L>(std::integral_constant<std::size_t, L>) {
    return kernel_steps(
        [&](std::uint64_t t) { return walk_dense<L>(g, 1, t, 1000, continue_below, dense.data()); },
        args.tasks);
  };

  run_sim(0);  // warm up: page tables, caches, the log's capacity
  Rate ra, rdep, rb, rc, rc2, rbins, rnone, r1, r8, r16, r32, r64;
  for (int round = 0; round < kRounds; ++round) {
    timed(ra, gathers);
    timed(rdep, dependent);
    timed(rb, [&] { return run_sim(0); });
    timed(rc, [&] { return run_sim(1); });
    timed(rc2, [&] { return run_sim(2); });
    timed(rbins, bare_bins);
    timed(rnone, no_record);
    timed(r1, one_at_a_time);
    timed(r8, [&] { return lanes(std::integral_constant<std::size_t, 8>{}); });
    timed(r16, [&] { return lanes(std::integral_constant<std::size_t, 16>{}); });
    timed(r32, [&] { return lanes(std::integral_constant<std::size_t, 32>{}); });
    timed(r64, [&] { return lanes(std::integral_constant<std::size_t, 64>{}); });
  }
  const double a = ra.cpu;
  auto line = [&](const char* what, const Rate& r, const char* unit) {
    std::printf("%-50s %7.1f M%s/s  = %.2f x (a)   [wall clock %6.1f M/s]\n", what, r.cpu / 1e6,
                unit, r.cpu / a, r.wall / 1e6);
  };
  std::printf("per core, best of %d rounds, CPU time:\n", kRounds);
  line("(a)  independent random gathers from values", ra, "");
  line("(a') dependent random loads, one at a time", rdep, "");
  line("(b)  walk simulation (carlo::Task + tally log)", rb, " steps");
  line("(c)  (b) + applying the log to a dense array", rc, " steps");
  line("(c') (c), the apply loop prefetching", rc2, " steps");
  line("(e)  kernel appending bare uint64 bins", rbins, " steps");
  line("(e)  kernel recording nothing (ceiling)", rnone, " steps");
  line("(d)  one walker at a time, dense counts", r1, " steps");
  line("(d)   8 lanes, dense counts", r8, " steps");
  line("(d)  16 lanes, dense counts", r16, " steps");
  line("(d)  32 lanes, dense counts (the simulation's width)", r32, " steps");
  line("(d)  64 lanes, dense counts", r64, " steps");
  std::printf("walk steps/s (b) / gather rate (a) = %.2f; one load at a time: %.0f ns\n",
              rb.cpu / a, 1e9 / rdep.cpu);
  std::printf("(checksum %lld)\n", static_cast<long long>(sink));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_walk: %s\n", e.what());
    return 1;
  }
}
