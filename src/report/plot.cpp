// `carlo report --plot` (src/report/render.h): the series of the picture, from a ResultsView and
// the per-task observations; the drawing itself is svg_report.cpp.
#include "report/format.h"
#include "report/render.h"
#include "report/svg.h"
#include "report/svg_report.h"

#include <algorithm>
#include <span>

namespace carlo::report {

namespace {

constexpr std::size_t kPlotPoints = 1000;

/// One line: tasks, seed, data, ranks, wall time.
std::string subtitle(const io::ResultsInfo& info) {
  const io::RunMeta& m = info.meta;
  std::string s = svg::grouped(m.tasks) + " tasks: " + svg::grouped(info.done) + " done, " +
                  svg::grouped(info.failed) + " failed, " + svg::grouped(info.pending) + " pending";
  if (!m.simulation.empty()) s += " · seed " + std::to_string(m.seed);
  if (!m.data_path.empty()) s += " · data " + m.data_path;
  if (m.ranks > 0)
    s += " · " + plural(static_cast<std::uint64_t>(m.ranks), "rank") + " on " +
         plural(static_cast<std::uint64_t>(std::max(m.nodes, 0)), "node");
  if (m.wall_seconds > 0) s += " · wall " + format_number(m.wall_seconds, 4) + " s";
  return s;
}

ObservationSeries series(const std::string& path, const ObservationView& o) {
  // Two passes over the column in pieces: memory bounded by a piece whatever the task count (a
  // killed 2^34-task run is 128 GiB of NaN per observation). The first decides the histogram's bins
  // and the running estimate's spacing, the second counts and runs.
  HistogramBuilder histogram;
  RunningBuilder running(kPlotPoints);
  io::scan_observation(path, o.name, [&](std::span<const double> piece) {
    histogram.observe(piece);
    running.observe(piece);
  });
  io::scan_observation(path, o.name, [&](std::span<const double> piece) {
    histogram.count(piece);
    running.add(piece);
  });
  ObservationSeries s;
  s.name = o.name;
  s.count = o.summary.count;
  s.mean = o.summary.mean;
  s.stderr_ = o.summary.stderr_;
  s.p2_5 = o.summary.p2_5;
  s.p97_5 = o.summary.p97_5;
  s.histogram = histogram.histogram();
  s.running = running.points();
  return s;
}

}  // namespace

std::string render_plot(const ResultsView& v) {
  PlotInput in;
  in.file = v.info.path;
  in.state = v.state;
  in.simulation = v.info.meta.simulation;
  in.ranks = v.info.meta.ranks;
  in.wall_seconds = v.span_seconds;
  in.timeline = v.timeline;
  in.subtitle = subtitle(v.info);
  for (const ObservationView& o : v.observations) in.observations.push_back(series(v.info.path, o));
  return render_report_svg(in);
}

}  // namespace carlo::report
