// One read-only copy of a ragged array per node: every rank sees exactly the file's bytes, in a
// window or a file mapping; each node has its own copy; the copy cannot be written; bad files and
// impossible sizes are refused on every rank without a hang.
#include "engine/shared_data.h"
#include "io/ragged_file.h"
#include "mpi_test_env.h"
#include "mpi_test_util.h"

#include <carlo/error.h>

#include <gtest/gtest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <csetjmp>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace carlo::engine {
namespace {

using test::Checksum;
using test::rank0_value;
using test::runtime;
using test::SharedTempPath;

// 1000 rows of float64, lengths 0..36 (so some rows are empty), value j of row i = i + j/64.
constexpr std::uint64_t kRows = 1000;

void write_groups(const std::string& path, io::RaggedWriter::Options options = {}) {
  if (runtime().world_rank() == 0) {
    std::uint64_t n_values = 0;
    for (std::uint64_t i = 0; i < kRows; ++i) n_values += i % 37;
    io::RaggedWriter writer(path, DType::float64, n_values, options);
    std::vector<double> row;
    for (std::uint64_t i = 0; i < kRows; ++i) {
      row.resize(i % 37);
      for (std::size_t j = 0; j < row.size(); ++j)
        row[j] = static_cast<double>(i) + static_cast<double>(j) / 64;
      writer.append_row(row.data(), row.size());
    }
    writer.finish();
  }
  runtime().barrier();
}

std::uint64_t checksum_of(const RaggedView& v) {
  Checksum sum;
  sum.add(v.offsets, (v.rows + 1) * sizeof(std::uint64_t));
  sum.add(v.values, v.value_bytes());
  return sum.value();
}

// The same checksum, computed by reading the file through the I/O layer alone.
std::uint64_t checksum_of_file(const std::string& path) {
  io::RaggedReader reader(path);
  std::vector<std::uint64_t> offsets(reader.info().rows + 1);
  reader.read_offsets(offsets);
  std::vector<std::byte> values(reader.info().n_values * dtype_size(reader.info().dtype));
  reader.read_values(0, reader.info().n_values, values.data());
  Checksum sum;
  sum.add(offsets.data(), offsets.size() * sizeof(std::uint64_t));
  sum.add(values.data(), values.size());
  return sum.value();
}

TEST(SharedData, WindowHoldsTheFilesBytesOnEveryRank) {
  SharedTempPath path(runtime(), "window");
  write_groups(path.str());
  SharedRagged data = load_shared_ragged(runtime(), path.str(), "/", ShareMode::window);
  const RaggedView view = data.view();
  ASSERT_EQ(view.rows, kRows);
  ASSERT_EQ(view.dtype, DType::float64);
  const std::uint64_t mine = checksum_of(view);
  EXPECT_EQ(mine, checksum_of_file(path.str()));
  EXPECT_EQ(mine, rank0_value(runtime(), mine));
  EXPECT_EQ(view.row<double>(999).size(), 999u % 37);
  EXPECT_EQ(view.row<double>(40)[2], 40.0 + 2.0 / 64);
}

TEST(SharedData, LeadersAndOtherRanksSeeTheSameBytesThroughDifferentMappings) {
  SharedTempPath path(runtime(), "leaders");
  write_groups(path.str());
  SharedRagged data = load_shared_ragged(runtime(), path.str(), "/", ShareMode::window);
  const std::uint64_t mine = checksum_of(data.view());
  // Sum, over the ranks, of (leader?, checksum matches the node leader's view of rank 0's).
  std::vector<std::uint64_t> counts = {runtime().is_leader() ? 1u : 0u,
                                       runtime().is_leader() ? 0u : 1u,
                                       mine == rank0_value(runtime(), mine) ? 1u : 0u};
  runtime().reduce_sum(counts);
  if (runtime().world_rank() == 0) {
    EXPECT_EQ(counts[0], static_cast<std::uint64_t>(runtime().node_count()));
    EXPECT_EQ(counts[1],
              static_cast<std::uint64_t>(runtime().world_size() - runtime().node_count()));
    EXPECT_EQ(counts[2], static_cast<std::uint64_t>(runtime().world_size()));
  }
  // Values start 64-byte aligned after the offsets, offsets on a page boundary.
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(data.view().offsets) % 4096, 0u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(data.view().values) % 64, 0u);
}

