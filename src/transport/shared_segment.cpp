// SharedSegment: one copy of read-only data per node in an MPI-3 shared window.
//
// Where the bytes live: Open MPI 4.1's osc/sm backs a shared window with a file in the MCA
// parameter osc_sm_backing_directory (default /dev/shm, a tmpfs), mapped by every rank of the
// node. tmpfs does not reserve space when the file is sized, so a window larger than the free
// space would SIGBUS in the middle of the load; hence the capacity check before allocating and
// the prefault (MADV_POPULATE_WRITE) that turns a late shortage into an error instead of a
// signal.
//
// Layout: the base pointer Open MPI returns is not page-aligned (it follows Open MPI's control
// data, in the same page). We allocate two pages more than asked and put the data at the first
// page boundary, so mprotect() in seal() covers only our pages, never Open MPI's.

#include "transport/mpi_detail.h"

#include <carlo/error.h>
#include <carlo/units.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>

namespace carlo::transport {

using detail::check;

struct SharedSegment::Impl {
  MPI_Win win = MPI_WIN_NULL;
  MPI_Comm node = MPI_COMM_NULL;  ///< the Runtime's node communicator (not owned)
  std::byte* data = nullptr;
  std::uint64_t bytes = 0;
  std::uint64_t protected_bytes = 0;  ///< whole pages under `data` that seal() made read-only
  bool leader = false;
  bool sealed = false;
  bool locked = false;            ///< inside MPI_Win_lock_all (needed for MPI_Win_sync)
  int file = -1;                  ///< leader: the window's backing file, opened for writing, or -1
  std::uint64_t file_offset = 0;  ///< where `data` starts in that file

  ~Impl() {
    if (file >= 0) close(file);
    if (sealed && protected_bytes > 0) mprotect(data, protected_bytes, PROT_READ | PROT_WRITE);
    if (locked) MPI_Win_unlock_all(win);
    if (win != MPI_WIN_NULL) MPI_Win_free(&win);
  }
};

namespace {

std::uint64_t page_size() { return static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE)); }

std::uint64_t round_up(std::uint64_t n, std::uint64_t to) { return (n + to - 1) / to * to; }

// Where osc/sm will put its backing file: the MCA parameter osc_sm_backing_directory, default
// /dev/shm. Reading it through the MPI tools interface would be exact but MPI_T_init costs 0.2 s,
// so the environment is consulted here and the real file is confirmed after allocation
// (mapping_of), before any page is touched.
std::string expected_backing_directory() {
  const char* dir = std::getenv("OMPI_MCA_osc_sm_backing_directory");
  return dir != nullptr && *dir != '\0' ? dir : "/dev/shm";
}

// The mapping that holds `address`, from /proc/self/maps.
struct Mapping {
  std::string range;  ///< "begin-end" in hex, as /proc/self/map_files names it
  std::uint64_t begin = 0;
  std::uint64_t file_offset = 0;
  std::string path;  ///< empty if anonymous (Open MPI uses plain memory for a one-rank node)
  std::string directory() const {
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? "" : slash == 0 ? "/" : path.substr(0, slash);
  }
};

Mapping mapping_of(const void* address) {
  const auto target = reinterpret_cast<std::uintptr_t>(address);
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream fields(line);
    Mapping m;
    std::string perms, offset, device;
    std::uint64_t inode = 0;
    fields >> m.range >> perms >> offset >> device >> inode;
    const auto dash = m.range.find('-');
    if (dash == std::string::npos) continue;
    m.begin = std::stoull(m.range.substr(0, dash), nullptr, 16);
    const std::uint64_t end = std::stoull(m.range.substr(dash + 1), nullptr, 16);
    if (target < m.begin || target >= end) continue;
    m.file_offset = std::stoull(offset, nullptr, 16);
    std::getline(fields >> std::ws, m.path);
    if (m.path.empty() || m.path[0] != '/') m.path.clear();
    const std::string deleted = " (deleted)";
    if (m.path.size() > deleted.size() &&
        m.path.compare(m.path.size() - deleted.size(), deleted.size(), deleted) == 0)
      m.path.resize(m.path.size() - deleted.size());
    return m;
  }
  return {};
}

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

