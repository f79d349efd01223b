// Benchmark: random-walk PageRank steps per second against the machine's random-gather rate
// (docs/benchmarks.md, "Random-walk PageRank (walk)").
//
//   bench_walk GRAPH.h5 [--tasks N] [--walks K] [--rounds R] [--warm-up W] [--huge]
//
// One process, one core, the graph loaded into private 4 KiB-page memory (like a node's shared
// window, which gets no huge pages). Measured in the same run, on the same values array:
//   (a) independent random gathers from `values` (precomputed random indices, many loads in
//       flight): the machine's gather rate, the ceiling for any step that needs one random load;
//   (a') dependent random loads, one at a time (each index computed from the previous value): what
//       one walker at a time could reach at best;
//   (b) the `walk` simulation as shipped, built with walk_info().create() (so with its compact row
//       index) and run task by task through carlo::Task exactly as a worker does (the per-task
//       tally log included, cleared per task), K (default 1000) walks per task;
//   (c) (b) plus applying each task's tally log to a dense per-rank array, as the worker does when
//       the master acknowledges the batch: the full per-step cost of a run; (c') the same with an
//       apply loop that prefetches the bins 16 entries ahead; (c'') (c') with every add an
//       atomic_ref fetch_add (relaxed): the cost of a node-shared tally;
//   (e) the kernel (sims/walk_kernel.h) with the simulation's index, without carlo::Task: recording
//       nothing (its ceiling), appending bare bins, counting into a dense array;
//   (i) the kernel over other row indexes: the graph's own uint64 offsets (what the simulation read
//       before), those copied to huge pages, uint32 offsets on 4 KiB pages, and (begin, length)
//       uint32 pairs on huge pages;
//   (l) the kernel with 16, 48, 64 lanes (48 and 64 would change the results);
//   (d) one walker at a time (a plain loop).
// Each figure is the best of R (default 3) interleaved rounds, each walk item preceded by an
// untimed run of a tenth of its tasks (the gathers flush the caches); rates use the thread's CPU
// time (the machine is shared), wall-clock rates are printed alongside.
// --huge asks for transparent huge pages (madvise) on the graph buffers; carlo's shared window and
// file mapping cannot have them, so the default is the representative figure.
#include <carlo/error.h>
#include <carlo/io/ragged_file.h>
#include <carlo/sims/builtin.h>

#include "sims/walk_kernel.h"

#include <sys/mman.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <atomic>
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

/// Row c as one 8-byte load: begin in the low 32 bits, length in the high 32 (32 MiB at scale 22,
/// never two cache lines). An alternative to CompactOffsets, measured here only.
struct PackedIndex {
  const std::uint64_t* rows;
  std::uint64_t begin(std::uint64_t c) const noexcept { return rows[c] & 0xffffffffu; }
  std::uint64_t length(std::uint64_t c) const noexcept { return rows[c] >> 32; }
  void prefetch(std::uint64_t c) const noexcept { __builtin_prefetch(rows + c); }
};

