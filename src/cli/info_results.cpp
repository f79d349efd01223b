// carlo info RESULTS.h5: what a results file records (DESIGN §3). A file that is not complete
// says so in its first line, so nobody mistakes a partial run for a finished one.
#include "cli/cli.h"
#include "io/results_file.h"
#include "io/results_internal.h"

#include <carlo/units.h>

#include <cmath>
#include <cstdio>
#include <string>

namespace carlo::cli {

namespace {

constexpr std::size_t kFailuresShown = 5;
constexpr std::size_t kMessageChars = 160;

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string u64(std::uint64_t v) { return std::to_string(v); }

std::string state_line(const io::ResultsInfo& info) {
  if (info.state == "complete") return "complete";
  if (info.state == "partial")
    return "PARTIAL - the run stopped before every task was done (carlo run --resume continues it)";
  if (info.state == "running")
    return "RUNNING - still being written, or the run died before finishing; not a complete result";
  return "UNKNOWN STATE '" + info.state + "' - not a complete result";
}

}  // namespace

// The first line of a message, shortened at a UTF-8 character boundary.
std::string short_message(const std::string& message) {
  const std::size_t newline = message.find('\n');
  std::string line = message.substr(0, newline);
  bool cut = newline != std::string::npos;
  if (line.size() > kMessageChars) {
    std::size_t end = kMessageChars;
    while (end > 0 && (static_cast<unsigned char>(line[end]) & 0xC0) == 0x80) --end;
    line.resize(end);
    cut = true;
  }
  return cut ? line + " ..." : line;
}

int describe_results_file(const std::string& path) {
  const io::ResultsInfo info = io::read_results_info(path);
  const io::RunMeta& m = info.meta;

  std::printf("%s: carlo results, %s\n", path.c_str(), state_line(info).c_str());
  if (m.simulation.empty())  // provenance is written when the run finishes
    std::printf("  simulation  (not recorded: the run did not finish)\n");
  else std::printf("  simulation  %s, seed %s\n", m.simulation.c_str(), u64(m.seed).c_str());
  std::printf("  tasks       %s: %s done, %s failed, %s pending\n", u64(m.tasks).c_str(),
              u64(info.done).c_str(), u64(info.failed).c_str(), u64(info.pending).c_str());
  if (m.ranks > 0)
    std::printf("  ranks       %d on %d node%s\n", m.ranks, m.nodes, m.nodes == 1 ? "" : "s");
  if (!m.start_time.empty())
    std::printf("  time        %s to %s, %s s wall, %s tasks/s\n", m.start_time.c_str(),
                m.end_time.c_str(), num(m.wall_seconds).c_str(), num(m.tasks_per_second).c_str());
  if (m.data_path.empty()) {
    std::printf("  data        none\n");
  } else {
    std::printf("  data        %s (%s, mtime %lld%s%s)\n", m.data_path.c_str(),
                format_bytes(m.data_size).c_str(), static_cast<long long>(m.data_mtime),
                m.data_checksum.empty() ? "" : ", checksum ", m.data_checksum.c_str());
  }
  std::printf("  carlo       %s\n", m.carlo_version.c_str());
  if (!m.options.empty()) {
    // Wrapped at 100 columns, continuation lines aligned under the first option.
    std::string line = "  options    ";
    const std::size_t indent = line.size();
    for (const auto& [name, value] : m.options) {
      const std::string item = " " + name + "=" + value;
      if (line.size() > indent && line.size() + item.size() > 100) {
        std::printf("%s\n", line.c_str());
        line.assign(indent, ' ');
      }
      line += item;
    }
    std::printf("%s\n", line.c_str());
  }

  if (!info.observation_names.empty()) {
    std::printf("observations%s\n",
                info.summaries.empty() ? " (no summaries: run not finished)" : "");
    for (std::size_t k = 0; k < info.observation_names.size(); ++k) {
      const std::string& name = info.observation_names[k];
      if (info.summaries.empty()) {
        std::printf("  %s\n", name.c_str());
        continue;
      }
      const io::Summary& s = info.summaries[k];
      std::printf("  %s  n=%s  mean %s ± %s (stderr)  sd %s\n", name.c_str(), u64(s.count).c_str(),
                  num(s.mean).c_str(), num(s.stderr_).c_str(), num(s.sd).c_str());
      std::printf("  %*s  min %s  p2.5 %s  p50 %s  p97.5 %s  max %s\n",
                  static_cast<int>(name.size()), "", num(s.min).c_str(), num(s.p2_5).c_str(),
                  num(s.p50).c_str(), num(s.p97_5).c_str(), num(s.max).c_str());
    }
  }

  if (!info.tallies.empty()) {
    std::printf("tallies\n");
    for (const auto& t : info.tallies)
      std::printf("  %s  length %s, total %s\n", t.name.c_str(), u64(t.length).c_str(),
                  u64(io::detail::tally_total(path, t.name)).c_str());
  }

  if (!info.failures.empty()) {
    std::printf("failures (%zu, all in /failures)\n", info.failures.size());
    for (std::size_t i = 0; i < info.failures.size() && i < kFailuresShown; ++i) {
      const io::Failure& f = info.failures[i];
      std::printf("  task %s after %u attempt%s: %s\n", u64(f.task).c_str(), f.attempts,
                  f.attempts == 1 ? "" : "s", short_message(f.message).c_str());
    }
    if (info.failures.size() > kFailuresShown)
      std::printf("  ... and %zu more\n", info.failures.size() - kFailuresShown);
  }
  return 0;
}

}  // namespace carlo::cli
