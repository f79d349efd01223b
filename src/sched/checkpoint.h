#pragma once
/// \file
/// What rank 0 persists so that no completed task is lost (issue: survive the cluster).
///
/// - The **journal** (`OUT.h5.journal`) is an append-only log of plain `write()`s: which batch went
///   to which worker, and every accepted result with its observations, final failures and retry
///   counts. Each record carries a checksum; a `kill -9` can only leave a torn last record, which
///   the reader ignores.
/// - The **checkpoint** (`OUT.h5.ckpt`) is small and replaced atomically (write, fsync, rename):
/// the
///   run's fingerprint, the journal length it covers, the tallies summed over exactly the results
///   before that point, and the crash counts of suspect tasks. A crash while writing it leaves the
///   previous one intact.
/// Neither file involves MPI or HDF5.

#include "sched/batch.h"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace carlo::sched {

/// One accepted result as the journal keeps it.
struct JournalResult {
  int worker = 0;
  std::uint64_t batch_id = 0;
  std::uint64_t batch_end = 0;  ///< highest task id + 1 in the batch
  struct Piece {
    std::uint64_t first = 0, count = 0;
    std::vector<double> values;  ///< observation-major, n_obs * count
  };
  std::vector<Piece> pieces;
  std::vector<std::pair<std::uint64_t, std::uint32_t>>
      attempts;  ///< tasks done or failed on a retry
  struct Fail {
    std::uint64_t task = 0;
    std::uint32_t attempts = 0;
    std::string message;
  };
  std::vector<Fail> failures;  ///< final failures
};

class JournalWriter {
 public:
  /// Creates (truncates) the journal and writes its header.
  JournalWriter(const std::string& path, const std::string& fingerprint, std::uint32_t n_obs);
  ~JournalWriter();
  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;

  void assign(int worker, const Batch& b);
  void result(const JournalResult& r);
  /// Worker `worker` no longer holds batch `batch_id` without an accepted result (cancelled, or a
  /// duplicate that lost the race).
  void release(int worker, std::uint64_t batch_id);
  /// The run stopped cleanly (interrupt or end): nothing was in flight.
  void clean_stop();
  std::uint64_t offset() const noexcept { return offset_; }
  /// Renames the journal file (atomically replacing `path`); writing continues.
  void rename_to(const std::string& path);
  const std::string& path() const noexcept { return path_; }

 private:
  void record(std::uint32_t type, const std::vector<std::byte>& payload);
  std::string path_;
  int fd_ = -1;
  std::uint64_t offset_ = 0;
};

/// What a journal says, up to its first torn or corrupt record.
struct JournalContents {
  std::string fingerprint;
  std::uint32_t n_obs = 0;
  /// Batches each worker held when the journal ends (front first), unless it ended cleanly.
  std::map<int, std::vector<Batch>> in_flight;
  bool clean_stop = false;
  std::uint64_t max_batch_id = 0;
  std::uint64_t valid_bytes = 0;
};

/// Reads a journal, handing each accepted result (with the journal offset just past it) to
/// `on_result` in journal order; throws InputError naming the file if it is not a journal.
JournalContents read_journal(
    const std::string& path,
    const std::function<void(const JournalResult&, std::uint64_t end_offset)>& on_result);

struct Checkpoint {
  std::string fingerprint;
  std::uint64_t journal_offset = 0;    ///< results before this are covered
  std::uint64_t horizon = UINT64_MAX;  ///< with a stderr target: only batches ending at or below it
  std::vector<std::vector<std::uint64_t>> tallies;  ///< summed over the covered results
  std::map<std::uint64_t, std::uint32_t>
      crash_counts;        ///< suspect task -> runs it was in flight in a crash
  std::uint32_t runs = 0;  ///< how many runs (first + resumes) have started
};

/// Makes renames in `path`'s directory durable (fsync of the directory; best effort: a file
/// system that cannot sync a directory, e.g. some network ones, is left as it is).
void sync_directory_of(const std::string& path) noexcept;

/// Writes `c` to `path` atomically: a temporary file, fsync, rename, fsync of the directory.
void write_checkpoint(const std::string& path, const Checkpoint& c);

/// One tally's bins as write_checkpoint reads them: `size` words at `data`, or, where `data` is
/// null, `size` zeros that exist nowhere in memory (a fresh run's first checkpoint).
struct TallyWords {
  const std::uint64_t* data = nullptr;
  std::uint64_t size = 0;
};
/// The same file as write_checkpoint(path, c) with `tallies` in place of `c.tallies` (ignored):
/// bins read where they are (the node's shared bins), or zeros never materialised.
void write_checkpoint(const std::string& path, const Checkpoint& c,
                      const std::vector<TallyWords>& tallies);
/// Reads a checkpoint; throws InputError naming the file if it is damaged.
Checkpoint read_checkpoint(const std::string& path);

}  // namespace carlo::sched
