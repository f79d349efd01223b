#include "sched/checkpoint.h"
#include "sched/bytes.h"

#include <carlo/error.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

namespace carlo::sched {
namespace {

constexpr std::uint32_t kRecordMagic = 0x4a4c5243;  // "CRLJ"
enum RecordType : std::uint32_t {
  header = 1,
  assigned = 2,
  accepted = 3,
  released = 4,
  stopped = 5
};
constexpr char kCheckpointMagic[8] = {'C', 'A', 'R', 'L', 'O', 'C', 'K', '1'};

std::string errno_text() { return std::strerror(errno); }

void write_all(int fd, const std::byte* data, std::size_t n, const std::string& path) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw SystemError(path + ": write failed: " + errno_text());
    }
    data += w;
    n -= static_cast<std::size_t>(w);
  }
}

// write_all, but whole blocks of zeros are skipped with lseek, leaving a hole that reads back as
// zeros: the same file contents, but zeros cost neither the copy into the page cache nor the
// fsync to disk (docs/benchmarks.md, "walk end to end"). A fresh run's checkpoint of empty
// tallies (32 MiB of zeros for a 4 M-bin tally) is all holes, from no memory at all (TallyWords
// without data). The checksum written after the payload ends the file.
constexpr std::size_t kBlock = std::size_t{64} << 10;
const std::byte kZeros[kBlock] = {};

bool is_zero_block(const std::byte* p, std::size_t len) {
  return len == kBlock && std::memcmp(p, kZeros, kBlock) == 0;
}

// fnv1a(bytes, h), with a whole block of zeros hashed by one multiply: a zero byte only
// multiplies h by the FNV prime, so a block multiplies it by prime^kBlock (mod 2^64).
std::uint64_t fnv1a_skipping_zeros(std::span<const std::byte> bytes, std::uint64_t h) {
  static const std::uint64_t block_factor = [] {
    std::uint64_t f = 1;
    for (std::size_t i = 0; i < kBlock; ++i) f *= 0x100000001b3ULL;
    return f;
  }();
  for (std::size_t i = 0; i < bytes.size(); i += kBlock) {
    const std::size_t len = std::min(kBlock, bytes.size() - i);
    if (is_zero_block(bytes.data() + i, len)) h *= block_factor;
    else h = fnv1a(bytes.subspan(i, len), h);
  }
  return h;
}

// fnv1a of `n` zero bytes from h: h * prime^n (mod 2^64), by squaring.
std::uint64_t fnv1a_zeros(std::uint64_t n, std::uint64_t h) {
  std::uint64_t factor = 0x100000001b3ULL;
  for (; n > 0; n >>= 1, factor *= factor)
    if (n & 1) h *= factor;
  return h;
}

void skip_bytes(int fd, std::uint64_t n, const std::string& path) {
  if (n > 0 && ::lseek(fd, static_cast<off_t>(n), SEEK_CUR) < 0)
    throw SystemError(path + ": seek failed: " + errno_text());
}

void write_skipping_zeros(int fd, const std::byte* data, std::size_t n, const std::string& path) {
  std::size_t i = 0;
  while (i < n) {
    const std::size_t len = std::min(kBlock, n - i);
    if (is_zero_block(data + i, len)) skip_bytes(fd, len, path);
    else write_all(fd, data + i, len, path);
    i += len;
  }
}

}  // namespace

JournalWriter::JournalWriter(const std::string& path, const std::string& fingerprint,
                             std::uint32_t n_obs)
    : path_(path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw InputError(path + ": cannot create journal: " + errno_text());
  ByteWriter w;
  w.put_string(fingerprint);
  w.put(n_obs);
  record(header, w.take());
}

