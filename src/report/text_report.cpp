// `carlo report`'s text (src/report/render.h): for people, so figures are rounded to what they
// mean (an estimate to the digits its interval supports); --json carries every digit.
#include "report/format.h"
#include "report/render.h"

#include <carlo/units.h>

#include <algorithm>
#include <string>

namespace carlo::report {

namespace {

constexpr std::size_t kFailuresShown = 5;
constexpr std::size_t kRanksListed = 16;

std::string u64(std::uint64_t v) { return std::to_string(v); }

void run_section(std::string& out, const io::ResultsInfo& info) {
  const io::RunMeta& m = info.meta;
  out += "\nrun\n";
  appendf(out, "  simulation  %s\n",
          m.simulation.empty() ? "(not recorded: the run did not finish)" : m.simulation.c_str());
  appendf(out, "  carlo       %s\n", m.carlo_version.c_str());
  if (!m.simulation.empty()) appendf(out, "  seed        %s\n", u64(m.seed).c_str());
  if (m.data_path.empty()) {
    appendf(out, "  data        %s\n", m.simulation.empty() ? "(not recorded)" : "none");
  } else {
    appendf(out, "  data        %s\n", m.data_path.c_str());
    appendf(out, "              %s (%s bytes), modified %s%s%s\n",
            format_bytes(m.data_size).c_str(), u64(m.data_size).c_str(),
            format_utc(m.data_mtime).c_str(), m.data_checksum.empty() ? "" : ", fingerprint ",
            m.data_checksum.c_str());
  }
  appendf(out, "  tasks       %s: %s done, %s failed, %s pending\n", u64(m.tasks).c_str(),
          u64(info.done).c_str(), u64(info.failed).c_str(), u64(info.pending).c_str());
  if (m.ranks > 0)
    appendf(out, "  ranks       %d on %s\n", m.ranks,
            plural(static_cast<std::uint64_t>(std::max(m.nodes, 0)), "node").c_str());
  if (!m.start_time.empty())
    appendf(out, "  time        %s to %s\n", m.start_time.c_str(), m.end_time.c_str());
  if (m.wall_seconds > 0) {
    appendf(out, "  wall        %s s\n", format_rate(m.wall_seconds).c_str());
    appendf(out, "  throughput  %s tasks/s", format_rate(m.tasks_per_second).c_str());
    if (m.ranks > 0)
      appendf(out, ", %s tasks/s per rank", format_rate(m.tasks_per_second / m.ranks).c_str());
    out += "\n";
  }
}

void load_section(std::string& out, const ResultsView& v) {
  if (v.loads.empty()) {
    out += "  load        no timeline recorded\n";
    return;
  }
  const auto [lo, hi] =
      std::minmax_element(v.loads.begin(), v.loads.end(),
                          [](const RankLoad& a, const RankLoad& b) { return a.tasks < b.tasks; });
  appendf(out, "  load        %s in %s; tasks per rank min %s, max %s\n",
          plural(v.timeline.size(), "batch").c_str(), plural(v.loads.size(), "rank").c_str(),
          u64(lo->tasks).c_str(), u64(hi->tasks).c_str());
  for (std::size_t i = 0; i < v.loads.size() && i < kRanksListed; ++i) {
    const RankLoad& l = v.loads[i];
    appendf(out, "    rank %-4d %s in %s, busy %s s (%s%%), %s tasks/s while busy\n", l.rank,
            plural(l.tasks, "task").c_str(), plural(l.batches, "batch").c_str(),
            format_rate(l.busy_seconds).c_str(),
            v.span_seconds > 0 ? format_rate(100 * l.busy_seconds / v.span_seconds).c_str() : "n/a",
            l.busy_seconds > 0 ? format_rate(static_cast<double>(l.tasks) / l.busy_seconds).c_str()
                               : "n/a");
  }
  if (v.loads.size() > kRanksListed)
    appendf(out, "    ... and %zu more ranks (carlo report --json lists all)\n",
            v.loads.size() - kRanksListed);
}

void observation(std::string& out, const ObservationView& o, std::uint64_t done) {
  const io::Summary& s = o.summary;
  const bool stored = o.source == SummarySource::file;
  appendf(out, "  %s%s\n", o.name.c_str(),
          stored ? "" : "  (provisional: computed from the observations written so far)");
  if (s.count == 0) {
    out += "    no values (no task done)\n";
    return;
  }
  const double half = kZ95 * s.stderr_;
  const auto f = [&](double v) { return format_to_precision_of(v, half); };
  appendf(out, "    estimate    %s ± %s  (95%% interval [%s, %s])\n", f(s.mean).c_str(),
          f(half).c_str(), f(s.mean - half).c_str(), f(s.mean + half).c_str());
  if (stored && s.count < done)  // done tasks that left it NaN are not in it
    appendf(out, "    tasks       %s (%s of the %s done tasks left it unset: NaN)\n",
            u64(s.count).c_str(), u64(done - s.count).c_str(), u64(done).c_str());
  else appendf(out, "    tasks       %s\n", u64(s.count).c_str());
  appendf(out, "    sd          %s   stderr %s\n", format_number(s.sd).c_str(),
          format_number(s.stderr_).c_str());
  appendf(out, "    spread      min %s  p2.5 %s  p50 %s  p97.5 %s  max %s\n",
          format_number(s.min).c_str(), format_number(s.p2_5).c_str(), format_number(s.p50).c_str(),
          format_number(s.p97_5).c_str(), format_number(s.max).c_str());
}

void tally_section(std::string& out, const std::vector<TallyView>& tallies) {
  if (tallies.empty()) return;
  out += "\ntallies\n";
  for (const TallyView& t : tallies) {
    if (t.real) {
      appendf(out, "  %s  length %s, real, sum %.17g, min %.17g, max %.17g, %s nonzero\n",
              t.name.c_str(), u64(t.length).c_str(), t.sum, t.min, t.max, u64(t.nonzero).c_str());
      continue;
    }
    appendf(out, "  %s  length %s, total %s, %s nonzero", t.name.c_str(), u64(t.length).c_str(),
            u64(t.total).c_str(), u64(t.nonzero).c_str());
    if (!t.top.empty()) {
      out += "; largest:";
      for (const auto& [index, count] : t.top)
        appendf(out, " [%s] %s", u64(index).c_str(), u64(count).c_str());
    }
    out += "\n";
  }
}

void failure_section(std::string& out, const io::ResultsInfo& info) {
  if (info.failed == 0 && info.failures.empty()) return;
  appendf(out, "\nfailures (%s after all retries, listed in /failures)\n",
          plural(std::max<std::uint64_t>(info.failed, info.failures.size()), "task").c_str());
  for (std::size_t i = 0; i < info.failures.size() && i < kFailuresShown; ++i) {
    const io::Failure& f = info.failures[i];
    appendf(out, "  task %s after %s: %s\n", u64(f.task).c_str(),
            plural(f.attempts, "attempt").c_str(), short_message(f.message).c_str());
  }
  if (info.failures.size() > kFailuresShown)
    appendf(out, "  ... and %zu more\n", info.failures.size() - kFailuresShown);
}

}  // namespace

std::string render_text(const ResultsView& v, const std::string& plot_path) {
  std::string out;
  appendf(out, "carlo report: %s (%s)\n", v.info.path.c_str(), v.state.word.c_str());
  out += v.state.banner;
  run_section(out, v.info);
  load_section(out, v);
  out += "\nobservations (estimate = mean over done tasks; 95% interval = mean ± 1.96·stderr)\n";
  if (v.observations.empty()) out += "  none\n";
  for (const ObservationView& o : v.observations) observation(out, o, v.info.done);
  tally_section(out, v.tallies);
  failure_section(out, v.info);
  if (!v.info.meta.options.empty()) out += "\noptions\n" + format_options(v.info.meta.options, " ");
  if (!plot_path.empty()) appendf(out, "\nplot written to %s\n", plot_path.c_str());
  return out;
}

}  // namespace carlo::report
