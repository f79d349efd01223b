#pragma once
/// \file
/// One run owns its output set (DESIGN §8): the results file, its journal and its checkpoint.
/// The lock is an open-file-description lock (fcntl F_OFD_SETLK) on OUT.h5.lock, which names
/// its holder (host, pid). The kernel releases it when the holding process dies however it dies
/// (kill -9, a node's job killed by Slurm), so a requeued job on the same path takes it again;
/// a stale lock file left by a dead run is simply taken over.
#include <string>

namespace carlo::engine {

class OutputLock {
 public:
  /// Takes the lock for `output`'s set before anything of it is read or written. Throws
  /// InputError naming the holder ("... is in use by carlo run pid 123 on host n01 since ...")
  /// if another process holds it, or naming the lock file if it cannot be created.
  explicit OutputLock(const std::string& output);
  /// Releases the lock and removes the lock file.
  ~OutputLock();
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;

  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace carlo::engine