JournalWriter::~JournalWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void JournalWriter::record(std::uint32_t type, const std::vector<std::byte>& payload) {
  ByteWriter w;
  w.put(kRecordMagic);
  w.put(type);
  w.put<std::uint64_t>(payload.size());
  auto head = w.take();
  const std::uint64_t sum = fnv1a(payload);
  // One write per record where possible; a torn record is detected by its checksum.
  std::vector<std::byte> all;
  all.reserve(head.size() + payload.size() + sizeof sum);
  all.insert(all.end(), head.begin(), head.end());
  all.insert(all.end(), payload.begin(), payload.end());
  const auto* s = reinterpret_cast<const std::byte*>(&sum);
  all.insert(all.end(), s, s + sizeof sum);
  write_all(fd_, all.data(), all.size(), path_);
  offset_ += all.size();
}

void JournalWriter::assign(int worker, const Batch& b) {
  ByteWriter w;
  w.put<std::int32_t>(worker);
  w.put(b.id);
  w.put_array(std::span<const TaskRange>(b.ranges));
  record(assigned, w.take());
}

void JournalWriter::result(const JournalResult& r) {
  ByteWriter w;
  w.put<std::int32_t>(r.worker);
  w.put(r.batch_id);
  w.put(r.batch_end);
  w.put<std::uint64_t>(r.pieces.size());
  for (const auto& p : r.pieces) {
    w.put(p.first);
    w.put(p.count);
    w.put_array(std::span<const double>(p.values));
  }
  w.put<std::uint64_t>(r.attempts.size());
  for (const auto& [t, a] : r.attempts) {
    w.put(t);
    w.put(a);
  }
  w.put<std::uint64_t>(r.failures.size());
  for (const auto& f : r.failures) {
    w.put(f.task);
    w.put(f.attempts);
    w.put_string(f.message);
  }
  record(accepted, w.take());
}

void JournalWriter::clean_stop() { record(stopped, {}); }

void JournalWriter::rename_to(const std::string& path) {
  if (std::rename(path_.c_str(), path.c_str()) != 0)
    throw SystemError(path_ + ": cannot rename to " + path + ": " + errno_text());
  path_ = path;
}

namespace {

/// The next record of a journal, or nullopt at its end or at a torn or garbled record (everything
/// before it stands). `left` is the number of bytes from the record's start to the end of the file:
/// a length past it is a torn record, and is never allocated (a garbled length can say 2^40).
std::optional<std::pair<std::uint32_t, std::vector<std::byte>>> read_record(std::istream& in,
                                                                            std::uint64_t left) {
  std::uint32_t magic = 0, type = 0;
  std::uint64_t len = 0;
  if (!in.read(reinterpret_cast<char*>(&magic), 4) || !in.read(reinterpret_cast<char*>(&type), 4) ||
      !in.read(reinterpret_cast<char*>(&len), 8))
    return std::nullopt;
  if (magic != kRecordMagic || left < 24 || len > left - 24) return std::nullopt;
  std::vector<std::byte> payload(static_cast<std::size_t>(len));
  std::uint64_t sum = 0;
  if (!in.read(reinterpret_cast<char*>(payload.data()), static_cast<std::streamsize>(len)) ||
      !in.read(reinterpret_cast<char*>(&sum), 8) || sum != fnv1a(payload))
    return std::nullopt;
  return std::make_pair(type, std::move(payload));
}

/// The rest of an `accepted` record after worker and batch id (JournalWriter::result).
void read_accepted(ByteReader& r, JournalResult& res) {
  res.batch_end = r.get<std::uint64_t>();
  const auto np = r.get<std::uint64_t>();
  for (std::uint64_t i = 0; i < np; ++i) {
    JournalResult::Piece p;
    p.first = r.get<std::uint64_t>();
    p.count = r.get<std::uint64_t>();
    p.values = r.get_array<double>();
    res.pieces.push_back(std::move(p));
  }
  const auto na = r.get<std::uint64_t>();
  for (std::uint64_t i = 0; i < na; ++i) {
    const auto t = r.get<std::uint64_t>();
    res.attempts.emplace_back(t, r.get<std::uint32_t>());
  }
  const auto nf = r.get<std::uint64_t>();
  for (std::uint64_t i = 0; i < nf; ++i) {
    JournalResult::Fail f;
    f.task = r.get<std::uint64_t>();
    f.attempts = r.get<std::uint32_t>();
    f.message = r.get_string();
    res.failures.push_back(std::move(f));
  }
}

}  // namespace

