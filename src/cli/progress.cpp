#include "cli/progress.h"

#include <carlo/units.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace carlo::cli {

Progress::Progress(bool quiet, double every)
    : quiet_(quiet), tty_(isatty(STDERR_FILENO) == 1), every_(every) {}

std::uint64_t node_memory_used() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::uint64_t value = 0, total = 0, available = 0;
  std::string unit;
  while (in >> key >> value >> unit) {
    if (key == "MemTotal:") total = value * 1024;
    else if (key == "MemAvailable:") available = value * 1024;
  }
  return total > available ? total - available : 0;
}

namespace {
std::string duration(double s) {
  char buf[32];
  if (!(s >= 0) || s > 1e8) return "?";
  const auto t = static_cast<long long>(s + 0.5);
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%lldh%02lldm", t / 3600, (t / 60) % 60);
  else if (t >= 60) std::snprintf(buf, sizeof buf, "%lldm%02llds", t / 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%.1fs", s);
  return buf;
}
}  // namespace

std::string Progress::line(const ProgressState& s) const {
  const std::uint64_t resolved = s.done + s.failed;
  const double frac = s.total ? static_cast<double>(resolved) / static_cast<double>(s.total) : 1.0;
  const double rate = s.seconds > 0 ? static_cast<double>(resolved) / s.seconds : 0;
  const double eta = rate > 0 ? static_cast<double>(s.total - resolved) / rate : -1;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "%llu/%llu tasks (%.1f%%)  %.4g tasks/s  elapsed %s  ETA %s  retries %llu  failed "
                "%llu  node mem %s",
                static_cast<unsigned long long>(resolved), static_cast<unsigned long long>(s.total),
                100 * frac, rate, duration(s.seconds).c_str(),
                eta < 0 ? "?" : duration(eta).c_str(), static_cast<unsigned long long>(s.retries),
                static_cast<unsigned long long>(s.failed),
                format_bytes(node_memory_used()).c_str());
  if (!tty_) return buf;
  const int width = 24;
  const int filled = static_cast<int>(frac * width);
  std::string bar = "[" + std::string(static_cast<std::size_t>(filled), '#') +
                    std::string(static_cast<std::size_t>(width - filled), '.') + "] ";
  return bar + buf;
}

void Progress::update(const ProgressState& s) {
  if (quiet_) return;
  if (tty_) {
    if (last_ >= 0 && s.seconds - last_ < 0.2) return;
    last_ = s.seconds;
    std::fprintf(stderr, "\r%s\033[K", line(s).c_str());
    drawn_ = true;
  } else {
    if (last_ >= 0 && s.seconds - last_ < every_) return;
    if (last_ < 0 && s.seconds < every_) return;  // first line after one interval
    last_ = s.seconds;
    std::fprintf(stderr, "carlo: %s\n", line(s).c_str());
  }
  std::fflush(stderr);
}

void Progress::end_bar() {
  if (quiet_ || !tty_ || !drawn_) return;
  std::fputs("\n", stderr);
  drawn_ = false;
}

void Progress::finish(const ProgressState& s, const std::string& closing) {
  if (quiet_) return;
  if (tty_ && drawn_) std::fprintf(stderr, "\r%s\033[K\n", line(s).c_str());
  std::fprintf(stderr, "carlo: %s\n", closing.c_str());
  std::fflush(stderr);
}

}  // namespace carlo::cli