// Empty if `host_bytes` (everything the node leaders of this host are about to put in shared
// memory) fits, else the one-line InputError message.
std::string capacity_problem(std::uint64_t node_bytes, std::uint64_t host_bytes, bool virtual_nodes,
                             const std::string& dir, const std::string& what) {
  struct statvfs fs {};
  // Open MPI cannot create its backing file there either, and some ranks would then wait forever
  // inside MPI_Win_allocate_shared: refuse now, on every rank.
  if (statvfs(dir.c_str(), &fs) != 0)
    return what + ": cannot use " + dir + " for shared memory (" + std::strerror(errno) +
           "; see the MCA parameter osc_sm_backing_directory)";
  const std::optional<std::uint64_t> free_space =
      static_cast<std::uint64_t>(fs.f_bavail) * static_cast<std::uint64_t>(fs.f_frsize);
  const std::optional<std::uint64_t> available = available_memory();
  const bool fits =
      (!free_space || host_bytes <= *free_space) && (!available || host_bytes <= *available);
  if (fits) return {};
  std::string amount = format_bytes(node_bytes);
  if (virtual_nodes && host_bytes != node_bytes)
    amount += " (" + format_bytes(host_bytes) + " for all virtual nodes of this host)";
  std::string room;
  if (free_space) room = format_bytes(*free_space) + " free in " + dir;
  if (available) room += (room.empty() ? "" : ", ") + format_bytes(*available) + " available";
  return what + ": " + amount + " does not fit in this node's shared memory (" + room + ")";
}

// Saturating, so an absurd request cannot wrap around to a small one.
std::uint64_t add_saturating(std::uint64_t a, std::uint64_t b) {
  return a > std::numeric_limits<std::uint64_t>::max() - b
             ? std::numeric_limits<std::uint64_t>::max()
             : a + b;
}

}  // namespace

SharedSegment SharedSegment::allocate(const Runtime& rt, std::uint64_t bytes,
                                      const std::string& what) {
  const Runtime::Impl& m = rt.impl();
  const bool leader = rt.is_leader();
  const std::uint64_t page = page_size();
  const std::uint64_t node_bytes = leader ? bytes : 0;
  const std::uint64_t window_bytes = leader ? add_saturating(bytes, 2 * page) : 0;

  // 1. Capacity, agreed by all ranks before anything is allocated. Virtual nodes of one host
  // share its memory, so their requests are added up.
  std::uint64_t host_bytes = std::min<std::uint64_t>(window_bytes, std::uint64_t{1} << 62);
  detail::allreduce_sleeping(&host_bytes, 1, MPI_UINT64_T, MPI_SUM, m.host);
  std::string problem;
  if (leader) {
    if (window_bytes > static_cast<std::uint64_t>(std::numeric_limits<MPI_Aint>::max()))
      problem = what + ": " + std::to_string(bytes) + " bytes is beyond any addressable size";
    else
      problem = capacity_problem(node_bytes, host_bytes, m.virtual_nodes,
                                 expected_backing_directory(), what);
  }
  if (std::string error = rt.first_error(problem); !error.empty()) throw InputError(error);

  // 2. The window: the leader allocates, the others attach to the leader's memory.
  SharedSegment segment;
  segment.impl_ = std::make_unique<Impl>();
  Impl& s = *segment.impl_;
  s.node = m.node;
  s.leader = leader;
  s.bytes = bytes;
  std::string failure;
  bool input_failure = false;
  try {
    void* base = nullptr;
    check(MPI_Win_allocate_shared(static_cast<MPI_Aint>(window_bytes), 1, MPI_INFO_NULL, m.node,
                                  &base, &s.win),
          "MPI_Win_allocate_shared");
    check(MPI_Win_set_errhandler(s.win, MPI_ERRORS_RETURN), "MPI_Win_set_errhandler");
    MPI_Aint leader_bytes = 0;
    int unit = 0;
    void* leader_base = nullptr;
    check(MPI_Win_shared_query(s.win, 0, &leader_bytes, &unit, &leader_base),
          "MPI_Win_shared_query");
    const auto address = reinterpret_cast<std::uintptr_t>(leader_base);
    s.data = static_cast<std::byte*>(leader_base) + (round_up(address, page) - address);
    if (s.data + bytes > static_cast<std::byte*>(leader_base) + leader_bytes)
      throw SystemError(what + ": shared window smaller than requested");
    if (leader && bytes > 0) {
      // The window is sized but untouched (tmpfs reserves nothing yet): if Open MPI put it
      // somewhere else than expected, check that place before writing a byte.
      const Mapping mapping = mapping_of(s.data);
      const std::string dir = mapping.directory();
      if (!dir.empty() && dir != expected_backing_directory()) {
        std::string late = capacity_problem(node_bytes, host_bytes, m.virtual_nodes, dir, what);
        if (!late.empty()) {
          input_failure = true;
          throw InputError(late);
        }
      }
      // The backing file itself lets fill_from_file() copy in the kernel. Open MPI has unlinked
      // it; /proc/self/map_files reaches it (where the process may: CAP_SYS_ADMIN).
      if (!mapping.path.empty())
        s.file = open(("/proc/self/map_files/" + mapping.range).c_str(), O_RDWR | O_CLOEXEC);
      if (s.file >= 0)
        s.file_offset =
            mapping.file_offset +
            static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(s.data) - mapping.begin);
    }
    check(MPI_Win_lock_all(MPI_MODE_NOCHECK, s.win), "MPI_Win_lock_all");
    s.locked = true;
    // Reserve the pages now so a shortage of shared memory is an error here, not a SIGBUS during
    // the load: fallocate() when we hold the file (pages that a later write covers are never
    // zeroed), else prefault the mapping.
    if (leader && bytes > 0) {
      const std::uint64_t length = round_up(bytes, page);
      const bool reserved =
          s.file >= 0 ? fallocate(s.file, 0, static_cast<off_t>(s.file_offset),
                                  static_cast<off_t>(length)) == 0
                      : madvise(s.data, length, MADV_POPULATE_WRITE) == 0 || errno == EINVAL;
      if (!reserved) {
        input_failure = true;
        throw SystemError(what + ": cannot reserve " + format_bytes(bytes) +
                          " of shared memory on this node (" + std::strerror(errno) + ")");
      }
    }
  } catch (const std::exception& e) {
    failure = e.what();
  }
  const bool any_input_failure = !rt.all_ok(!input_failure);
  if (std::string error = rt.first_error(failure); !error.empty()) {
    if (any_input_failure) throw InputError(error);
    throw SystemError(error);
  }
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