TEST(SharedData, EachNodeHasItsOwnSegment) {
  transport::SharedSegment segment =
      transport::SharedSegment::allocate(runtime(), sizeof(std::uint64_t), "node-id");
  if (runtime().is_leader()) {
    const auto id = static_cast<std::uint64_t>(runtime().node_index()) + 1000;
    std::memcpy(segment.writable(), &id, sizeof id);
  }
  segment.seal();
  std::uint64_t seen = 0;
  std::memcpy(&seen, segment.data(), sizeof seen);
  EXPECT_EQ(seen, static_cast<std::uint64_t>(runtime().node_index()) + 1000);
  EXPECT_EQ(segment.size(), sizeof(std::uint64_t));
}

// The leader's write() goes through the memory file, not its mapping; every rank sees the bytes,
// also in the last partial page and next to bytes filled through writable().
TEST(SharedData, BytesWrittenByTheLeaderReachEveryRank) {
  const std::uint64_t n = 3000;  // 24,000 bytes: five pages and a part
  transport::SharedSegment segment =
      transport::SharedSegment::allocate(runtime(), (n + 1) * sizeof(std::uint64_t), "written");
  std::vector<std::uint64_t> words(n);
  for (std::uint64_t i = 0; i < n; ++i) words[i] = i * 0x9e3779b97f4a7c15ULL;
  if (runtime().is_leader()) {
    const std::uint64_t first = 7;
    std::memcpy(segment.writable(), &first, sizeof first);
    segment.write(sizeof first, words.data(), n * sizeof(std::uint64_t));
  }
  segment.seal();
  std::vector<std::uint64_t> seen(n + 1);
  std::memcpy(seen.data(), segment.data(), seen.size() * sizeof(std::uint64_t));
  EXPECT_EQ(seen[0], 7u);
  EXPECT_TRUE(std::equal(words.begin(), words.end(), seen.begin() + 1));
}

// Whether this kernel makes huge pages of a memory file on request (MADV_COLLAPSE, Linux 6.1,
// tmpfs huge pages not denied): a 4 MiB file, one byte per 2 MiB, collapsed.
bool kernel_collapses_memory_files() {
  constexpr std::size_t kHuge = 2 << 20;
  const int fd = memfd_create("probe", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, 2 * kHuge) != 0) return false;
  void* area = mmap(nullptr, 3 * kHuge, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  auto* at =
      reinterpret_cast<char*>((reinterpret_cast<std::uintptr_t>(area) + kHuge - 1) / kHuge * kHuge);
  bool ok = mmap(at, 2 * kHuge, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == at;
  if (ok) {
    at[0] = at[kHuge] = 1;
    ok = madvise(at, 2 * kHuge, 25 /* MADV_COLLAPSE */) == 0;
  }
  munmap(area, 3 * kHuge);
  close(fd);
  return ok;
}

// Kilobytes of `field` (e.g. ShmemPmdMapped) in this process's mappings within [p, p + bytes).
std::uint64_t smaps_kib(const void* p, std::uint64_t bytes, const std::string& field) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  std::uint64_t kib = 0;
  const auto first = reinterpret_cast<std::uintptr_t>(p);
  while (std::getline(smaps, line)) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 && line.find(':') > line.find(' ')) {
      inside = lo < first + bytes && first < hi;  // overlaps
      continue;
    }
    if (inside && line.rfind(field + ":", 0) == 0)
      kib += std::stoull(line.substr(field.size() + 1));
  }
  return kib;
}

// CARLO_HUGE_PAGES as this rank's environment has it, restored when the scope ends.
class HugePagesVariable {
 public:
  explicit HugePagesVariable(const char* value) {
    if (const char* old = std::getenv("CARLO_HUGE_PAGES")) old_ = old;
    if (value == nullptr) unsetenv("CARLO_HUGE_PAGES");
    else setenv("CARLO_HUGE_PAGES", value, 1);
  }
  HugePagesVariable(const HugePagesVariable&) = delete;
  HugePagesVariable& operator=(const HugePagesVariable&) = delete;
  ~HugePagesVariable() {
    if (old_) setenv("CARLO_HUGE_PAGES", old_->c_str(), 1);
    else unsetenv("CARLO_HUGE_PAGES");
  }

