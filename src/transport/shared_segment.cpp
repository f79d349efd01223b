// SharedSegment: one copy of read-only data per node, in carlo's own shared memory.
//
// Where the bytes live: the node leader creates an anonymous memory file (memfd_create: tmpfs
// pages with no name, so nothing is left behind if a rank crashes), sizes it, maps it, backs a
// large one with huge pages where the kernel allows (MADV_COLLAPSE, no privilege needed) and
// reserves its pages (fallocate); the other ranks of the node open the same file through
// /proc/<leader pid>/fd/<fd> (the way memfd_create(2) documents for sharing with a process that
// did not inherit the descriptor; same user, no capability needed), check that it is the same
// inode, and map it too. Every rank maps the whole file MAP_SHARED, at an address aligned to a
// huge page: one copy per node.
//
// Why not MPI_Win_allocate_shared (the first version): Open MPI's window is a file it has already
// unlinked. Filling it without page faults needs that file, which only /proc/self/map_files
// reaches, and only with CAP_SYS_ADMIN; unprivileged users had to prefault and copy through the
// mapping, 6 to 13 times slower (docs/benchmarks.md). With our own file the leader always holds
// the descriptor and fill_from_file() copies in the kernel (sendfile) for everyone.

#include "transport/mpi_detail.h"

#include <carlo/error.h>
#include <carlo/units.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace carlo::transport {

using detail::check;

struct SharedSegment::Impl {
  MPI_Comm node = MPI_COMM_NULL;  ///< the Runtime's node communicator (not owned)
  std::byte* data = nullptr;      ///< the mapping (whole pages), or nullptr
  std::uint64_t bytes = 0;
  std::uint64_t mapped_bytes = 0;  ///< whole units, at least one
  std::uint64_t unit = 0;   ///< mapping unit, a page or a huge page: the node leader's choice
  bool huge_pages = false;  ///< agreed by all ranks: every huge page was made
  std::uint64_t node_rank = 0, node_size = 1;  ///< this rank's place on its node
  bool leader = false;
  bool sealed = false;
  int file = -1;  ///< leader, until seal(): the memory file, for fill_from_file()

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() {
    if (file >= 0) close(file);
    if (data != nullptr) munmap(data, mapped_bytes);
  }
};

namespace {

// One pwrite() of at most 1 GiB (Linux moves at most 0x7ffff000 bytes per call anyway).
constexpr std::uint64_t kMaxPwrite = std::uint64_t{1} << 30;

std::uint64_t page_size() { return static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE)); }

std::optional<std::uint64_t> read_number(const std::string& path) {
  std::ifstream in(path);
  std::uint64_t value = 0;
  if (in >> value) return value;
  return std::nullopt;
}

// Memory a new allocation can get: MemAvailable, capped by a cgroup v2 limit if one is set.
std::optional<std::uint64_t> available_memory() {
  std::optional<std::uint64_t> available;
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  std::uint64_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib) {
    std::getline(meminfo, unit);
    if (key == "MemAvailable:") {
      available = kib * 1024;
      break;
    }
  }
  auto limit = read_number("/sys/fs/cgroup/memory.max");  // "max" when unlimited: no number
  auto used = read_number("/sys/fs/cgroup/memory.current");
  if (limit && used) {
    const std::uint64_t room = *limit > *used ? *limit - *used : 0;
    available = available ? std::min(*available, room) : room;
  }
  return available;
}

// Saturating, so an absurd request cannot wrap around to a small one.
std::uint64_t add_saturating(std::uint64_t a, std::uint64_t b) {
  return a > std::numeric_limits<std::uint64_t>::max() - b
             ? std::numeric_limits<std::uint64_t>::max()
             : a + b;
}

// The size of a PMD-mapped huge page, or 0 where the kernel has no transparent huge pages (or
// they are too large to be worth rounding a segment up to, e.g. 512 MiB on 64 KiB-page arm64).
std::uint64_t huge_page_size() {
  static const std::uint64_t size = [] {
    const auto n = read_number("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size");
    return n && *n > page_size() && *n <= (std::uint64_t{32} << 20) && std::has_single_bit(*n)
               ? *n
               : std::uint64_t{0};
  }();
  return size;
}

