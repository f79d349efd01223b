// Benchmark: random-walk PageRank steps per second against the machine's random-gather rate
// (docs/benchmarks.md, "Random-walk PageRank (walk)").
//
//   bench_walk GRAPH.h5 [--tasks N] [--walks K] [--rounds R] [--warm-up W] [--huge] [--sim-only]
//
// One process, one core, the graph loaded into private memory (4 KiB pages, or with --huge
// transparent huge pages like a node's shared memory by default). Measured in the same run, on
// the same values array:
//   (a) independent random gathers from `values` (precomputed random indices, many loads in
//       flight): the machine's gather rate, the ceiling for any step that needs one random load;
//   (a') dependent random loads, one at a time (each index computed from the previous value): what
//       one walker at a time could reach at best;
//   (b) the `walk` simulation as shipped, built with walk_info().create() (so with its compact row
//       index and kLanes lanes) and run task by task through carlo::Task exactly as a worker does
//       (the per-task tally log included, cleared per task), K (default 1000) walks per task;
//   (c) (b) plus what a worker sharing its node's tallies does with each task's tally log: staged
//       into the store's stripes as the task ends, applied 128 tasks at a time (a batch the master
//       acknowledged) with the stripe locks: the full per-step cost of a run;
//   (e) the kernel (sims/walk_kernel.h) with the compact index, without carlo::Task, recording
//       nothing, with 16 to 128 lanes (every lane count gives the same visits; checked first), and
//       the mean number of walks in flight per round;
//   (e0) the kernel with every stream built before the clock starts and read back from memory
//       (with one Philox block per stream this bounded what a cheaper substream could give);
//   (i) the kernel over the graph's own uint64 offsets (the fallback above 2^32 values);
//   (s) building the per-walk streams alone (task.substream(w): Substreams, one Philox block per
//       task, then a few multiplies per walk; + the start node's draw), task after task: streams
//       per second, and their share of a step at (b)'s rate; (s0) the same with one Philox block
//       per walk, Stream(seed, task, w + 1), the substream definition before Substreams;
//   (d) one walk at a time (the plain loop of the definition).
// Each figure is the best of R (default 3) interleaved rounds, each walk item preceded by an
// untimed run of W (default 100) tasks (the gathers flush the caches); rates use the thread's CPU
// time (the machine is shared), wall-clock rates are printed alongside.
// --huge asks for transparent huge pages (madvise) on the graph buffers: what carlo's node shared
// memory gets by default (CARLO_HUGE_PAGES), so the figure to compare a run with.
// --sim-only measures (b) and (c) alone (a few seconds): bench/walk_end_to_end.sh runs it after
// each carlo run, so a worker's rate is compared with the kernel's at the same minute.
#include "io/ragged_file.h"
#include "sched/tally_store.h"
#include "sims/builtin.h"
#include "sims/walk_kernel.h"

#include <carlo/error.h>

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

// ---- kernel experiments: the simulation's kernel with other row indexes, lane counts, sinks ----

/// The simulation's kernel over `index` with `Lanes` lanes, counting visits into a dense array
/// (`visits`) or recording nothing (null); `rounds` (if given) gets the number of rounds.
template <std::size_t Lanes = carlo::sims::walk_detail::kLanes, class Index>
std::uint64_t walk_kernel(const Index& index, const carlo::RaggedView& g, std::uint64_t seed,
                          std::uint64_t id, std::uint64_t walks, std::uint64_t continue_below,
                          std::uint64_t* visits, std::uint64_t* rounds = nullptr) {
  namespace wd = carlo::sims::walk_detail;
  const carlo::Substreams substream(seed, id);  // == task.substream(w)
  const auto* values = wd::readable_values<std::int64_t>(g);
  if (visits != nullptr)
    return wd::run_walks<std::int64_t, Lanes>(index, values, g.rows, walks, continue_below,
                                              substream, [&](std::span<const std::uint64_t> nodes) {
                                                for (const std::uint64_t n : nodes) ++visits[n];
                                                if (rounds != nullptr) ++*rounds;
                                              });
  return wd::run_walks<std::int64_t, Lanes>(index, values, g.rows, walks, continue_below, substream,
                                            [](std::span<const std::uint64_t>) {});
}