 private:
  std::optional<std::string> old_;
};

// 40 MiB and a bit (21 huge pages) of a known pattern, written by the leader and sealed.
constexpr std::uint64_t kLargeWords = (std::uint64_t{40} << 20) / 8 + 3;

transport::SharedSegment large_sealed_segment(const std::string& what) {
  transport::SharedSegment segment =
      transport::SharedSegment::allocate(runtime(), kLargeWords * sizeof(std::uint64_t), what);
  if (runtime().is_leader()) {
    std::vector<std::uint64_t> words(kLargeWords);
    for (std::uint64_t i = 0; i < kLargeWords; ++i) words[i] = i * 0x9e3779b97f4a7c15ULL;
    segment.write(0, words.data(), kLargeWords * sizeof(std::uint64_t));
  }
  segment.seal();
  return segment;
}

std::uint64_t wrong_words(const transport::SharedSegment& segment) {
  const auto* seen = reinterpret_cast<const std::uint64_t*>(segment.data());
  std::uint64_t wrong = 0;
  for (std::uint64_t i = 0; i < kLargeWords; ++i) wrong += seen[i] != i * 0x9e3779b97f4a7c15ULL;
  return wrong;
}

// By default a large segment is on huge pages where the kernel can make them without
// privileges, mapped with one entry per huge page on every rank, and holds what the leader wrote.
TEST(SharedData, ALargeSegmentIsOnHugePagesOnEveryRankByDefault) {
  if (!kernel_collapses_memory_files()) GTEST_SKIP() << "no MADV_COLLAPSE of memory files here";
  HugePagesVariable unset(nullptr);  // every rank
  const transport::SharedSegment segment = large_sealed_segment("huge");
  EXPECT_TRUE(segment.huge_pages());
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(segment.data()) % (2 << 20), 0u);
  EXPECT_EQ(wrong_words(segment), 0u);
  EXPECT_GE(smaps_kib(segment.data(), kLargeWords * sizeof(std::uint64_t), "ShmemPmdMapped"),
            std::uint64_t{40} << 10)
      << "rank " << runtime().world_rank();
}

// CARLO_HUGE_PAGES=0 turns them off; the node leader's environment decides for its node, so a
// rank whose environment differs (a variable not passed to every node) still maps the segment
// right, and every rank agrees on huge_pages().
TEST(SharedData, HugePagesTurnedOffInTheLeadersEnvironmentAreOffOnItsNode) {
  HugePagesVariable leader_off(runtime().is_leader() ? "0" : nullptr);
  const transport::SharedSegment segment = large_sealed_segment("small pages");
  EXPECT_FALSE(segment.huge_pages());
  EXPECT_EQ(wrong_words(segment), 0u);
  EXPECT_EQ(smaps_kib(segment.data(), kLargeWords * sizeof(std::uint64_t), "ShmemPmdMapped"), 0u)
      << "rank " << runtime().world_rank();
}

// A contiguous file of 20 MiB and a bit of float64 values in 2001 rows, written by rank 0.
void write_large_file(const std::string& path) {
  if (runtime().world_rank() == 0) {
    constexpr std::uint64_t kBigRows = 2001;
    const std::uint64_t n_values = (std::uint64_t{20} << 20) / 8 + 2001 * 1000 / 2;
    io::RaggedWriter writer(path, DType::float64, n_values, {});
    std::vector<double> row;
    std::uint64_t written = 0;
    for (std::uint64_t i = 0; i < kBigRows; ++i) {
      row.resize(i + 1 < kBigRows ? (n_values / kBigRows) + i % 3 - 1 : n_values - written);
      for (std::size_t j = 0; j < row.size(); ++j)
        row[j] = static_cast<double>(written + j) * 1.000000119;
      writer.append_row(row.data(), row.size());
      written += row.size();
    }
    writer.finish();
  }
  runtime().barrier();
}

