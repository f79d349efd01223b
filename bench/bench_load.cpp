// Benchmark: loading a ragged array once per node (docs/benchmarks.md, "Loading the data: one
// copy per node").
//
//   mpirun -n N bench_load FILE.h5 [--group /] [--repeat 3] [--no-fresh] [--make SIZE --rows R]
//
// Measured in one run, on the same file, with the file in the page cache:
//   - two references on rank 0: read() of the whole file into a buffer that was already touched,
//     and into freshly allocated memory (page faults included; --no-fresh skips it: it takes
//     minutes on a virtual machine whose host backs new memory lazily);
//   - window load: load_shared_ragged(window) from the first rank entering to the last leaving,
//     and the time of the shared segment's allocation (capacity check + page reservation) alone;
//   - the sum over all ranks of the proportional set size (PSS, /proc/self/smaps_rollup) after
//     every rank has read every value, next to the data size;
//   - mmap mode: time until the view is ready, and the PSS sum after every rank read every value.
// --make writes FILE first (float64, R rows, SIZE bytes of values) with the I/O layer's writer.
// The header line names the user the ranks run as: bench/load.sh runs this as root and as an
// unprivileged user (setpriv) in turn, and compares the two.
#include "engine/shared_data.h"
#include "io/ragged_file.h"
#include "transport/runtime.h"

#include <carlo/error.h>
#include <carlo/units.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

using carlo::engine::ShareMode;
using carlo::transport::Runtime;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

double gb_per_s(std::uint64_t bytes, double s) { return static_cast<double>(bytes) / s / 1e9; }

std::uint64_t file_size(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) throw carlo::InputError(path + ": " + std::strerror(errno));
  return static_cast<std::uint64_t>(st.st_size);
}

// read() of the whole file into `buffer`, in 1 GiB calls.
void read_file(const std::string& path, std::byte* buffer, std::uint64_t size) {
  const int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) throw carlo::SystemError(path + ": " + std::strerror(errno));
  std::uint64_t done = 0;
  while (done < size) {
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(size - done, 1u << 30));
    const ssize_t got = read(fd, buffer + done, want);
    if (got <= 0) {
      close(fd);
      throw carlo::SystemError(path + ": short read");
    }
    done += static_cast<std::uint64_t>(got);
  }
  close(fd);
}

std::byte* fresh_memory(std::uint64_t size) {
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw carlo::SystemError("mmap: " + std::string(std::strerror(errno)));
  return static_cast<std::byte*>(p);
}

// This process's proportional set size in bytes.
std::uint64_t pss_bytes() {
  std::ifstream in("/proc/self/smaps_rollup");
  std::string key;
  std::uint64_t kib = 0;
  std::string unit;
  while (in >> key) {
    if (key == "Pss:") {
      in >> kib;
      return kib * 1024;
    }
    std::getline(in, unit);
  }
  return 0;
}

// Reads every value so its pages are mapped into this rank (what a simulation would do).
std::uint64_t touch_all(const carlo::RaggedView& v) {
  const auto* p = static_cast<const std::uint64_t*>(v.values);
  const std::uint64_t words = v.value_bytes() / 8;
  std::uint64_t x = 0;
  for (std::uint64_t i = 0; i < words; i += 512) x += p[i];  // one read per 4 KiB page
  return x;
}

std::uint64_t pss_sum(const Runtime& rt) {
  std::vector<std::uint64_t> pss = {pss_bytes()};
  rt.reduce_sum(pss);
  return pss[0];
}

void make_file(const std::string& path, std::uint64_t bytes, std::uint64_t rows) {
  const std::uint64_t n = bytes / sizeof(double);
  carlo::io::RaggedWriter::Options options;
  options.overwrite = true;
  carlo::io::RaggedWriter writer(path, carlo::DType::float64, n, options);
  std::vector<double> row;
  std::uint64_t written = 0;
  for (std::uint64_t i = 0; i < rows; ++i) {
    const std::uint64_t length = i + 1 == rows ? n - written : n / rows;
    row.resize(length);
    for (std::uint64_t j = 0; j < length; ++j)
      row[j] = static_cast<double>((written + j) % 1000) / 7;
    writer.append_row(row.data(), length);
    written += length;
  }
  writer.finish();
}

struct Options {
  std::string path;
  std::string group = "/";
  std::uint64_t make_bytes = 0;
  std::uint64_t make_rows = 10000;
  int repeat = 3;
  bool fresh = true;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--group" && i + 1 < argc) o.group = argv[++i];
    else if (a == "--make" && i + 1 < argc) o.make_bytes = carlo::parse_size(argv[++i], "--make");
    else if (a == "--rows" && i + 1 < argc) o.make_rows = carlo::parse_count(argv[++i], "--rows");
    else if (a == "--repeat" && i + 1 < argc) o.repeat = std::max(1, std::atoi(argv[++i]));
    else if (a == "--no-fresh") o.fresh = false;
    else o.path = a;
  }
  if (o.path.empty())
    throw carlo::InputError(
        "usage: bench_load FILE.h5 [--group G] [--repeat N] [--no-fresh] [--make SIZE --rows R]");
  return o;
}

// Each figure is the best of the rounds: the machine is shared, and the best round is the one
// least disturbed by other work.
struct Figures {
  static constexpr double kNone = 1e300;
  double touched_s = kNone, fresh_s = kNone, allocate_s = kNone, window_s = kNone, mmap_s = kNone;
  std::uint64_t window_pss = 0, mmap_pss = 0, sink = 0;
};

