#pragma once
/// \file
/// The picture `carlo report --plot` draws, and the series it is drawn from. Pure computation and
/// text: the data arrive already read (render_plot in plot.cpp reads them through the io layer).

#include "io/results_file.h"
#include "report/state.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace carlo::report {

/// Counts of values in equal bins over [lo, hi]; bin k covers [lo + k·w, lo + (k+1)·w), the last
/// bin also holds hi.
struct Histogram {
  double lo = 0, hi = 0;
  std::vector<std::uint64_t> counts;
};

/// Histogram of the finite values (NaN and ±inf are skipped) with about 2·n^(1/3) bins (Rice's
/// rule), at least 1 and at most 60; values on a lattice of at most 120 points (integers, k/n)
/// get one bin centred on each point. All values equal: one bin around them. No finite value: no
/// bins.
Histogram make_histogram(std::span<const double> values);

/// The estimate after the first `tasks` values (in task order): their mean and the half-width of
/// its 95% interval, 1.96·sd/sqrt(tasks) (NaN below 2 values).
struct RunningPoint {
  std::uint64_t tasks = 0;
  double mean = 0, half_width = 0;
};

/// The running estimate over the non-NaN values in index order (the done tasks, in task order),
/// at no more than `max_points` counts spaced evenly up to the last value, which is always
/// included. Welford's update: exact enough for a picture, not the summary's compensated sums.
std::vector<RunningPoint> running_estimate(std::span<const double> values, std::size_t max_points);

/// What the plot shows of one observation.
struct ObservationSeries {
  std::string name;
  std::uint64_t count = 0;  ///< values summarised
  double mean = 0, stderr_ = 0, p2_5 = 0, p97_5 = 0;
  Histogram histogram;
  std::vector<RunningPoint> running;
};

struct PlotInput {
  std::string file;
  StateText state;         ///< how the title and the note under it name an incomplete run
  std::string simulation;  ///< "" when not recorded
  std::string subtitle;    ///< one line: tasks, seed, ranks, wall time
  std::vector<ObservationSeries> observations;
  std::vector<io::TimelineEntry> timeline;  ///< empty: "no timeline recorded"
  int ranks = 0;
  double wall_seconds = 0;
};

/// A self-contained SVG document: per observation a histogram and the running estimate with its
/// 95% band, then one lane per rank with the batches it computed. A file that is not complete says
/// PARTIAL (or RUNNING) in its title.
std::string render_report_svg(const PlotInput& input);

}  // namespace carlo::report