// A contiguous file of 20 MiB and a bit of values loads on huge pages, each rank of a node
// reading its share into its own mapping (split at 2 MiB, unevenly at 3 ranks): every rank sees
// the file's bytes, the same as on 4 KiB pages (filled by the leader alone).
TEST(SharedData, ValuesReadByEveryRankOfANodeAreTheFilesBytes) {
  SharedTempPath path(runtime(), "shares");
  write_large_file(path.str());
  const std::uint64_t expected = checksum_of_file(path.str());
  std::uint64_t on_huge = 0, on_small = 0;
  {
    HugePagesVariable unset(nullptr);
    on_huge = checksum_of(load_shared_ragged(runtime(), path.str(), "/", ShareMode::window).view());
  }
  {
    HugePagesVariable off("0");
    on_small =
        checksum_of(load_shared_ragged(runtime(), path.str(), "/", ShareMode::window).view());
  }
  EXPECT_EQ(on_huge, expected) << "rank " << runtime().world_rank();
  EXPECT_EQ(on_small, expected) << "rank " << runtime().world_rank();
}

sigjmp_buf g_fault_jump;
volatile std::sig_atomic_t g_faulted = 0;

void on_fault(int) {
  g_faulted = 1;
  siglongjmp(g_fault_jump, 1);
}

// Writes `value` to `target` and reports whether the write faulted (SIGSEGV caught in-process:
// forking an MPI process is not safe).
bool write_faults(volatile std::uint64_t* target, std::uint64_t value) {
  struct sigaction handler {
  }, previous{};
  handler.sa_handler = on_fault;
  sigemptyset(&handler.sa_mask);
  sigaction(SIGSEGV, &handler, &previous);
  g_faulted = 0;
  if (sigsetjmp(g_fault_jump, 1) == 0) *target = value;
  sigaction(SIGSEGV, &previous, nullptr);
  return g_faulted == 1;
}

TEST(SharedData, WritingIntoSealedDataFaultsOnEveryRank) {
  SharedTempPath path(runtime(), "sealed");
  write_groups(path.str());
  SharedRagged data = load_shared_ragged(runtime(), path.str(), "/", ShareMode::window);
  const RaggedView view = data.view();
  auto* offsets = const_cast<std::uint64_t*>(view.offsets);
  auto* last_value =
      const_cast<double*>(static_cast<const double*>(view.values)) + view.n_values - 1;
  EXPECT_TRUE(write_faults(offsets + 1, 12345));
  EXPECT_TRUE(write_faults(reinterpret_cast<volatile std::uint64_t*>(last_value), 0));
  EXPECT_EQ(checksum_of(view), checksum_of_file(path.str()));
}

TEST(SharedData, MmapModeGivesTheSameBytes) {
  SharedTempPath path(runtime(), "mmap");
  write_groups(path.str());
  SharedRagged window = load_shared_ragged(runtime(), path.str(), "/", ShareMode::window);
  SharedRagged mapped = load_shared_ragged(runtime(), path.str(), "/", ShareMode::mmap);
  EXPECT_EQ(checksum_of(mapped.view()), checksum_of(window.view()));
  EXPECT_NE(mapped.view().values, window.view().values);
  EXPECT_TRUE(write_faults(
      reinterpret_cast<volatile std::uint64_t*>(const_cast<void*>(mapped.view().values)), 0));
}

// In mmap mode the values are mapped from a huge-page boundary of the file at an address aligned
// alike (so the kernel can map a page cache held in huge folios with one entry per huge page), and
// every page is mapped on every rank before the load returns (a read error surfaces there, not in
// a task): the bytes are the file's.
TEST(SharedData, MmapModeMapsTheValuesAlignedAndPresentOnEveryRank) {
  SharedTempPath path(runtime(), "mapped");
  write_large_file(path.str());
  const SharedRagged mapped = load_shared_ragged(runtime(), path.str(), "/", ShareMode::mmap);
  const RaggedView v = mapped.view();
  // Before anything reads them: present only if the load mapped them.
  EXPECT_GE(smaps_kib(v.values, v.value_bytes(), "Rss"), v.value_bytes() / 1024)
      << "rank " << runtime().world_rank();
  std::uint64_t huge = 0;
  std::ifstream("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size") >> huge;
  if (huge == (2 << 20)) {
    EXPECT_EQ((reinterpret_cast<std::uintptr_t>(v.values) - mapped.info.values_file_offset) % huge,
              0u);
  }
  EXPECT_EQ(checksum_of(v), checksum_of_file(path.str())) << "rank " << runtime().world_rank();
}