JournalContents read_journal(
    const std::string& path,
    const std::function<void(const JournalResult&, std::uint64_t)>& on_result) {
  std::ifstream in(path, std::ios::binary);
  std::error_code ec;
  const std::uint64_t size = std::filesystem::file_size(path, ec);
  if (!in || ec) throw InputError(path + ": cannot read journal");
  JournalContents c;
  std::map<int, std::deque<Batch>> held;
  std::uint64_t offset = 0;
  bool first = true;
  while (auto rec = read_record(in, size - offset)) {
    const auto& [type, payload] = *rec;
    const std::uint64_t end = offset + 16 + payload.size() + 8;
    // Its checksum holds, so a record that does not parse is not torn: another version's journal
    // or damage the checksum missed. Refuse it rather than resume from a guess.
    ByteReader r(payload, path + ": journal record at byte " + std::to_string(offset),
                 ByteReader::Source::file);
    if (first) {
      if (type != header) throw InputError(path + ": not a carlo journal");
      c.fingerprint = r.get_string();
      c.n_obs = r.get<std::uint32_t>();
      first = false;
    } else if (type == assigned) {
      Batch b;
      const int w = r.get<std::int32_t>();
      b.id = r.get<std::uint64_t>();
      b.ranges = r.get_array<TaskRange>();
      c.max_batch_id = std::max(c.max_batch_id, b.id);
      held[w].push_back(std::move(b));
      c.clean_stop = false;
    } else if (type == accepted || type == released) {
      JournalResult res;
      res.worker = r.get<std::int32_t>();
      res.batch_id = r.get<std::uint64_t>();
      auto& q = held[res.worker];
      q.erase(
          std::remove_if(q.begin(), q.end(), [&](const Batch& b) { return b.id == res.batch_id; }),
          q.end());
      if (type == accepted) {
        read_accepted(r, res);
        if (on_result) on_result(res, end);
      }
    } else if (type == stopped) {
      c.clean_stop = true;
      held.clear();
    } else {
      break;
    }
    offset = end;
  }
  if (first) throw InputError(path + ": not a carlo journal (no header)");
  c.valid_bytes = offset;
  if (!c.clean_stop)
    for (auto& [w, q] : held)
      if (!q.empty()) c.in_flight[w] = std::vector<Batch>(q.begin(), q.end());
  return c;
}

void JournalWriter::release(int worker, std::uint64_t batch_id) {
  ByteWriter w;
  w.put<std::int32_t>(worker);
  w.put(batch_id);
  record(released, w.take());
}

void write_checkpoint(const std::string& path, const Checkpoint& c) {
  std::vector<TallyWords> tallies;
  for (const auto& t : c.tallies) tallies.push_back({t.data(), t.size()});
  write_checkpoint(path, c, tallies);
}