// Segments at least this large are put on huge pages when the kernel lets us (see
// make_huge_pages): below it the rounding up to whole huge pages costs more than it saves.
constexpr std::uint64_t kHugeMinimum = std::uint64_t{16} << 20;

// Huge pages are the default; CARLO_HUGE_PAGES=0 turns them off (docs/running.md). Measured on a
// 544 MiB graph at 2 ranks: the walk's tasks 2.0-2.2 s against 3.0-5.6 s on 4 KiB pages, each
// rank's page faults 0.1 s fewer; the only cost seen is in VMs that hand freed memory back to
// their host, where making the huge pages faults them in from the host again (+0.55 s of load).
bool huge_pages_wanted() {
  const char* v = std::getenv("CARLO_HUGE_PAGES");
  return v == nullptr || std::string(v) != "0";
}

// The unit a segment of `bytes` is mapped in: a huge page when it will try huge pages, else a
// page. Read from this rank's environment, so the node leader's choice is sent to the others.
std::uint64_t mapping_unit(std::uint64_t bytes) {
  return bytes >= kHugeMinimum && huge_page_size() != 0 && huge_pages_wanted() ? huge_page_size()
                                                                               : page_size();
}

// Whole units of `unit` bytes mapped for a segment of `bytes` (at least one, so data() is never
// null), saturating.
std::uint64_t mapped_size(std::uint64_t bytes, std::uint64_t unit) {
  return std::max(unit, add_saturating(bytes, unit - 1) / unit * unit);
}

