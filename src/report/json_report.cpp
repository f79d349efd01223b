// `carlo report --json` (src/report/render.h): for programs. Every digit of every figure; a
// figure that does not exist is null, never a made-up zero. docs/report.md lists the members.
#include "report/format.h"
#include "report/json.h"
#include "report/render.h"

#include <algorithm>
#include <cmath>

namespace carlo::report {

namespace {

constexpr std::size_t kFailuresInJson = 1000;

// Provenance is written when a run finishes: absent (null) in a RUNNING file, not zero.
void run_members(JsonWriter& j, const ResultsView& v) {
  const io::ResultsInfo& info = v.info;
  const io::RunMeta& m = info.meta;
  const bool recorded = !m.simulation.empty();
  j.string("file", info.path);
  j.string("state", info.state);
  j.boolean("complete", v.state.complete);
  j.string("carlo_version", m.carlo_version);
  if (recorded) j.string("simulation", m.simulation);
  else j.null("simulation");
  if (recorded) j.integer("seed", m.seed);
  else j.null("seed");
  if (m.data_path.empty()) {
    j.null("data");
  } else {
    j.begin_object("data");
    j.string("path", m.data_path);
    j.integer("size", m.data_size);
    j.number("mtime", static_cast<double>(m.data_mtime));
    j.string("checksum", m.data_checksum);
    j.end_object();
  }
  j.begin_object("tasks");
  j.integer("total", m.tasks);
  j.integer("done", info.done);
  j.integer("failed", info.failed);
  j.integer("pending", info.pending);
  j.end_object();
  for (const auto& [key, count] : {std::pair{"ranks", m.ranks}, std::pair{"nodes", m.nodes}}) {
    if (recorded) j.integer(key, static_cast<std::uint64_t>(std::max(count, 0)));
    else j.null(key);
  }
}

void rank_load(JsonWriter& j, const RankLoad& l, double span_seconds) {
  j.begin_object();
  j.integer("rank", static_cast<std::uint64_t>(l.rank));
  j.integer("batches", l.batches);
  j.integer("tasks", l.tasks);
  j.number("busy_seconds", l.busy_seconds);
  j.number("busy_fraction", span_seconds > 0 ? l.busy_seconds / span_seconds : std::nan(""));
  j.number("tasks_per_busy_second",
           l.busy_seconds > 0 ? static_cast<double>(l.tasks) / l.busy_seconds : std::nan(""));
  j.end_object();
}

void timing(JsonWriter& j, const ResultsView& v) {
  const io::RunMeta& m = v.info.meta;
  const bool recorded = !m.simulation.empty();
  j.begin_object("timing");
  if (m.start_time.empty()) j.null("start_time");
  else j.string("start_time", m.start_time);
  if (m.end_time.empty()) j.null("end_time");
  else j.string("end_time", m.end_time);
  j.number("wall_seconds", recorded ? m.wall_seconds : std::nan(""));
  j.number("tasks_per_second", recorded ? m.tasks_per_second : std::nan(""));
  j.number("tasks_per_second_per_rank", m.ranks > 0 ? m.tasks_per_second / m.ranks : std::nan(""));
  j.integer("batches", v.timeline.size());
  if (v.loads.empty()) {
    j.null("per_rank");
  } else {
    j.begin_array("per_rank");
    for (const RankLoad& l : v.loads) rank_load(j, l, v.span_seconds);
    j.end_array();
  }
  j.end_object();
}

void observation(JsonWriter& j, const ObservationView& o) {
  const io::Summary& s = o.summary;
  const double half = kZ95 * s.stderr_;
  j.begin_object();
  j.string("name", o.name);
  j.string("summary_source",
           o.source == SummarySource::file ? "file" : "computed (run not finished)");
  j.integer("count", s.count);
  j.number("mean", s.mean);
  j.number("stderr", s.stderr_);
  j.number("ci95_half_width", half);
  j.number("ci95_low", s.mean - half);
  j.number("ci95_high", s.mean + half);
  j.number("sd", s.sd);
  j.number("min", s.min);
  j.number("p2.5", s.p2_5);
  j.number("p50", s.p50);
  j.number("p97.5", s.p97_5);
  j.number("max", s.max);
  j.end_object();
}

void tally(JsonWriter& j, const TallyView& t) {
  j.begin_object();
  j.string("name", t.name);
  j.integer("length", t.length);
  if (t.real) {  // a real tally: sums, not counts
    j.string("kind", "real");
    j.number("sum", t.sum);
    j.number("min", t.min);
    j.number("max", t.max);
    j.integer("nonzero", t.nonzero);
    j.end_object();
    return;
  }
  j.integer("total", t.total);
  j.integer("nonzero", t.nonzero);
  j.begin_array("top");
  for (const auto& [index, count] : t.top) {
    j.begin_object();
    j.integer("index", index);
    j.integer("count", count);
    j.end_object();
  }
  j.end_array();
  j.end_object();
}

void failures(JsonWriter& j, const io::ResultsInfo& info) {
  j.begin_object("failures");
  j.integer("count", std::max<std::uint64_t>(info.failed, info.failures.size()));
  j.integer("listed", std::min(info.failures.size(), kFailuresInJson));
  j.begin_array("tasks");
  for (std::size_t i = 0; i < info.failures.size() && i < kFailuresInJson; ++i) {
    const io::Failure& f = info.failures[i];
    j.begin_object();
    j.integer("task", f.task);
    j.integer("attempts", f.attempts);
    j.string("message", f.message);
    j.end_object();
  }
  j.end_array();
  j.end_object();
}

}  // namespace

std::string render_json(const ResultsView& v, const std::string& plot_path) {
  JsonWriter j;
  j.begin_object();
  run_members(j, v);
  timing(j, v);
  j.begin_array("observations");
  for (const ObservationView& o : v.observations) observation(j, o);
  j.end_array();
  j.begin_array("tallies");
  for (const TallyView& t : v.tallies) tally(j, t);
  j.end_array();
  failures(j, v.info);
  j.begin_object("options");
  for (const auto& [name, value] : v.info.meta.options) j.string_member(name, value);
  j.end_object();
  if (plot_path.empty()) j.null("plot");
  else j.string("plot", plot_path);
  j.end_object();
  return j.str();
}

}  // namespace carlo::report