void SharedSegment::fill_from_file(int fd, std::uint64_t file_offset, std::uint64_t at,
                                   std::uint64_t count) {
  std::byte* base = writable();
  if (at > impl_->bytes || count > impl_->bytes - at)
    throw std::logic_error("SharedSegment::fill_from_file: range outside the segment");
  constexpr std::uint64_t kPiece = std::uint64_t{1} << 30;
  std::uint64_t done = 0;
  if (impl_->file >= 0 &&
      lseek(impl_->file, static_cast<off_t>(impl_->file_offset + at), SEEK_SET) >= 0) {
    // sendfile() copies page cache to page cache: no page faults, no zeroing.
    auto in = static_cast<off_t>(file_offset);
    while (done < count) {
      const ssize_t n = sendfile(impl_->file, fd, &in, std::min(kPiece, count - done));
      if (n <= 0) break;  // not supported here, or the end of the input: finish with pread
      done += static_cast<std::uint64_t>(n);
    }
  }
  while (done < count) {
    const ssize_t n = pread(fd, base + at + done, std::min(kPiece, count - done),
                            static_cast<off_t>(file_offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw SystemError(std::string("reading into shared memory: ") + std::strerror(errno));
    if (n == 0)
      throw SystemError("reading into shared memory: the file ends " +
                        std::to_string(count - done) + " bytes early");
    done += static_cast<std::uint64_t>(n);
  }
}

const std::byte* SharedSegment::data() const noexcept { return impl_ ? impl_->data : nullptr; }

std::uint64_t SharedSegment::size() const noexcept { return impl_ ? impl_->bytes : 0; }

std::byte* SharedSegment::shared_writable() {
  if (!impl_ || impl_->sealed)
    throw std::logic_error("SharedSegment::shared_writable: empty or sealed segment");
  return impl_->data;
}

void SharedSegment::sync() {
  if (!impl_) throw std::logic_error("SharedSegment::sync: empty segment");
  // The standard's idiom for the separate memory model: sync, barrier, sync.
  check(MPI_Win_sync(impl_->win), "MPI_Win_sync");
  detail::barrier_sleeping(impl_->node);
  check(MPI_Win_sync(impl_->win), "MPI_Win_sync");
}

void SharedSegment::seal() {
  if (!impl_) throw std::logic_error("SharedSegment::seal: empty segment");
  Impl& s = *impl_;
  sync();
  if (s.sealed) return;
  const std::uint64_t pages = round_up(s.bytes, page_size());
  if (pages > 0 && mprotect(s.data, pages, PROT_READ) != 0)
    throw SystemError(std::string("mprotect of the shared data: ") + std::strerror(errno));
  s.protected_bytes = pages;
  s.sealed = true;
}

}  // namespace carlo::transport