/// The definition one walk at a time, no prefetch: every step waits for its two loads.
std::uint64_t walk_one_at_a_time(const carlo::RaggedView& g, std::uint64_t seed, std::uint64_t id,
                                 std::uint64_t walks, std::uint64_t continue_below,
                                 std::uint64_t* visits) {
  namespace wd = carlo::sims::walk_detail;
  const auto* values = static_cast<const std::int64_t*>(g.values);
  std::uint64_t steps = 0;
  const carlo::Substreams substream(seed, id);
  for (std::uint64_t w = 0; w < walks; ++w) {
    carlo::Stream rng = substream(w);
    std::uint64_t cur = wd::below(rng, g.rows);
    for (;;) {
      ++visits[cur];
      ++steps;
      if (!(rng.next_u64() < continue_below)) break;
      const std::uint64_t begin = g.offsets[cur];
      const std::uint64_t len = g.offsets[cur + 1] - begin;
      cur = len ? static_cast<std::uint64_t>(values[begin + wd::below(rng, len)])
                : wd::below(rng, g.rows);
    }
  }
  return steps;
}

/// AnonHugePages of this process in KiB (/proc/self/smaps_rollup), or -1 if unreadable.
long anon_huge_kib() {
  std::FILE* f = std::fopen("/proc/self/smaps_rollup", "r");
  if (f == nullptr) return -1;
  char line[256];
  long kib = -1;
  while (std::fgets(line, sizeof line, f) != nullptr)
    if (std::sscanf(line, "AnonHugePages: %ld kB", &kib) == 1) break;
  std::fclose(f);
  return kib;
}

struct Args {
  std::string path;
  std::uint64_t tasks = 3000;
  bool huge = false;
  bool sim_only = false;  ///< (b) and (c) alone
  int rounds = 3;
  std::uint64_t warm_up = 100;
  std::uint64_t walks = 1000;
};

constexpr const char* kUsage =
    "usage: bench_walk GRAPH.h5 [--tasks N] [--walks K] [--rounds R] [--warm-up W] [--huge] "
    "[--sim-only]";

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    if (s == "--tasks" && i + 1 < argc) a.tasks = std::strtoull(argv[++i], nullptr, 10);
    else if (s == "--huge") a.huge = true;
    else if (s == "--sim-only") a.sim_only = true;
    else if (s == "--rounds" && i + 1 < argc) a.rounds = std::max(1, std::atoi(argv[++i]));
    else if (s == "--warm-up" && i + 1 < argc) a.warm_up = std::strtoull(argv[++i], nullptr, 10);
    else if (s == "--walks" && i + 1 < argc)
      a.walks = std::max<std::uint64_t>(1, std::strtoull(argv[++i], nullptr, 10));
    else if (a.path.empty() && s[0] != '-') a.path = s;
    else throw carlo::InputError(kUsage);
  }
  if (a.path.empty()) throw carlo::InputError(kUsage);
  return a;
}

