#include "engine/shared_data.h"

#include "core/prefault.h"

#include "engine/agreed.h"

#include <carlo/error.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace carlo::engine {

namespace {

std::string object_path(const std::string& group, const char* name) {
  return group.empty() || group.back() != '/' ? group + "/" + name : group + name;
}

// The unit the page cache can map a file in with one page-table entry (the transparent huge page
// size) where the kernel has one, else a page.
std::uint64_t file_mapping_unit() {
  static const std::uint64_t unit = [] {
    const auto page = static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
    std::uint64_t huge = 0;
    std::ifstream("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size") >> huge;
    return huge > page && huge <= (std::uint64_t{32} << 20) && std::has_single_bit(huge) ? huge
                                                                                         : page;
  }();
  return unit;
}

/// Bytes [start, start + length) of a file, mapped read-only at `base`.
struct FileMapping {
  void* base = nullptr;
  std::size_t length = 0;
  std::uint64_t start = 0;
};

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22  // Linux 5.14; older headers lack it
#endif

// Maps bytes [from, to) of `fd` read-only and shared, from the file offset rounded down to a huge
// page, at an address aligned alike, advised MADV_HUGEPAGE. Where the page cache holds the file in
// huge folios (ext4 since Linux 6.16, xfs since 5.18; readahead into a huge-page-advised mapping
// reads huge folios), the kernel then maps each with one page-table entry: a random walk over the
// values misses the TLB as rarely as in a window on huge pages, with no copy and no fresh memory
// to clear. Elsewhere it is a plain mapping.
FileMapping map_file_read_only(int fd, std::uint64_t from, std::uint64_t to,
                               const std::string& what) {
  const std::uint64_t unit = file_mapping_unit();
  FileMapping m;
  m.start = from / unit * unit;
  m.length = static_cast<std::size_t>(to - m.start);
  // Reserve length + unit of address space, keep an aligned stretch, map the file over it.
  void* area = mmap(nullptr, m.length + unit, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (area == MAP_FAILED) throw SystemError(what + ": mmap: " + std::strerror(errno));
  const auto first = reinterpret_cast<std::uintptr_t>(area);
  const std::uintptr_t at = (first + unit - 1) / unit * unit;
  if (at > first) munmap(area, at - first);
  munmap(reinterpret_cast<void*>(at + m.length), first + unit - at);
  m.base = mmap(reinterpret_cast<void*>(at), m.length, PROT_READ, MAP_SHARED | MAP_FIXED, fd,
                static_cast<off_t>(m.start));
  if (m.base == MAP_FAILED) {
    const int error = errno;
    munmap(reinterpret_cast<void*>(at), m.length);
    throw SystemError(what + ": mmap: " + std::strerror(error));
  }
  if (unit > static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE)))
    madvise(m.base, m.length, MADV_HUGEPAGE);  // best effort
  return m;
}

// Maps every page of `m` into this rank now, reading what the page cache lacks: first this rank's
// share (the node's ranks read an uncached file in parallel, in whole huge pages), then all of it.
// A read error is then a SystemError here instead of a SIGBUS inside a task, and a task never
// waits on a page fault. Before Linux 5.14 (no MADV_POPULATE_READ) the pages fault in as read.
void populate(const FileMapping& m, std::uint64_t node_rank, std::uint64_t node_size,
              const std::string& what) {
  const std::uint64_t unit = file_mapping_unit();
  const std::uint64_t units = (m.length + unit - 1) / unit;
  const std::uint64_t first =
      std::min<std::uint64_t>(units * node_rank / node_size * unit, m.length);
  const std::uint64_t last =
      std::min<std::uint64_t>(units * (node_rank + 1) / node_size * unit, m.length);
  auto* base = static_cast<std::byte*>(m.base);
  for (const auto& [begin, end] :
       {std::pair{first, last}, std::pair{std::uint64_t{0}, std::uint64_t{m.length}}}) {
    if (begin == end || madvise(base + begin, end - begin, MADV_POPULATE_READ) == 0) continue;
    if (errno == EINVAL) return;  // an older kernel
    throw SystemError(what + ": reading the file into its mapping: " + std::strerror(errno));
  }
}

// RaggedInfo travels from rank 0 to everyone as bytes.
class Encoder {
 public:
  void u64(std::uint64_t v) {
    const auto* p = reinterpret_cast<const std::byte*>(&v);
    bytes.insert(bytes.end(), p, p + sizeof v);
  }
  void str(const std::string& s) {
    u64(s.size());
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    bytes.insert(bytes.end(), p, p + s.size());
  }
  std::vector<std::byte> bytes;
};

