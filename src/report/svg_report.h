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
#include <utility>
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

/// make_histogram over values that arrive in pieces, in two passes, holding O(bins) memory: the
/// first pass decides the bins (finite count, min, max, and the lattice of up to 120 distinct
/// values), the second counts. Both passes must present the same values in the same task order
/// (any piece sizes); the result is then bitwise make_histogram of all of them. Values that
/// changed between the passes (a file still being written) land in the nearest bin.
class HistogramBuilder {
 public:
  /// Pass 1.
  void observe(std::span<const double> values);
  /// Pass 2; the first call fixes the bins.
  void count(std::span<const double> values);
  /// After pass 2 (or after pass 1 alone, with nothing counted).
  Histogram histogram();

 private:
  void fix_bins();

  std::uint64_t finite_ = 0;
  double lo_ = 0, hi_ = 0;
  std::vector<double> distinct_;  ///< sorted, while the values may be a lattice
  bool lattice_possible_ = true;
  bool fixed_ = false;
  double gap_ = 0;  ///< > 0: one bin per lattice point `gap_` apart from lo_; else equal bins
  Histogram hist_;
};

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

/// running_estimate over values that arrive in pieces, in two passes (the spacing of the points
/// needs the number of values), holding O(max_points) memory. Both passes must present the same
/// values in the same task order (any piece sizes); the result is then bitwise running_estimate
/// of all of them. Values that appeared between the passes (a file still being written) add no
/// points beyond the min(n, max_points) pass 1 planned.
class RunningBuilder {
 public:
  explicit RunningBuilder(std::size_t max_points) : max_points_(max_points) {}
  /// Pass 1: counts the non-NaN values.
  void observe(std::span<const double> values);
  /// Pass 2, in task order.
  void add(std::span<const double> values);
  std::vector<RunningPoint> points() { return std::move(out_); }

 private:
  std::uint64_t target(std::uint64_t j) const;

  std::size_t max_points_;
  std::uint64_t n_ = 0;       ///< non-NaN values seen in pass 1
  std::uint64_t points_ = 0;  ///< min(n_, max_points_), fixed by the first add()
  bool started_ = false;
  std::uint64_t j_ = 1, next_ = 0, k_ = 0;
  double mean_ = 0, m2_ = 0;
  std::vector<RunningPoint> out_;
};

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