int run(const Args& args) {
  namespace wd = carlo::sims::walk_detail;
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
  if (!wd::CompactOffsets::fits(g))
    throw carlo::InputError(args.path + ": bench_walk wants fewer than 2^32 edges");

  carlo::OptionValues opts;
  opts.set("walks-per-task", static_cast<std::int64_t>(args.walks));
  opts.set("alpha", 0.85);
  const long huge_before = anon_huge_kib();
  const carlo::SimulationInfo walk = carlo::sims::walk_info();
  t0 = Clock::now();
  walk.check_data(opts, g, carlo::RowRange{0, g.rows});  // as a node of one rank checks its data
  auto sim = walk.create(opts, g);
  const double setup_s = seconds_since(t0);
  std::printf(
      "setup (validating every neighbour id, building the compact row index): %.3f s; anonymous "
      "huge pages %+ld KiB\n",
      setup_s, anon_huge_kib() - huge_before);

  // The row indexes the kernel experiments use (the simulation builds its own CompactOffsets).
  const wd::OffsetIndex<std::uint64_t> shared64{g.offsets};  // the graph's own offsets
  const wd::CompactOffsets compact(g);
  const auto compact32 = compact.index();

  // Every figure is the best of `rounds` rounds, the items interleaved so a burst of load from
  // other processes does not favour one of them; rates use this thread's CPU time, since the
  // machine is shared (wall-clock rates are printed alongside).
  const int rounds = args.rounds;
  struct Rate {
    double cpu = 0, wall = 0;
    void add(double work, double cpu_s, double wall_s) {
      cpu = std::max(cpu, work / cpu_s);
      wall = std::max(wall, work / wall_s);
    }
  };
  // Tasks per walk item. Each walk item first runs W tasks untimed: the item before it (the
  // gathers above all) may have flushed the caches, while a worker running tasks back to back
  // keeps its row index as warm as the walks let it (steady state).
  std::uint64_t n_tasks = args.tasks;
  double untimed_cpu = 0, untimed_wall = 0;  // set by a body for work it does off the clock
  auto timed = [&](Rate& r, auto&& body, bool warm_up = true) {
    if (warm_up) {
      n_tasks = args.warm_up;
      body();
      n_tasks = args.tasks;
    }
    const auto w0 = Clock::now();
    const double c0 = thread_cpu_seconds();
    untimed_cpu = untimed_wall = 0;
    const double work = body();
    r.add(work, thread_cpu_seconds() - c0 - untimed_cpu, seconds_since(w0) - untimed_wall);
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

  // (b) the simulation through carlo::Task, (c) plus staging each task's log and applying the
  // staged batches as a worker sharing its node's tallies does: the node's striped store (here
  // one thread's, so its stripe locks are always free), kBatch tasks per acknowledged batch.
  const auto specs = sim->tally_specs();
  std::vector<std::uint64_t> dense(info.rows, 0);
  std::vector<std::uint64_t> locks(carlo::sched::TallyStore::lock_words(specs), 0);
  carlo::sched::TallyStore store({std::span<std::uint64_t>(dense)}, /*shared=*/true,
                                 /*collector=*/true, carlo::sched::TallyStore::kPrivateCacheBins,
                                 {}, locks);
  carlo::sched::StagedLog staged;
  constexpr std::uint64_t kBatch = 128;  // about what the master hands a walk worker at a time
  std::uint64_t next_task = 0;           // fresh tasks every round
  auto run_sim = [&](bool apply) {
    carlo::TallyLog log;
    log.tallies.resize(1);
    log.tallies[0].ones.reserve(16384);
    double steps = 0;
    for (std::uint64_t k = 0; k < n_tasks; ++k) {
      double obs = 0;
      carlo::Task task(next_task++, 1, 0, &obs, 1, &log, &specs);
      sim->run(task);
      steps += obs;
      if (apply) store.stage(log, staged);
      if (apply && ((k + 1) % kBatch == 0 || k + 1 == n_tasks)) {
        store.apply(staged);
        staged.clear();
      }
      log.clear();
    }
    return steps;
  };

  // The kernel experiments, first checked against the simulation: the same visits with every lane
  // count and both indexes. Also the mean number of walks in flight (visits per round).
  const auto continue_below = wd::continue_threshold(0.85);
  constexpr std::array<std::size_t, 6> kLaneCounts = {16, 32, 48, 64, 96, 128};
  std::array<double, kLaneCounts.size()> in_flight{};
  {
    carlo::TallyLog log;
    double obs = 0;
    carlo::Task task(7, 1, 0, &obs, 1, &log, &specs);
    sim->run(task);
    std::vector<std::vector<std::uint64_t>> wanted{std::vector<std::uint64_t>(info.rows, 0)};
    log.add_to(wanted);
    auto check = [&]<std::size_t L>(const auto& index, const char* name) {
      std::vector<std::uint64_t> got(info.rows, 0);
      std::uint64_t n_rounds = 0;
      const std::uint64_t steps =
          walk_kernel<L>(index, g, 1, 7, args.walks, continue_below, got.data(), &n_rounds);
      if (got != wanted[0])
        throw carlo::SystemError("bench_walk: the kernel with " + std::to_string(L) +
                                 " lanes and the " + name + " index disagrees with the simulation");
      return static_cast<double>(steps) / static_cast<double>(n_rounds);
    };
    check.template operator()<wd::kLanes>(shared64, "uint64");
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((in_flight[I] = check.template operator()<kLaneCounts[I]>(compact32, "compact")), ...);
    }
    (std::make_index_sequence<kLaneCounts.size()>());
  }
  auto kernel_steps = [&](auto&& kernel, std::uint64_t tasks) {
    std::uint64_t steps = 0;
    for (std::uint64_t k = 0; k < tasks; ++k) steps += kernel(next_task++);
    return static_cast<double>(steps);
  };
  auto one_at_a_time = [&] {
    return kernel_steps(
        [&](std::uint64_t t) {
          return walk_one_at_a_time(g, 1, t, args.walks, continue_below, dense.data());
        },
        std::max<std::uint64_t>(n_tasks / 10, 1));
  };
  // (e0) the kernel with every task's streams built before the clock starts (read back from a
  // 48-byte-per-walk array: a free substream, but not free memory traffic).
  std::vector<carlo::Stream> prebuilt;
  auto kernel_prebuilt = [&] {
    const double c0 = thread_cpu_seconds();
    const auto w0 = Clock::now();
    const std::uint64_t first = next_task;
    prebuilt.clear();
    for (std::uint64_t t = first; t < first + n_tasks; ++t) {
      const carlo::Substreams substream(1, t);
      for (std::uint64_t w = 0; w < args.walks; ++w) prebuilt.push_back(substream(w));
    }
    untimed_cpu = thread_cpu_seconds() - c0;
    untimed_wall = seconds_since(w0);
    const auto* values = wd::readable_values<std::int64_t>(g);
    return kernel_steps(
        [&](std::uint64_t t) {
          const carlo::Stream* streams = prebuilt.data() + (t - first) * args.walks;
          return wd::run_walks<std::int64_t>(
              compact32, values, g.rows, args.walks, continue_below,
              [&](std::uint64_t w) { return streams[w]; }, [](std::span<const std::uint64_t>) {});
        },
        n_tasks);
  };
  auto kernel = [&]<std::size_t L>(const auto& index) {
    return kernel_steps(
        [&](std::uint64_t t) {
          return walk_kernel<L>(index, g, 1, t, args.walks, continue_below, nullptr);
        },
        n_tasks);
  };
  // (s) the per-walk streams alone, task after task, as the kernel builds them; (s0) the same
  // with one Philox block per walk (the definition before Substreams), for comparison.
  auto streams = [&]<bool kPhilox>() {
    std::uint64_t acc = 0;
    for (std::uint64_t k = 0; k < n_tasks; ++k) {
      const std::uint64_t task = next_task++;
      const carlo::Substreams substream(1, task);
      for (std::uint64_t w = 0; w < args.walks; ++w) {
        carlo::Stream rng = kPhilox ? carlo::Stream(1, task, w + 1) : substream(w);
        acc += wd::below(rng, info.rows);
      }
    }
    sink += static_cast<std::int64_t>(acc);
    return static_cast<double>(n_tasks * args.walks);
  };

  run_sim(false);  // warm up: page tables, the log's capacity
  Rate ra, rdep, rb, rc, rshared, rstreams, rphilox, rprebuilt, r1;
  std::array<Rate, kLaneCounts.size()> rlanes;
  if (args.sim_only) {
    for (int round = 0; round < rounds; ++round) {
      timed(rb, [&] { return run_sim(false); });
      timed(rc, [&] { return run_sim(true); });
    }
    std::printf("per core, best of %d rounds, CPU time, %llu walks per task:\n", rounds,
                static_cast<unsigned long long>(args.walks));
    for (const auto& [what, r] : {std::pair{"(b)  walk simulation as shipped", &rb},
                                  std::pair{"(c)  (b) + staging and applying the log", &rc}})
      std::printf("%-60s %6.1f M steps/s  [wall clock %5.1f M/s]\n", what, r->cpu / 1e6,
                  r->wall / 1e6);
    return 0;
  }
  for (int round = 0; round < rounds; ++round) {
    timed(ra, gathers, false);
    timed(rdep, dependent, false);
    timed(rb, [&] { return run_sim(false); });
    timed(rc, [&] { return run_sim(true); });
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (timed(rlanes[I], [&] { return kernel.template operator()<kLaneCounts[I]>(compact32); }),
       ...);
    }
    (std::make_index_sequence<kLaneCounts.size()>());
    timed(rshared, [&] { return kernel.template operator()<wd::kLanes>(shared64); });
    timed(rprebuilt, kernel_prebuilt);
    timed(
        rstreams, [&] { return streams.template operator()<false>(); }, false);
    timed(
        rphilox, [&] { return streams.template operator()<true>(); }, false);
    timed(r1, one_at_a_time);
  }
  const double a = ra.cpu;
  auto line = [&](const std::string& what, const Rate& r, const char* unit) {
    std::printf("%-60s %6.1f M%s/s = %.2f x (a)  [wall clock %5.1f M/s]\n", what.c_str(),
                r.cpu / 1e6, unit, r.cpu / a, r.wall / 1e6);
  };
  std::printf("per core, best of %d rounds, CPU time, %llu walks per task:\n", rounds,
              static_cast<unsigned long long>(args.walks));
  line("(a)  independent random gathers from values", ra, "");
  line("(a') dependent random loads, one at a time", rdep, "");
  line("(b)  walk simulation as shipped (" + std::to_string(wd::kLanes) +
           " lanes, carlo::Task + tally log)",
       rb, " steps");
  line("(c)  (b) + staging and applying the log as a worker", rc, " steps");
  for (std::size_t k = 0; k < kLaneCounts.size(); ++k) {
    char what[96];
    std::snprintf(what, sizeof what, "(e)  kernel, compact index, %3zu lanes (%.1f in flight)",
                  kLaneCounts[k], in_flight[k]);
    line(what, rlanes[k], " steps");
  }
  line("(i)  kernel, graph's own uint64 offsets, " + std::to_string(wd::kLanes) + " lanes", rshared,
       " steps");
  line("(e0) kernel, " + std::to_string(wd::kLanes) + " lanes, streams built off the clock",
       rprebuilt, " steps");
  line("(d)  one walk at a time, dense counts", r1, " steps");
  const double steps_per_walk = 1 / (1 - 0.85);
  auto stream_line = [&](const char* what, const Rate& r) {
    std::printf("%-60s %6.1f M/s = %.1f ns each, %.0f %% of a step at (b)'s rate\n", what,
                r.cpu / 1e6, 1e9 / r.cpu, 100 * rb.cpu / r.cpu / steps_per_walk);
  };
  stream_line("(s)  per-walk streams (task.substream(w) + start draw)", rstreams);
  stream_line("(s0) per-walk Philox block, Stream(seed, task, w + 1) + start", rphilox);
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