class Decoder {
 public:
  explicit Decoder(const std::vector<std::byte>& bytes) : bytes_(bytes) {}
  std::uint64_t u64() {
    std::uint64_t v = 0;
    take(&v, sizeof v);
    return v;
  }
  std::string str() {
    std::string s(u64(), '\0');
    take(s.data(), s.size());
    return s;
  }

 private:
  void take(void* out, std::size_t n) {
    if (at_ + n > bytes_.size())
      throw SystemError("load_shared_ragged: truncated file description");
    std::memcpy(out, bytes_.data() + at_, n);
    at_ += n;
  }
  const std::vector<std::byte>& bytes_;
  std::size_t at_ = 0;
};

std::vector<std::byte> encode(const io::RaggedInfo& info) {
  Encoder e;
  e.str(info.path);
  e.str(info.group);
  e.u64(static_cast<std::uint64_t>(info.dtype));
  e.u64(info.rows);
  e.u64(info.n_values);
  e.u64(info.values_contiguous);
  e.u64(info.values_file_offset);
  e.u64(info.values_native_order);
  e.str(info.values_layout);
  e.u64(info.offsets_signed);
  e.u64(info.has_format_attribute);
  return std::move(e.bytes);
}

io::RaggedInfo decode(const std::vector<std::byte>& bytes) {
  Decoder d(bytes);
  io::RaggedInfo info;
  info.path = d.str();
  info.group = d.str();
  info.dtype = static_cast<DType>(d.u64());
  info.rows = d.u64();
  info.n_values = d.u64();
  info.values_contiguous = d.u64() != 0;
  info.values_file_offset = d.u64();
  info.values_native_order = d.u64() != 0;
  info.values_layout = d.str();
  info.offsets_signed = d.u64() != 0;
  info.has_format_attribute = d.u64() != 0;
  return info;
}

void check_mappable(const io::RaggedInfo& info, const std::string& values) {
  if (info.n_values == 0) return;  // nothing to map
  const std::string advice = ", cannot be memory-mapped; use --share window";
  if (!info.values_contiguous)
    throw InputError(values + ": values is " + info.values_layout + advice);
  if (!info.values_native_order)
    throw InputError(values + ": values is not in this machine's byte order" + advice);
  if (info.values_file_offset % dtype_size(info.dtype) != 0)
    throw InputError(values + ": values start at byte " + std::to_string(info.values_file_offset) +
                     ", not aligned to " + std::to_string(dtype_size(info.dtype)) + " bytes" +
                     advice);
}

std::uint64_t checked_product(std::uint64_t a, std::uint64_t b, const std::string& what) {
  if (b != 0 && a > std::numeric_limits<std::uint64_t>::max() / b)
    throw InputError(what + ": size overflows 64 bits");
  return a * b;
}

std::uint64_t round_up(std::uint64_t n, std::uint64_t to) { return (n + to - 1) / to * to; }

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) noexcept : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileDescriptor& operator=(FileDescriptor&&) = delete;
  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

}  // namespace

ShareMode parse_share_mode(std::string_view text) {
  if (text == "window") return ShareMode::window;
  if (text == "mmap") return ShareMode::mmap;
  throw InputError("--share: '" + std::string(text) + "' is not one of window, mmap");
}

SharedRagged::~SharedRagged() { unmap(); }

SharedRagged::SharedRagged(SharedRagged&& other) noexcept
    : info(std::move(other.info)), segment_(std::move(other.segment_)),
      values_offset_(other.values_offset_), mode_(other.mode_),
      mapping_(std::exchange(other.mapping_, nullptr)),
      mapping_bytes_(std::exchange(other.mapping_bytes_, 0)),
      mapped_values_(std::exchange(other.mapped_values_, nullptr)) {}

SharedRagged& SharedRagged::operator=(SharedRagged&& other) noexcept {
  if (this != &other) {
    unmap();
    info = std::move(other.info);
    segment_ = std::move(other.segment_);
    values_offset_ = other.values_offset_;
    mode_ = other.mode_;
    mapping_ = std::exchange(other.mapping_, nullptr);
    mapping_bytes_ = std::exchange(other.mapping_bytes_, 0);
    mapped_values_ = std::exchange(other.mapped_values_, nullptr);
  }
  return *this;
}

void SharedRagged::unmap() noexcept {
  if (mapping_ != nullptr) munmap(mapping_, mapping_bytes_);
  mapping_ = nullptr;
  mapping_bytes_ = 0;
  mapped_values_ = nullptr;
}