// The references, on rank 0 alone while the others wait.
void measure_references(const Options& o, std::uint64_t size, Figures& f) {
  std::byte* buffer = fresh_memory(size);
  read_file(o.path, buffer, size);  // warms the page cache and touches the buffer
  auto t = Clock::now();
  read_file(o.path, buffer, size);
  f.touched_s = std::min(f.touched_s, seconds_since(t));
  munmap(buffer, size);
  if (!o.fresh) return;
  buffer = fresh_memory(size);
  t = Clock::now();
  read_file(o.path, buffer, size);
  f.fresh_s = std::min(f.fresh_s, seconds_since(t));
  munmap(buffer, size);
}

// One load in `mode`, from the first rank entering to the last leaving; then every rank reads
// every value and the PSS is summed.
void measure_load(const Runtime& rt, const Options& o, ShareMode mode, double& best_s,
                  std::uint64_t& pss, std::uint64_t& sink) {
  rt.barrier();
  const auto t = Clock::now();
  carlo::engine::SharedRagged data = carlo::engine::load_shared_ragged(rt, o.path, o.group, mode);
  rt.barrier();
  best_s = std::min(best_s, seconds_since(t));
  sink += touch_all(data.view());
  rt.barrier();
  pss = pss_sum(rt);
}

void measure_round(const Runtime& rt, const Options& o, std::uint64_t size,
                   std::uint64_t data_bytes, Figures& f) {
  if (rt.world_rank() == 0) measure_references(o, size, f);
  {  // The segment's allocation alone (capacity check, memory file, page reservation).
    rt.barrier();
    const auto t = Clock::now();
    auto segment = carlo::transport::SharedSegment::allocate(rt, data_bytes + 64, "bench");
    rt.barrier();
    f.allocate_s = std::min(f.allocate_s, seconds_since(t));
  }
  measure_load(rt, o, ShareMode::window, f.window_s, f.window_pss, f.sink);
  measure_load(rt, o, ShareMode::mmap, f.mmap_s, f.mmap_pss, f.sink);
}

void print_report(const Runtime& rt, const Options& o, std::uint64_t size,
                  const carlo::io::RaggedInfo& info, std::uint64_t data_bytes, const Figures& f) {
  const double mib = 1024.0 * 1024.0;
  const double ranks = rt.world_size();
  const double pss_target = 1.10 * static_cast<double>(data_bytes) + 40 * mib * ranks;
  std::printf(
      "file %s: %s on disk, data %s (%llu rows, %llu %s values); %d ranks, %d nodes, uid %u; "
      "best of %d\n",
      o.path.c_str(), carlo::format_bytes(size).c_str(), carlo::format_bytes(data_bytes).c_str(),
      static_cast<unsigned long long>(info.rows), static_cast<unsigned long long>(info.n_values),
      std::string(carlo::dtype_name(info.dtype)).c_str(), rt.world_size(), rt.node_count(),
      static_cast<unsigned>(geteuid()), o.repeat);
  std::printf("  read() into touched buffer (rank 0)  %7.3f s  %6.2f GB/s\n", f.touched_s,
              gb_per_s(size, f.touched_s));
  if (o.fresh)
    std::printf("  read() into fresh memory (rank 0)    %7.3f s  %6.2f GB/s\n", f.fresh_s,
                gb_per_s(size, f.fresh_s));
  std::printf("  window: allocate + reserve only      %7.3f s\n", f.allocate_s);
  std::printf(
      "  window load                          %7.3f s  %6.2f GB/s  ratio to touched read %.2f "
      "(target <= 2.0)",
      f.window_s, gb_per_s(data_bytes, f.window_s), f.window_s / f.touched_s);
  if (o.fresh) std::printf(", to fresh read %.2f (target <= 1.20)", f.window_s / f.fresh_s);
  std::printf("\n  window PSS sum, all ranks            %s  ratio to data %.3f; target %s: %s\n",
              carlo::format_bytes(f.window_pss).c_str(),
              static_cast<double>(f.window_pss) / static_cast<double>(data_bytes),
              carlo::format_bytes(static_cast<std::uint64_t>(pss_target)).c_str(),
              static_cast<double>(f.window_pss) <= pss_target ? "met" : "MISSED");
  std::printf("  mmap ready                           %7.4f s  (target < 0.1 s: %s)\n", f.mmap_s,
              f.mmap_s < 0.1 ? "met" : "MISSED");
  std::printf("  mmap PSS sum, all ranks              %s  ratio to data %.3f\n",
              carlo::format_bytes(f.mmap_pss).c_str(),
              static_cast<double>(f.mmap_pss) / static_cast<double>(data_bytes));
  std::printf("  (checksum %llu)\n", static_cast<unsigned long long>(f.sink % 1000));
}

int run(const Runtime& rt, int argc, char** argv) {
  const Options o = parse(argc, argv);
  if (o.make_bytes > 0 && rt.world_rank() == 0) make_file(o.path, o.make_bytes, o.make_rows);
  rt.barrier();
  const std::uint64_t size = file_size(o.path);
  const carlo::io::RaggedInfo info = carlo::io::RaggedReader(o.path, o.group).info();
  const std::uint64_t data_bytes =
      (info.rows + 1) * sizeof(std::uint64_t) + info.n_values * carlo::dtype_size(info.dtype);
  Figures f;
  for (int round = 0; round < o.repeat; ++round) measure_round(rt, o, size, data_bytes, f);
  if (rt.world_rank() == 0) print_report(rt, o, size, info, data_bytes, f);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Runtime rt(argc, argv);
  try {
    return run(rt, argc, argv);
  } catch (const std::exception& e) {
    if (rt.world_rank() == 0) std::fprintf(stderr, "bench_load: %s\n", e.what());
    return 1;
  }
}
