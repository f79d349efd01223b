// `carlo info RESULTS.h5` (src/report/render.h): what a results file records (DESIGN §3), shorter
// than `carlo report`. A file that is not complete says so in its first line, so nobody mistakes a
// partial run for a finished one.
#include "report/format.h"
#include "report/render.h"

#include <carlo/units.h>

#include <string>

namespace carlo::report {

namespace {

constexpr std::size_t kInfoFailuresShown = 5;

std::string info_u64(std::uint64_t v) { return std::to_string(v); }

void provenance(std::string& out, const io::ResultsInfo& info) {
  const io::RunMeta& m = info.meta;
  if (m.simulation.empty())  // provenance is written when the run finishes
    out += "  simulation  (not recorded: the run did not finish)\n";
  else appendf(out, "  simulation  %s, seed %s\n", m.simulation.c_str(), info_u64(m.seed).c_str());
  appendf(out, "  tasks       %s: %s done, %s failed, %s pending\n", info_u64(m.tasks).c_str(),
          info_u64(info.done).c_str(), info_u64(info.failed).c_str(),
          info_u64(info.pending).c_str());
  if (m.ranks > 0)
    appendf(out, "  ranks       %d on %d node%s\n", m.ranks, m.nodes, m.nodes == 1 ? "" : "s");
  if (!m.start_time.empty())
    appendf(out, "  time        %s to %s, %s s wall, %s tasks/s\n", m.start_time.c_str(),
            m.end_time.c_str(), format_g(m.wall_seconds).c_str(),
            format_g(m.tasks_per_second).c_str());
  if (m.data_path.empty()) {
    out += "  data        none\n";
  } else {
    appendf(out, "  data        %s (%s, mtime %lld%s%s)\n", m.data_path.c_str(),
            format_bytes(m.data_size).c_str(), static_cast<long long>(m.data_mtime),
            m.data_checksum.empty() ? "" : ", checksum ", m.data_checksum.c_str());
  }
  appendf(out, "  carlo       %s\n", m.carlo_version.c_str());
  if (!m.options.empty()) out += format_options(m.options, "  options    ");
}

void observations(std::string& out, const ResultsView& v) {
  if (v.observations.empty()) return;
  appendf(out, "observations%s\n",
          v.info.summaries.empty() ? " (no summaries: run not finished)" : "");
  for (const ObservationView& o : v.observations) {
    if (o.source != SummarySource::file) {  // info shows stored summaries only
      appendf(out, "  %s\n", o.name.c_str());
      continue;
    }
    const io::Summary& s = o.summary;
    appendf(out, "  %s  n=%s  mean %s ± %s (stderr)  sd %s\n", o.name.c_str(),
            info_u64(s.count).c_str(), format_g(s.mean).c_str(), format_g(s.stderr_).c_str(),
            format_g(s.sd).c_str());
    appendf(out, "  %*s  min %s  p2.5 %s  p50 %s  p97.5 %s  max %s\n",
            static_cast<int>(o.name.size()), "", format_g(s.min).c_str(), format_g(s.p2_5).c_str(),
            format_g(s.p50).c_str(), format_g(s.p97_5).c_str(), format_g(s.max).c_str());
  }
}

void failures(std::string& out, const io::ResultsInfo& info) {
  if (info.failures.empty()) return;
  appendf(out, "failures (%zu, all in /failures)\n", info.failures.size());
  for (std::size_t i = 0; i < info.failures.size() && i < kInfoFailuresShown; ++i) {
    const io::Failure& f = info.failures[i];
    appendf(out, "  task %s after %u attempt%s: %s\n", info_u64(f.task).c_str(), f.attempts,
            f.attempts == 1 ? "" : "s", short_message(f.message).c_str());
  }
  if (info.failures.size() > kInfoFailuresShown)
    appendf(out, "  ... and %zu more\n", info.failures.size() - kInfoFailuresShown);
}

}  // namespace

std::string render_info(const ResultsView& v) {
  std::string out;
  appendf(out, "%s: carlo results, %s\n", v.info.path.c_str(), v.state.info_line.c_str());
  provenance(out, v.info);
  observations(out, v);
  if (!v.tallies.empty()) {
    out += "tallies\n";
    for (const TallyView& t : v.tallies)
      if (t.real)
        appendf(out, "  %s  length %s, real, sum %.17g\n", t.name.c_str(),
                info_u64(t.length).c_str(), t.sum);
      else
        appendf(out, "  %s  length %s, total %s\n", t.name.c_str(), info_u64(t.length).c_str(),
                info_u64(t.total).c_str());
  }
  failures(out, v.info);
  return out;
}

}  // namespace carlo::report