RaggedView SharedRagged::view() const {
  RaggedView v;
  if (segment_.data() == nullptr) return v;
  v.offsets = reinterpret_cast<const std::uint64_t*>(segment_.data());
  v.values = mode_ == ShareMode::mmap ? static_cast<const void*>(mapped_values_)
                                      : static_cast<const void*>(segment_.data() + values_offset_);
  v.rows = info.rows;
  v.n_values = info.n_values;
  v.dtype = info.dtype;
  return v;
}

/// The steps of load_shared_ragged, in order; each is collective (world) unless it says so.
class SharedRaggedLoader {
 public:
  SharedRaggedLoader(const transport::Runtime& rt, const std::string& path,
                     const std::string& group, ShareMode mode, const std::atomic<bool>* stop)
      : rt_(rt), path_(path), group_(group), stop_(stop),
        values_name_(path + ":" + object_path(group, "values")) {
    out_.mode_ = mode;
  }

  /// Rank 0 alone checks the file, so a bad one is refused before any rank allocates; every
  /// rank then learns what it holds.
  void check_file() {
    std::vector<std::byte> described;
    agreed(rt_, [&] {
      if (rt_.world_rank() != 0) return;
      reader_.emplace(path_, group_);
      // Mapped in one call: faulting 8 bytes a node in page by page cost 0.3 s at 2^22 rows
      // in a VM (docs/benchmarks.md, "walk end to end"). Not zeroed: the read fills it whole.
      const std::uint64_t n = reader_->info().rows + 1;
      offsets_ = prefaulted_buffer(n);
      reader_->read_offsets({offsets_.get(), static_cast<std::size_t>(n)});
      if (out_.mode_ == ShareMode::mmap) check_mappable(reader_->info(), values_name_);
      described = encode(reader_->info());
    });
    rt_.broadcast(described, 0);
    out_.info = decode(described);
  }

  /// One segment per node (capacity refused on every rank): offsets, then in window mode the
  /// values, from a cache line on so vector loads over a row never straddle the offsets.
  void allocate() {
    const io::RaggedInfo& info = out_.info;
    offsets_bytes_ = checked_product(info.rows + 1, sizeof(std::uint64_t),
                                     path_ + ":" + object_path(group_, "offsets"));
    value_bytes_ = checked_product(info.n_values, dtype_size(info.dtype), values_name_);
    const bool window = out_.mode_ == ShareMode::window;
    out_.values_offset_ = window ? round_up(offsets_bytes_, 64) : 0;
    const std::uint64_t bytes = window ? out_.values_offset_ + value_bytes_ : offsets_bytes_;
    out_.segment_ = transport::SharedSegment::allocate(rt_, bytes, values_name_);
  }

  /// Each node leader reads the file itself (no inter-node broadcast of the data); values that
  /// are the bytes on disk and a segment on huge pages are read by all ranks of the node at once,
  /// each its share. Then the segment is sealed read-only.
  void fill() {
    const bool shared_read = values_read_by_every_rank();  // the same on every rank
    agreed(rt_, [&] {
      if (rt_.is_leader()) fill_on_leader(shared_read);
      if (shared_read) read_my_share();
    });
    reader_.reset();
    offsets_.reset();
    out_.segment_.seal();
  }

  /// mmap mode: every rank maps the values; the page cache holds the one copy per node.
  void map_values() {
    if (out_.mode_ != ShareMode::mmap || value_bytes_ == 0) return;
    agreed(rt_, [&] { map_on_this_rank(); });
  }

  SharedRagged take() { return std::move(out_); }

 private:
  void open_on_leader() {
    reader_.emplace(path_, group_);
    const io::RaggedInfo& mine = reader_->info();
    const io::RaggedInfo& info = out_.info;
    if (mine.rows != info.rows || mine.n_values != info.n_values || mine.dtype != info.dtype)
      throw InputError(path_ + ": changed while being loaded (rank " +
                       std::to_string(rt_.world_rank()) + " sees " + std::to_string(mine.rows) +
                       " rows and " + std::to_string(mine.n_values) + " values, rank 0 saw " +
                       std::to_string(info.rows) + " and " + std::to_string(info.n_values) + ")");
  }

  /// Whether the node's ranks read the values each a share, straight from the file into their
  /// mappings: in parallel, and each rank maps its share's huge pages as it goes (on 4 KiB pages
  /// that would fault every page in: the leader's sendfile is faster there).
  bool values_read_by_every_rank() const {
    const io::RaggedInfo& info = out_.info;
    return out_.mode_ == ShareMode::window && value_bytes_ > 0 && info.values_contiguous &&
           info.values_native_order && out_.segment_.huge_pages();
  }

