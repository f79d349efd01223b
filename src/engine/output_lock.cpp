#include "engine/output_lock.h"

#include <carlo/error.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <string>

namespace carlo::engine {
namespace {

/// F_OFD_SETLK on the whole file: owned by the open file description, not the process, so a
/// second lock from the same process (a test, a library) conflicts too.
bool try_lock(int fd) {
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  return fcntl(fd, F_OFD_SETLK, &fl) == 0;
}

std::string read_all(int fd) {
  std::string text(512, '\0');
  const ssize_t n = pread(fd, text.data(), text.size(), 0);
  text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) text.pop_back();
  return text;
}

std::string holder_text() {
  char host[256] = "unknown";
  gethostname(host, sizeof host - 1);
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return "carlo run pid " + std::to_string(getpid()) + " on host " + host + " since " + when;
}

/// The lock file `fd` holds is still the one at `path` (not unlinked by a run that finished
/// between our open and our lock).
bool still_linked(int fd, const std::string& path) {
  struct stat a {
  }, b{};
  return fstat(fd, &a) == 0 && stat(path.c_str(), &b) == 0 && a.st_ino == b.st_ino &&
         a.st_dev == b.st_dev;
}

}  // namespace

OutputLock::OutputLock(const std::string& output) : path_(output + ".lock") {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int fd = open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
      throw InputError(path_ + ": cannot create the output's lock file: " + std::strerror(errno));
    if (!try_lock(fd)) {
      const int error = errno;
      std::string holder = read_all(fd);
      close(fd);
      if (error != EAGAIN && error != EACCES)
        throw InputError(path_ + ": cannot lock: " + std::strerror(error));
      if (holder.empty()) holder = "another carlo run (starting)";
      throw InputError(output + " is in use by " + holder + " (its lock is " + path_ +
                       "); wait for it to end, or choose another -o");
    }
    if (!still_linked(fd, path_)) {  // the previous holder removed it meanwhile: start over
      close(fd);
      continue;
    }
    const std::string text = holder_text() + "\n";
    if (ftruncate(fd, 0) != 0 || pwrite(fd, text.data(), text.size(), 0) < 0) {
      // The lock holds without its text; the holder line of a refusal then says "starting".
    }
    fd_ = fd;
    return;
  }
  throw InputError(path_ + ": cannot lock: the lock file keeps being replaced");
}

OutputLock::~OutputLock() {
  if (fd_ < 0) return;
  // Unlink while still holding the lock: a process that opened the old file finds it unlinked
  // after locking it and starts over on a fresh one.
  unlink(path_.c_str());
  close(fd_);
}

}  // namespace carlo::engine