// Maps `bytes` of `fd` shared at an address aligned to `align` (a huge page: the kernel maps a
// huge page of the file with one page-table entry only at an aligned address).
void* map_aligned(int fd, std::uint64_t bytes, int prot, std::uint64_t align) {
  if (align <= page_size()) return mmap(nullptr, bytes, prot, MAP_SHARED, fd, 0);
  void* area = mmap(nullptr, bytes + align, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (area == MAP_FAILED) return MAP_FAILED;
  const auto start = reinterpret_cast<std::uintptr_t>(area);
  const std::uintptr_t at = (start + align - 1) / align * align;
  if (at > start) munmap(area, at - start);
  munmap(reinterpret_cast<void*>(at + bytes), start + align - at);
  return mmap(reinterpret_cast<void*>(at), bytes, prot, MAP_SHARED | MAP_FIXED, fd, 0);
}

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25  // Linux 6.1; older headers lack it
#endif

// On a fresh memory file mapped at `data` (huge-page aligned, `bytes` a multiple of the huge
// page): backs that range with huge pages where the kernel allows, without privileges. A walk over
// a graph of hundreds of MiB misses the TLB on almost every step with 4 KiB pages, and every rank
// faults in every page of its mapping (~45 us each in a VM); with 2 MiB pages the walk runs
// faster and a rank maps 512 times fewer pages (docs/benchmarks.md, "walk end to end").
// MADV_HUGEPAGE (given by the caller) gives huge pages where tmpfs allows them on request
// (shmem_enabled=advise); MADV_COLLAPSE (Linux 6.1) makes them whatever that setting is, short of
// `deny`, but only from pages present, so one byte per huge page is written first (the rest are
// zeros, later overwritten by the fill). Best effort: on older kernels, or without free huge pages,
// the file keeps 4 KiB pages. Returns whether every huge page was made.
bool make_huge_pages(std::byte* data, std::uint64_t bytes) {
  const std::uint64_t huge = huge_page_size();
  if (huge == 0 || bytes % huge != 0) return false;
  for (std::uint64_t at = 0; at < bytes; at += huge)
    std::atomic_ref<std::byte>(data[at]).store(std::byte{0}, std::memory_order_relaxed);
  return madvise(data, bytes, MADV_COLLAPSE) == 0;
}

// Units [first, last) of `n` that the node's rank `rank` of `ranks` takes: contiguous, in rank
// order, as even as whole units allow.
std::pair<std::uint64_t, std::uint64_t> share_of(std::uint64_t n, std::uint64_t rank,
                                                 std::uint64_t ranks) {
  return {n * rank / ranks, n * (rank + 1) / ranks};
}

// pread()s bytes [done, count) of `fd` from `file_offset` to `to`, in pieces of 64 MiB (a few
// tens of ms even from a slow file system), giving up between two when `*stop` is set.
bool pread_into(int fd, std::uint64_t file_offset, std::byte* to, std::uint64_t done,
                std::uint64_t count, const std::atomic<bool>* stop) {
  constexpr std::uint64_t kPiece = std::uint64_t{1} << 26;
  while (done < count) {
    if (stop && stop->load(std::memory_order_relaxed)) return false;
    const ssize_t n = pread(fd, to + done, std::min(kPiece, count - done),
                            static_cast<off_t>(file_offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw SystemError(std::string("reading into shared memory: ") + std::strerror(errno));
    if (n == 0)
      throw SystemError("reading into shared memory: the file ends " +
                        std::to_string(count - done) + " bytes early");
    done += static_cast<std::uint64_t>(n);
  }
  return true;
}

// Empty if `host_bytes` (everything the node leaders of this host are about to put in shared
// memory) fits, else the one-line InputError message. A memory file is not limited by the size
// of /dev/shm, only by memory (and the cgroup's limit, which its pages are charged to).
std::string capacity_problem(std::uint64_t node_bytes, std::uint64_t host_bytes, bool virtual_nodes,
                             const std::string& what) {
  if (node_bytes > static_cast<std::uint64_t>(std::numeric_limits<off_t>::max()) / 2)
    return what + ": " + std::to_string(node_bytes) + " bytes is beyond any addressable size";
  const std::optional<std::uint64_t> available = available_memory();
  if (!available || host_bytes <= *available) return {};
  std::string amount = format_bytes(node_bytes);
  if (virtual_nodes && host_bytes != node_bytes)
    amount += " (" + format_bytes(host_bytes) + " for all virtual nodes of this host)";
  return what + ": " + amount + " does not fit in this node's shared memory (" +
         format_bytes(*available) + " available)";
}

// Collective (world): refuses, with the same InputError on every rank, a segment that the node
// cannot hold. Virtual nodes of one host share its memory, so their requests are added up.
void check_capacity(const Runtime& rt, std::uint64_t bytes, const std::string& what) {
  const Runtime::Impl& m = rt.impl();
  const std::uint64_t node_bytes = rt.is_leader() ? bytes : 0;
  std::uint64_t host_bytes = std::min<std::uint64_t>(
      rt.is_leader() ? mapped_size(bytes, mapping_unit(bytes)) : 0, std::uint64_t{1} << 62);
  detail::allreduce_sleeping(&host_bytes, 1, MPI_UINT64_T, MPI_SUM, m.host);
  std::string problem;
  if (rt.is_leader()) problem = capacity_problem(node_bytes, host_bytes, m.virtual_nodes, what);
  if (std::string error = rt.first_error(problem); !error.empty()) throw InputError(error);
}

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U  // Linux 6.3; older headers lack it
#endif

// What the leader tells the other ranks of its node, so they can open its memory file.
struct FileIdentity {
  std::uint64_t ok = 0;  ///< 1 if the leader created and mapped the file
  std::uint64_t pid = 0;
  std::uint64_t fd = 0;
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::uint64_t unit = 0;   ///< the mapping unit (the leader's environment decides huge pages)
  std::uint64_t bytes = 0;  ///< the segment's size (the leader's argument)
};

// Leader: creates the memory file, maps it into `s`, puts a large one on huge pages where it can
// (make_huge_pages) and reserves the rest of its pages. Reserving now makes a shortage of memory
// an InputError here instead of a SIGBUS in the middle of the load, and tmpfs pages reserved by
// fallocate are not zeroed where a later write covers them. What is never written reads as zeros,
// through read() and the mapping alike (the kernel clears a reserved page when it is first mapped,
// and a huge page when it is made; make_huge_pages writes zeros only): allocate() promises a
// zero-filled segment, and the node's tallies rely on it instead of clearing it again.
FileIdentity create_memory_file(SharedSegment::Impl& s, const std::string& what) {
  // Not executable (and sealed so): the file only ever holds data.
  s.file = memfd_create("carlo-shared-segment", MFD_CLOEXEC | MFD_NOEXEC_SEAL);
  if (s.file < 0 && errno == EINVAL) s.file = memfd_create("carlo-shared-segment", MFD_CLOEXEC);
  if (s.file < 0) throw SystemError(what + ": memfd_create: " + std::strerror(errno));
  // Huge pages first: reserving small pages first would make MADV_COLLAPSE copy every one.
  if (ftruncate(s.file, static_cast<off_t>(s.mapped_bytes)) != 0)
    throw SystemError(what + ": ftruncate of shared memory: " + std::strerror(errno));
  void* p = map_aligned(s.file, s.mapped_bytes, PROT_READ | PROT_WRITE, s.unit);
  if (p == MAP_FAILED) throw SystemError(what + ": mmap of shared memory: " + std::strerror(errno));
  s.data = static_cast<std::byte*>(p);
  struct stat st {};
  if (fstat(s.file, &st) != 0) throw SystemError(what + ": fstat: " + std::strerror(errno));
  return {1,
          static_cast<std::uint64_t>(getpid()),
          static_cast<std::uint64_t>(s.file),
          static_cast<std::uint64_t>(st.st_dev),
          static_cast<std::uint64_t>(st.st_ino),
          s.unit,
          s.bytes};
}

// Leader, once the node's ranks made the huge pages: reserves the rest of the file's pages.
void reserve_pages(SharedSegment::Impl& s, const std::string& what) {
  int rc = 0;
  do {  // tmpfs stops at a pending signal; the pages reserved so far stay, so retrying resumes
    rc = fallocate(s.file, 0, 0, static_cast<off_t>(s.mapped_bytes));
  } while (rc != 0 && errno == EINTR);
  if (rc == 0) return;
  const std::string message = what + ": cannot reserve " + format_bytes(s.bytes) +
                              " of shared memory on this node (" + std::strerror(errno) + ")";
  if (errno == ENOSPC || errno == ENOMEM) throw InputError(message);
  throw SystemError(message);
}

// Agreed by every rank: "" or the failure, an InputError if any rank's was one.
void agree(const Runtime& rt, const std::string& failure, bool input_failure) {
  const bool any_input_failure = !rt.all_ok(!input_failure);
  if (std::string error = rt.first_error(failure); !error.empty()) {
    if (any_input_failure) throw InputError(error);
    throw SystemError(error);
  }
}

// Other ranks: opens the leader's memory file through /proc and maps it into `s`. The leader keeps
// its descriptor open until every rank has passed the agreement that follows.
void attach_memory_file(SharedSegment::Impl& s, const FileIdentity& id, const std::string& what) {
  const std::string path = "/proc/" + std::to_string(id.pid) + "/fd/" + std::to_string(id.fd);
  const int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0)
    throw SystemError(what + ": cannot open the node leader's shared memory " + path + ": " +
                      std::strerror(errno));
  struct stat st {};
  const bool same = fstat(fd, &st) == 0 && static_cast<std::uint64_t>(st.st_dev) == id.device &&
                    static_cast<std::uint64_t>(st.st_ino) == id.inode;
  void* p = same ? map_aligned(fd, s.mapped_bytes, PROT_READ | PROT_WRITE, s.unit) : MAP_FAILED;
  const int mmap_errno = errno;
  close(fd);
  if (!same)
    throw SystemError(what + ": " + path +
                      " is not the node leader's shared memory (ranks in different process "
                      "namespaces?)");
  if (p == MAP_FAILED)
    throw SystemError(what + ": mmap of shared memory: " + std::strerror(mmap_errno));
  s.data = static_cast<std::byte*>(p);
}

}  // namespace

SharedSegment SharedSegment::allocate(const Runtime& rt, std::uint64_t bytes,
                                      const std::string& what) {
  check_capacity(rt, bytes, what);  // 1. agreed by all ranks before anything is allocated
  SharedSegment segment;
  segment.impl_ = std::make_unique<Impl>();
  Impl& s = *segment.impl_;
  s.node = rt.impl().node;
  s.leader = rt.is_leader();
  s.bytes = bytes;
  s.node_rank = static_cast<std::uint64_t>(rt.node_rank());
  s.node_size = static_cast<std::uint64_t>(rt.node_size());
  if (s.leader) {
    s.unit = mapping_unit(bytes);
    s.mapped_bytes = mapped_size(bytes, s.unit);
  }
  // 2. The leader creates the memory, the others map it; a failure anywhere is agreed on.
  std::string failure;
  bool input_failure = false;
  FileIdentity id;
  if (s.leader) {
    try {
      id = create_memory_file(s, what);
    } catch (const InputError& e) {
      failure = e.what();
      input_failure = true;
    } catch (const std::exception& e) {
      failure = e.what();
    }
  }
  static_assert(sizeof(FileIdentity) == 7 * sizeof(std::uint64_t));
  detail::broadcast_pieces(&id, 7, MPI_UINT64_T, sizeof(std::uint64_t), 0, s.node);
  if (!s.leader && id.ok == 1) {
    try {
      s.unit = id.unit;
      s.bytes = id.bytes;
      s.mapped_bytes = mapped_size(s.bytes, s.unit);
      attach_memory_file(s, id, what);
    } catch (const std::exception& e) {
      failure = e.what();
    }
  }
  agree(rt, failure, input_failure);
  // 3. Huge pages, each rank of the node making its share (the kernel zeroes each one: on a
  //    node of many ranks that is fast in parallel), then the leader reserves the rest. Every
  //    rank agrees, whatever its node chose (nodes may see different environments).
  const std::uint64_t huge = huge_page_size();
  const bool tried = huge != 0 && s.unit == huge;
  bool made = false;
  if (tried) {
    const auto [first, last] = share_of(s.mapped_bytes / huge, s.node_rank, s.node_size);
    madvise(s.data, s.mapped_bytes, MADV_HUGEPAGE);  // the whole mapping: one VMA
    made = first == last || make_huge_pages(s.data + first * huge, (last - first) * huge);
  }
  s.huge_pages = rt.all_ok(made);
  if (s.leader) {
    try {
      reserve_pages(s, what);
    } catch (const InputError& e) {
      failure = e.what();
      input_failure = true;
    } catch (const std::exception& e) {
      failure = e.what();
    }
  }
  agree(rt, failure, input_failure);
  return segment;
}

SharedSegment::SharedSegment() noexcept = default;
SharedSegment::~SharedSegment() = default;
SharedSegment::SharedSegment(SharedSegment&&) noexcept = default;
SharedSegment& SharedSegment::operator=(SharedSegment&&) noexcept = default;

std::byte* SharedSegment::writable() {
  if (!impl_ || !impl_->leader || impl_->sealed)
    throw std::logic_error("SharedSegment::writable: only the node leader writes, before seal()");
  return impl_->data;
}

bool SharedSegment::fill_from_file(int fd, std::uint64_t file_offset, std::uint64_t at,
                                   std::uint64_t count, const std::atomic<bool>* stop) {
  std::byte* base = writable();
  if (at > impl_->bytes || count > impl_->bytes - at)
    throw std::logic_error("SharedSegment::fill_from_file: range outside the segment");
  // 64 MiB: a few tens of ms per piece even from a slow file system, so a stop is seen quickly.
  constexpr std::uint64_t kPiece = std::uint64_t{1} << 26;
  auto stopped = [stop] { return stop && stop->load(std::memory_order_relaxed); };
  std::uint64_t done = 0;
  if (impl_->file >= 0 && lseek(impl_->file, static_cast<off_t>(at), SEEK_SET) >= 0) {
    // sendfile() copies page cache to page cache: no page faults, no zeroing.
    auto in = static_cast<off_t>(file_offset);
    while (done < count) {
      if (stopped()) return false;
      const ssize_t n = sendfile(impl_->file, fd, &in, std::min(kPiece, count - done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // not supported here, or the end of the input: finish with pread
      done += static_cast<std::uint64_t>(n);
    }
  }
  return pread_into(fd, file_offset, base + at, done, count, stop);
}

bool SharedSegment::read_share_from_file(int fd, std::uint64_t file_offset, std::uint64_t at,
                                         std::uint64_t count, const std::atomic<bool>* stop) {
  if (!impl_ || impl_->sealed || !impl_->huge_pages)
    throw std::logic_error(
        "SharedSegment::read_share_from_file: a segment on huge pages, before "
        "seal()");
  if (at > impl_->bytes || count > impl_->bytes - at)
    throw std::logic_error("SharedSegment::read_share_from_file: range outside the segment");
  // This rank's huge pages of those the range touches, clipped to the range.
  const std::uint64_t unit = impl_->unit, end = at + count;
  const auto [first, last] =
      share_of((end + unit - 1) / unit - at / unit, impl_->node_rank, impl_->node_size);
  const std::uint64_t from = std::max(at, (at / unit + first) * unit);
  const std::uint64_t to = std::min(end, (at / unit + last) * unit);
  if (from >= to) return true;
  return pread_into(fd, file_offset + (from - at), impl_->data + from, 0, to - from, stop);
}

void SharedSegment::write(std::uint64_t at, const void* bytes, std::uint64_t count) {
  std::byte* base = writable();
  if (at > impl_->bytes || count > impl_->bytes - at)
    throw std::logic_error("SharedSegment::write: range outside the segment");
  const auto* from = static_cast<const std::byte*>(bytes);
  std::uint64_t done = 0;
  // Faulting the pages in one at a time through the mapping costs ~45 us each in a VM; a write
  // to the file fills the same pages without touching this rank's page tables.
  while (impl_->file >= 0 && done < count) {
    const ssize_t n = pwrite(impl_->file, from + done, std::min(kMaxPwrite, count - done),
                             static_cast<off_t>(at + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // finish through the mapping
    done += static_cast<std::uint64_t>(n);
  }
  if (done < count) std::memcpy(base + at + done, from + done, count - done);
}

const std::byte* SharedSegment::data() const noexcept { return impl_ ? impl_->data : nullptr; }

bool SharedSegment::huge_pages() const noexcept { return impl_ && impl_->huge_pages; }

std::uint64_t SharedSegment::size() const noexcept { return impl_ ? impl_->bytes : 0; }

std::byte* SharedSegment::shared_writable() {
  if (!impl_ || impl_->sealed)
    throw std::logic_error("SharedSegment::shared_writable: empty or sealed segment");
  return impl_->data;
}

void SharedSegment::sync() {
  if (!impl_) throw std::logic_error("SharedSegment::sync: empty segment");
  // Plain shared memory: a full fence on each side of the barrier orders every rank's earlier
  // writes before any rank's later reads.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  detail::barrier_sleeping(impl_->node);
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

void SharedSegment::seal() {
  if (!impl_) throw std::logic_error("SharedSegment::seal: empty segment");
  Impl& s = *impl_;
  sync();
  if (s.sealed) return;
  if (mprotect(s.data, s.mapped_bytes, PROT_READ) != 0)
    throw SystemError(std::string("mprotect of the shared data: ") + std::strerror(errno));
  s.sealed = true;
  if (s.file >= 0) close(s.file);  // no more fills; the mappings keep the memory alive
  s.file = -1;
}

}  // namespace carlo::transport