  /// This rank's share of the values (the segment splits them between the node's ranks).
  void read_my_share() {
    const FileDescriptor fd = open_values_file();
    out_.segment_.read_share_from_file(fd.get(), out_.info.values_file_offset, out_.values_offset_,
                                       value_bytes_, stop_);
  }

  /// The data file, opened on this rank and checked to hold all the values.
  FileDescriptor open_values_file() const {
    FileDescriptor fd(open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) throw InputError(path_ + ": cannot open: " + std::strerror(errno));
    struct stat st {};
    if (fstat(fd.get(), &st) != 0) throw SystemError(path_ + ": fstat: " + std::strerror(errno));
    const std::uint64_t end = out_.info.values_file_offset + value_bytes_;
    if (static_cast<std::uint64_t>(st.st_size) < end)
      throw InputError(values_name_ + ": file is truncated (values end at byte " +
                       std::to_string(end) + ", the file has " + std::to_string(st.st_size) + ")");
    return fd;
  }

  void fill_on_leader(bool shared_read) {
    if (!reader_) open_on_leader();
    std::byte* base = out_.segment_.writable();
    if (offsets_) {
      out_.segment_.write(0, offsets_.get(), offsets_bytes_);
    } else {  // another node's leader: straight into the segment, its pages mapped in one call
      prefault_writable(base, offsets_bytes_);
      auto* offsets = reinterpret_cast<std::uint64_t*>(base);
      reader_->read_offsets({offsets, static_cast<std::size_t>(out_.info.rows + 1)});
    }
    if (out_.mode_ != ShareMode::window || out_.info.n_values == 0 || shared_read) return;
    const io::RaggedInfo& mine = reader_->info();
    if (mine.values_contiguous && mine.values_native_order) {
      // The bytes on disk are the values: let the kernel copy them into the window.
      FileDescriptor fd(open(path_.c_str(), O_RDONLY | O_CLOEXEC));
      if (fd.get() < 0) throw InputError(path_ + ": cannot open: " + std::strerror(errno));
      out_.segment_.fill_from_file(fd.get(), mine.values_file_offset, out_.values_offset_,
                                   value_bytes_, stop_);
      return;
    }
    // Through HDF5 (chunked, compressed, other byte order): in pieces, so a stop is seen.
    const std::uint64_t piece =
        std::max<std::uint64_t>(1, (std::uint64_t{1} << 26) / dtype_size(out_.info.dtype));
    auto* values = base + out_.values_offset_;
    for (std::uint64_t first = 0; first < out_.info.n_values; first += piece) {
      if (stop_ && stop_->load(std::memory_order_relaxed)) return;
      const std::uint64_t count = std::min(piece, out_.info.n_values - first);
      reader_->read_values(first, count, values + first * dtype_size(out_.info.dtype));
    }
  }

  void map_on_this_rank() {
    const io::RaggedInfo& info = out_.info;
    const FileDescriptor fd = open_values_file();
    const std::uint64_t end = info.values_file_offset + value_bytes_;
    FileMapping m = map_file_read_only(fd.get(), info.values_file_offset, end, values_name_);
    out_.mapping_ = m.base;
    out_.mapping_bytes_ = m.length;
    out_.mapped_values_ =
        static_cast<const std::byte*>(m.base) + (info.values_file_offset - m.start);
    populate(m, static_cast<std::uint64_t>(rt_.node_rank()),
             static_cast<std::uint64_t>(rt_.node_size()), values_name_);
  }

  const transport::Runtime& rt_;
  const std::string& path_;
  const std::string& group_;
  const std::atomic<bool>* stop_;  ///< a signal arrived: the leader stops filling (see header)
  const std::string values_name_;
  std::optional<io::RaggedReader> reader_;    ///< rank 0 and node leaders
  std::unique_ptr<std::uint64_t[]> offsets_;  ///< rank 0's validated copy (rows + 1)
  std::uint64_t offsets_bytes_ = 0, value_bytes_ = 0;
  SharedRagged out_;
};

SharedRagged load_shared_ragged(const transport::Runtime& rt, const std::string& path,
                                const std::string& group, ShareMode mode,
                                const std::atomic<bool>* stop) {
  SharedRaggedLoader loader(rt, path, group, mode, stop);
  loader.check_file();
  loader.allocate();
  loader.fill();
  loader.map_values();
  return loader.take();
}

}  // namespace carlo::engine