TEST(SharedData, MmapModeRefusesAChunkedCompressedFileOnEveryRank) {
  SharedTempPath path(runtime(), "chunked");
  io::RaggedWriter::Options options;
  options.chunk_values = 256;
  options.gzip_level = 4;
  write_groups(path.str(), options);
  std::string message;
  try {
    load_shared_ragged(runtime(), path.str(), "/", ShareMode::mmap);
  } catch (const InputError& e) {
    message = e.what();
  }
  EXPECT_EQ(
      message,
      path.str() + ":/values: values is chunked+gzip, cannot be memory-mapped; use --share window");
}

TEST(SharedData, WindowModeLoadsAChunkedCompressedFile) {
  SharedTempPath path(runtime(), "chunked-window");
  io::RaggedWriter::Options options;
  options.chunk_values = 256;
  options.gzip_level = 4;
  write_groups(path.str(), options);
  SharedRagged data = load_shared_ragged(runtime(), path.str(), "/", ShareMode::window);
  EXPECT_EQ(checksum_of(data.view()), checksum_of_file(path.str()));
}

TEST(SharedData, AMissingFileIsTheSameInputErrorOnEveryRank) {
  const std::string path = "/nonexistent-dir/carlo-missing.h5";
  std::string message;
  try {
    load_shared_ragged(runtime(), path, "/", ShareMode::window);
  } catch (const InputError& e) {
    message = e.what();
  }
  ASSERT_NE(message, "");
  EXPECT_NE(message.find(path), std::string::npos) << message;
  std::vector<std::byte> rank0(reinterpret_cast<const std::byte*>(message.data()),
                               reinterpret_cast<const std::byte*>(message.data()) + message.size());
  runtime().broadcast(rank0, 0);
  EXPECT_EQ(message, std::string(reinterpret_cast<const char*>(rank0.data()), rank0.size()));
}

TEST(SharedData, AnAbsurdSizeIsRefusedOnEveryRankBeforeAllocating) {
  std::string message;
  try {
    transport::SharedSegment::allocate(runtime(), std::uint64_t{1} << 60, "huge.h5:/values");
  } catch (const InputError& e) {
    message = e.what();
  }
  EXPECT_EQ(message.rfind("huge.h5:/values: 1024.00 PiB ", 0), 0u) << message;
  EXPECT_NE(message.find(" does not fit in this node's shared memory ("), std::string::npos)
      << message;
  EXPECT_NE(message.find(" available)"), std::string::npos) << message;
  // Every rank got here: the refusal left no rank behind in a collective.
  EXPECT_TRUE(runtime().all_ok(true));
}

// This process's effective capabilities, as /proc/self/status shows them (hex).
std::string effective_capabilities() {
  std::ifstream status("/proc/self/status");
  std::string key, value;
  while (status >> key >> value)
    if (key == "CapEff:") return value;
  return "?";
}

// The premise of the unprivileged run (tests/mpi/run_unprivileged.sh): the suite above passes
// without root and without any capability, e.g. CAP_SYS_ADMIN for /proc/self/map_files.
TEST(SharedData, TheUnprivilegedRunHasNoRootAndNoCapabilityOnAnyRank) {
  if (std::getenv("CARLO_TEST_UNPRIVILEGED") == nullptr)
    GTEST_SKIP() << "only in the unprivileged run (CARLO_TEST_UNPRIVILEGED=1)";
  EXPECT_NE(geteuid(), 0u);
  EXPECT_EQ(effective_capabilities(), "0000000000000000");
}

TEST(SharedData, AnEmptyArrayLoads) {
  SharedTempPath path(runtime(), "empty");
  if (runtime().world_rank() == 0) {
    io::RaggedWriter writer(path.str(), DType::int32, 0, {});
    writer.append_row(nullptr, 0);
    writer.finish();
  }
  runtime().barrier();
  SharedRagged window = load_shared_ragged(runtime(), path.str(), "/", ShareMode::window);
  SharedRagged mapped = load_shared_ragged(runtime(), path.str(), "/", ShareMode::mmap);
  EXPECT_EQ(window.view().rows, 1u);
  EXPECT_EQ(window.view().n_values, 0u);
  EXPECT_EQ(window.view().row_length(0), 0u);
  EXPECT_EQ(mapped.view().row_length(0), 0u);
}

}  // namespace
}  // namespace carlo::engine