/// The simulation's kernel over `index`, counting visits into a dense array (`visits`), appending
/// bare bins to `log`, or recording nothing (both null): what the kernel costs without carlo::Task.
template <std::size_t Lanes = carlo::sims::walk_detail::kLanes, class Index>
std::uint64_t walk_kernel(const Index& index, const carlo::RaggedView& g, std::uint64_t seed,
                          std::uint64_t id, std::uint64_t walks, std::uint64_t continue_below,
                          std::uint64_t* visits, std::vector<std::uint64_t>* log) {
  namespace wd = carlo::sims::walk_detail;
  auto substream = [&](std::size_t lane) { return carlo::Stream(seed, id, lane + 1); };
  const auto* values = wd::readable_values<std::int64_t>(g);
  if (visits != nullptr)
    return wd::run_walks<std::int64_t, Lanes>(index, values, g.rows, walks, continue_below,
                                              substream, [&](std::span<const std::uint64_t> nodes) {
                                                for (const std::uint64_t n : nodes) ++visits[n];
                                              });
  if (log != nullptr) {
    log->clear();
    return wd::run_walks<std::int64_t, Lanes>(index, values, g.rows, walks, continue_below,
                                              substream, [&](std::span<const std::uint64_t> nodes) {
                                                log->insert(log->end(), nodes.begin(), nodes.end());
                                              });
  }
  return wd::run_walks<std::int64_t, Lanes>(index, values, g.rows, walks, continue_below, substream,
                                            [](std::span<const std::uint64_t>) {});
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
  int rounds = 3;
  std::uint64_t warm_up = 100;
  std::uint64_t walks = 1000;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    if (s == "--tasks" && i + 1 < argc) a.tasks = std::strtoull(argv[++i], nullptr, 10);
    else if (s == "--huge") a.huge = true;
    else if (s == "--rounds" && i + 1 < argc) a.rounds = std::max(1, std::atoi(argv[++i]));
    else if (s == "--warm-up" && i + 1 < argc) a.warm_up = std::strtoull(argv[++i], nullptr, 10);
    else if (s == "--walks" && i + 1 < argc)
      a.walks = std::max<std::uint64_t>(1, std::strtoull(argv[++i], nullptr, 10));
    else if (a.path.empty() && s[0] != '-') a.path = s;
    else
      throw carlo::InputError(
          "usage: bench_walk GRAPH.h5 [--tasks N] [--walks K] [--rounds R] [--warm-up W] [--huge]");
  }
  if (a.path.empty())
    throw carlo::InputError(
        "usage: bench_walk GRAPH.h5 [--tasks N] [--walks K] [--rounds R] [--warm-up W] [--huge]");
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
  t0 = Clock::now();
  auto sim = carlo::sims::walk_info().create(opts, g);
  const double setup_s = seconds_since(t0);
  std::printf(
      "setup (validating every neighbour id, building the compact row index): %.3f s; anonymous "
      "huge pages %+ld KiB\n",
      setup_s, anon_huge_kib() - huge_before);

  // The row indexes the kernel experiments compare (the simulation builds its own CompactOffsets).
  const wd::OffsetIndex<std::uint64_t> shared64{g.offsets};  // the graph's own offsets
  Buffer huge64_buf((info.rows + 1) * sizeof(std::uint64_t), true);
  std::memcpy(huge64_buf.as<std::uint64_t>(), g.offsets, (info.rows + 1) * sizeof(std::uint64_t));
  const wd::OffsetIndex<std::uint64_t> huge64{huge64_buf.as<std::uint64_t>()};
  Buffer small32_buf((info.rows + 1) * sizeof(std::uint32_t), false);
  for (std::uint64_t i = 0; i <= info.rows; ++i)
    small32_buf.as<std::uint32_t>()[i] = static_cast<std::uint32_t>(g.offsets[i]);
  const wd::OffsetIndex<std::uint32_t> small32{small32_buf.as<std::uint32_t>()};
  const wd::CompactOffsets compact(g);
  const auto compact32 = compact.index();
  Buffer packed_buf(info.rows * sizeof(std::uint64_t), true);
  for (std::uint64_t i = 0; i < info.rows; ++i)
    packed_buf.as<std::uint64_t>()[i] = g.offsets[i] | (g.offsets[i + 1] - g.offsets[i]) << 32;
  const PackedIndex packed{packed_buf.as<std::uint64_t>()};

  // Every figure is the best of `kRounds` rounds, the items interleaved so a burst of load from
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
  auto timed = [&](Rate& r, auto&& body, bool warm_up = true) {
    if (warm_up) {
      n_tasks = args.warm_up;
      body();
      n_tasks = args.tasks;
    }
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
  enum class Apply { none, plain, prefetch, atomic };
  auto run_sim = [&](Apply apply) {
    carlo::TallyLog log;
    log.tallies.resize(1);
    log.tallies[0].ones.reserve(16384);
    double steps = 0;
    constexpr std::size_t kAhead = 16;
    for (std::uint64_t k = 0; k < n_tasks; ++k) {
      double obs = 0;
      carlo::Task task(next_task++, 1, 0, &obs, 1, &log, &specs);
      sim->run(task);
      steps += obs;
      const auto& es = log.tallies[0].ones;
      switch (apply) {
        case Apply::none: break;
        case Apply::plain:  // as the worker applies an acknowledged batch (TallyLog::add_to)
          for (std::uint64_t bin : es) ++dense[bin];
          break;
        case Apply::prefetch:
          for (std::size_t i = 0; i < es.size(); ++i) {
            if (i + kAhead < es.size()) __builtin_prefetch(&dense[es[i + kAhead]], 1);
            ++dense[es[i]];
          }
          break;
        case Apply::atomic:  // what a node-shared tally costs: every add a locked RMW
          for (std::size_t i = 0; i < es.size(); ++i) {
            if (i + kAhead < es.size()) __builtin_prefetch(&dense[es[i + kAhead]], 1);
            std::atomic_ref<std::uint64_t>(dense[es[i]]).fetch_add(1, std::memory_order_relaxed);
          }
          break;
      }
      log.clear();
    }
    return steps;
  };

  // The kernel experiments, first checked against the simulation: same visits with every index.
  const auto continue_below = wd::continue_threshold(0.85);
  {
    carlo::TallyLog log;
    double obs = 0;
    carlo::Task task(7, 1, 0, &obs, 1, &log, &specs);
    sim->run(task);
    std::vector<std::vector<std::uint64_t>> wanted{std::vector<std::uint64_t>(info.rows, 0)};
    log.add_to(wanted);
    auto check = [&](const auto& index, const char* name) {
      std::vector<std::uint64_t> got(info.rows, 0);
      walk_kernel(index, g, 1, 7, args.walks, continue_below, got.data(), nullptr);
      if (got != wanted[0])
        throw carlo::SystemError(std::string("bench_walk: the kernel with the ") + name +
                                 " index disagrees with the simulation");
    };
    check(shared64, "shared uint64");
    check(huge64, "huge-page uint64");
    check(small32, "4 KiB-page uint32");
    check(compact32, "compact");
    check(packed, "packed");
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
  std::vector<std::uint64_t> bins;
  bins.reserve(16384);
  // Recording nothing unless `visits`/`log` given; Lanes other than 32 change the results.
  auto kernel = [&]<std::size_t L = wd::kLanes>(const auto& index, std::uint64_t* visits = nullptr,
                                                std::vector<std::uint64_t>* log = nullptr) {
    return kernel_steps(
        [&](std::uint64_t t) {
          return walk_kernel<L>(index, g, 1, t, args.walks, continue_below, visits, log);
        },
        n_tasks);
  };

  run_sim(Apply::none);  // warm up: page tables, the log's capacity
  Rate ra, rdep, rb, rc, rc2, rc3, rbins, rdense, r1;
  Rate rshared, rhuge64, rsmall32, rcompact, rpacked, rl16, rl48, rl64;
  for (int round = 0; round < rounds; ++round) {
    timed(ra, gathers, false);
    timed(rdep, dependent, false);
    timed(rb, [&] { return run_sim(Apply::none); });
    timed(rc, [&] { return run_sim(Apply::plain); });
    timed(rc2, [&] { return run_sim(Apply::prefetch); });
    timed(rc3, [&] { return run_sim(Apply::atomic); });
    timed(rcompact, [&] { return kernel(compact32); });
    timed(rbins, [&] { return kernel(compact32, nullptr, &bins); });
    timed(rdense, [&] { return kernel(compact32, dense.data()); });
    timed(rshared, [&] { return kernel(shared64); });
    timed(rhuge64, [&] { return kernel(huge64); });
    timed(rsmall32, [&] { return kernel(small32); });
    timed(rpacked, [&] { return kernel(packed); });
    timed(rl16, [&] { return kernel.template operator()<16>(compact32); });
    timed(rl48, [&] { return kernel.template operator()<48>(compact32); });
    timed(rl64, [&] { return kernel.template operator()<64>(compact32); });
    timed(r1, one_at_a_time);
  }
  const double a = ra.cpu;
  auto line = [&](const char* what, const Rate& r, const char* unit) {
    std::printf("%-58s %6.1f M%s/s = %.2f x (a)  [wall clock %5.1f M/s]\n", what, r.cpu / 1e6, unit,
                r.cpu / a, r.wall / 1e6);
  };
  std::printf("per core, best of %d rounds, CPU time:\n", rounds);
  line("(a)  independent random gathers from values", ra, "");
  line("(a') dependent random loads, one at a time", rdep, "");
  line("(b)  walk simulation as shipped (carlo::Task + tally log)", rb, " steps");
  line("(c)  (b) + applying the log to a dense array", rc, " steps");
  line("(c') (c), the apply loop prefetching 16 ahead", rc2, " steps");
  line("(c'') (c'), atomic_ref fetch_add (a node-shared tally)", rc3, " steps");
  line("(e)  kernel, compact index, recording nothing (ceiling)", rcompact, " steps");
  line("(e)  kernel, compact index, appending bare uint64 bins", rbins, " steps");
  line("(e)  kernel, compact index, counting into a dense array", rdense, " steps");
  line("(i)  kernel, graph's own uint64 offsets (before)", rshared, " steps");
  line("(i)  kernel, uint64 offsets copied to huge pages", rhuge64, " steps");
  line("(i)  kernel, uint32 offsets on 4 KiB pages", rsmall32, " steps");
  line("(i)  kernel, packed (begin, length) uint32 pairs, huge pages", rpacked, " steps");
  line("(l)  kernel, compact index, 16 lanes", rl16, " steps");
  line("(l)  kernel, compact index, 48 lanes (other results)", rl48, " steps");
  line("(l)  kernel, compact index, 64 lanes (other results)", rl64, " steps");
  line("(d)  one walker at a time, dense counts", r1, " steps");
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