void write_checkpoint(const std::string& path, const Checkpoint& c,
                      const std::vector<TallyWords>& tallies) {
  // The payload is head, then each tally as (length, bins), then tail, as ByteWriter lays out
  // put_array; the bins are written and hashed from the tallies' own memory, without a copy.
  ByteWriter head;
  head.put_string(c.fingerprint);
  head.put(c.journal_offset);
  head.put(c.horizon);
  head.put(c.runs);
  head.put<std::uint64_t>(tallies.size());
  ByteWriter tail;
  tail.put<std::uint64_t>(c.crash_counts.size());
  for (const auto& [t, n] : c.crash_counts) {
    tail.put(t);
    tail.put(n);
  }
  const auto head_bytes = head.take();
  const auto tail_bytes = tail.take();
  std::uint64_t len = head_bytes.size() + tail_bytes.size();
  std::uint64_t sum = fnv1a(head_bytes);
  // Bytes of tally t's bins: a null tally is zeros, hashed and left as a hole without existing.
  auto bin_bytes = [](const TallyWords& t) {
    return std::span(reinterpret_cast<const std::byte*>(t.data), t.size * sizeof(std::uint64_t));
  };
  for (const auto& t : tallies) {
    const std::uint64_t n = t.size;
    len += sizeof n + n * sizeof(std::uint64_t);
    sum = fnv1a(std::as_bytes(std::span(&n, 1)), sum);
    sum = t.data ? fnv1a_skipping_zeros(bin_bytes(t), sum)
                 : fnv1a_zeros(n * sizeof(std::uint64_t), sum);
  }
  sum = fnv1a(tail_bytes, sum);

  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw SystemError(tmp + ": cannot create checkpoint: " + errno_text());
  try {
    write_all(fd, reinterpret_cast<const std::byte*>(kCheckpointMagic), sizeof kCheckpointMagic,
              tmp);
    write_all(fd, reinterpret_cast<const std::byte*>(&len), sizeof len, tmp);
    write_all(fd, head_bytes.data(), head_bytes.size(), tmp);
    for (const auto& t : tallies) {
      const std::uint64_t n = t.size;
      write_all(fd, reinterpret_cast<const std::byte*>(&n), sizeof n, tmp);
      if (!t.data) skip_bytes(fd, n * sizeof(std::uint64_t), tmp);
      else write_skipping_zeros(fd, bin_bytes(t).data(), bin_bytes(t).size(), tmp);
    }
    write_all(fd, tail_bytes.data(), tail_bytes.size(), tmp);
    write_all(fd, reinterpret_cast<const std::byte*>(&sum), sizeof sum, tmp);
    if (::fsync(fd) != 0) throw SystemError(tmp + ": fsync failed: " + errno_text());
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  // Testing aid (docs/testing.md): widen the window between writing and publishing a checkpoint
  // so the kill tests can land a SIGKILL inside it.
  if (const char* pause = std::getenv("CARLO_TEST_CHECKPOINT_PAUSE_MS"))
    std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(pause)));
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw SystemError(path + ": cannot replace checkpoint: " + errno_text());
  sync_directory_of(path);
}

void sync_directory_of(const std::string& path) noexcept {
  const auto dir = std::filesystem::path(path).parent_path();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

Checkpoint read_checkpoint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::error_code ec;
  const std::uint64_t size = std::filesystem::file_size(path, ec);
  if (!in || ec) throw InputError(path + ": cannot read checkpoint");
  char magic[8];
  std::uint64_t len = 0;
  if (!in.read(magic, 8) || std::memcmp(magic, kCheckpointMagic, 8) != 0 ||
      !in.read(reinterpret_cast<char*>(&len), 8))
    throw InputError(path + ": not a carlo checkpoint");
  // Checked before allocating: a damaged length can say 2^40 bytes.
  if (size < 24 || len > size - 24)
    throw InputError(path + ": checkpoint is damaged (payload of " + std::to_string(len) +
                     " bytes, the file has " + std::to_string(size) + ")");
  std::vector<std::byte> payload(static_cast<std::size_t>(len));
  std::uint64_t sum = 0;
  if (!in.read(reinterpret_cast<char*>(payload.data()), static_cast<std::streamsize>(len)) ||
      !in.read(reinterpret_cast<char*>(&sum), 8) || sum != fnv1a(payload))
    throw InputError(path + ": checkpoint is damaged (checksum mismatch)");
  ByteReader r(payload, path + ": checkpoint", ByteReader::Source::file);
  Checkpoint c;
  c.fingerprint = r.get_string();
  c.journal_offset = r.get<std::uint64_t>();
  c.horizon = r.get<std::uint64_t>();
  c.runs = r.get<std::uint32_t>();
  const auto nt = r.get<std::uint64_t>();
  for (std::uint64_t i = 0; i < nt; ++i) c.tallies.push_back(r.get_array<std::uint64_t>());
  const auto nc = r.get<std::uint64_t>();
  for (std::uint64_t i = 0; i < nc; ++i) {
    const auto t = r.get<std::uint64_t>();
    c.crash_counts[t] = r.get<std::uint32_t>();
  }
  r.done();
  return c;
}

}  // namespace carlo::sched
