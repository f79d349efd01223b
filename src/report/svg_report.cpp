// carlo report --plot: the picture. Layout in fixed pixels (1000 wide); every panel's numbers are
// computed before any drawing, so a panel with nothing to show says so instead of drawing axes
// over an empty range.
#include "report/svg_report.h"

#include "report/format.h"
#include "report/svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>

namespace carlo::report {

namespace {

constexpr std::size_t kMaxBins = 60;
constexpr std::size_t kMaxLatticeBins = 120;
constexpr double kWidth = 1000;
constexpr double kLeft = 80;
/// Beyond this many batches, adjacent batches of a lane closer than half a pixel are drawn as one
/// busy span: the picture is the same and the file stays small.
constexpr std::size_t kMaxBatchRects = 4000;

const char* const kBlue = "#2f6db5";
const char* const kBand = "#9cc0ea";
const char* const kRed = "#c0392b";

/// A range with room around it; a degenerate range widened so scales stay finite.
std::pair<double, double> padded(double lo, double hi, double fraction) {
  if (!(hi > lo)) {
    const double d = lo == 0 ? 1 : std::fabs(lo) * 0.01;
    return {lo - d, hi + d};
  }
  const double d = (hi - lo) * fraction;
  return {lo - d, hi + d};
}

void empty_panel(svg::Document& doc, double x, double y, double w, double h,
                 const std::string& title, const std::string& message) {
  doc.rect(x, y, w, h, "fill=\"#f4f4f4\" stroke=\"#bbb\" stroke-width=\"1\"");
  doc.text(x, y - 8, title, "start", 13, "font-weight=\"bold\"");
  doc.text(x + w / 2, y + h / 2 + 4, message, "middle", 13, "fill=\"#666\"");
}

/// A note right-aligned on the panel's title line and a caption under its x-axis title, outside
/// the plot area so they never cover data.
void panel_notes(svg::Document& doc, double x, double y, double w, double h,
                 const std::string& title, const std::string& note, const std::string& caption) {
  // Rough text widths (no font metrics in a hand-written SVG): a note that would run into a
  // long title moves down into the caption.
  const double room = w - 0.6 * 13 * static_cast<double>(title.size()) - 10;
  const bool fits = 0.56 * 11.5 * static_cast<double>(note.size()) <= room;
  if (fits) doc.text(x + w, y - 8, note, "end", 11.5);
  doc.text(x + w / 2, y + h + 50, caption, "middle", 10, "fill=\"#555\"");
  if (!fits) doc.text(x + w / 2, y + h + 64, note, "middle", 11);
}

void draw_histogram(svg::Document& doc, const ObservationSeries& o, double x, double y, double w,
                    double h) {
  const std::string title = "Distribution of " + o.name;
  const Histogram& hist = o.histogram;
  if (hist.counts.empty()) {
    empty_panel(doc, x, y, w, h, title, "no values (no task done)");
    return;
  }
  const std::uint64_t top = *std::max_element(hist.counts.begin(), hist.counts.end());
  auto [x_lo, x_hi] = hist.hi > hist.lo ? std::pair{hist.lo, hist.hi} : padded(hist.lo, hist.hi, 0);
  svg::Frame frame{x, y, w, h, title, o.name + " (per task)", "tasks"};
  const auto [sx, sy] = svg::draw_frame(doc, frame, x_lo, x_hi, 0, static_cast<double>(top) * 1.08);
  const double bw = (x_hi - x_lo) / static_cast<double>(hist.counts.size());
  doc.open_group("class=\"histogram\" data-observation=\"" + svg::escape(o.name) + "\"");
  for (std::size_t k = 0; k < hist.counts.size(); ++k) {
    const double left = sx(x_lo + bw * static_cast<double>(k));
    const double right = sx(x_lo + bw * static_cast<double>(k + 1));
    const double y_top = sy(static_cast<double>(hist.counts[k]));
    doc.rect(left, y_top, right - left, sy(0) - y_top,
             "class=\"bar\" data-count=\"" + std::to_string(hist.counts[k]) + "\" fill=\"" + kBlue +
                 "\" fill-opacity=\"0.75\" stroke=\"white\" stroke-width=\"0.5\"");
  }
  doc.close_group();
  // Mean (solid) and the central 95% of tasks (dashed).
  // Structured bindings captured by name, not by [&]: clang before 16 cannot capture them.
  const auto vline = [&, &x_lo = x_lo, &x_hi = x_hi, &sx = sx](double v, const char* style) {
    if (std::isfinite(v) && v >= x_lo && v <= x_hi) doc.line(sx(v), y, sx(v), y + h, style);
  };
  vline(o.p2_5, "stroke=\"#333\" stroke-width=\"1\" stroke-dasharray=\"4,3\"");
  vline(o.p97_5, "stroke=\"#333\" stroke-width=\"1\" stroke-dasharray=\"4,3\"");
  vline(o.mean, "stroke=\"#c0392b\" stroke-width=\"1.5\"");
  panel_notes(doc, x, y, w, h, title, "n = " + svg::grouped(o.count),
              "red: mean; dashed: 2.5th and 97.5th percentiles");
}

void draw_running(svg::Document& doc, const ObservationSeries& o, double x, double y, double w,
                  double h, int index) {
  const std::string title = "Running estimate of " + o.name;
  if (o.running.empty()) {
    empty_panel(doc, x, y, w, h, title, "no values (no task done)");
    return;
  }
  const std::uint64_t n = o.running.back().tasks;
  // The y range follows the band once it has settled (the last 95% of the tasks), so the first
  // few noisy tasks do not flatten everything else; earlier points are clipped.
  const std::uint64_t settled = std::max<std::uint64_t>(2, n / 20);
  double lo = o.mean, hi = o.mean;
  for (const RunningPoint& p : o.running) {
    if (p.tasks < settled && p.tasks != n) continue;
    const double half = std::isfinite(p.half_width) ? p.half_width : 0;
    if (!std::isfinite(p.mean)) continue;
    lo = std::min(lo, p.mean - half);
    hi = std::max(hi, p.mean + half);
  }
  if (!std::isfinite(lo) || !std::isfinite(hi)) {
    empty_panel(doc, x, y, w, h, title, "estimate not finite");
    return;
  }
  const auto [y_lo, y_hi] = padded(lo, hi, 0.08);
  svg::Frame frame{x, y, w, h, title, "tasks done (in task order)", "estimate of " + o.name};
  const auto [sx, sy] = svg::draw_frame(doc, frame, 0, static_cast<double>(n), y_lo, y_hi);
  const std::string clip = "clip-run-" + std::to_string(index);
  doc.clip_rect(clip, x, y, w, h);
  doc.open_group("clip-path=\"url(#" + clip + ")\" class=\"running\" data-observation=\"" +
                 svg::escape(o.name) + "\"");
  std::vector<svg::Point> band, line;
  for (const RunningPoint& p : o.running) {
    const double px = sx(static_cast<double>(p.tasks));
    // Clamp far outside the plot: the clip hides it, and huge coordinates upset some renderers.
    const auto py = [&, &sy = sy](double v) { return std::clamp(sy(v), y - 2 * h, y + 3 * h); };
    line.push_back({px, py(p.mean)});
    if (std::isfinite(p.half_width)) band.push_back({px, py(p.mean + p.half_width)});
  }
  for (auto it = o.running.rbegin(); it != o.running.rend(); ++it) {
    if (!std::isfinite(it->half_width)) continue;
    band.push_back({sx(static_cast<double>(it->tasks)),
                    std::clamp(sy(it->mean - it->half_width), y - 2 * h, y + 3 * h)});
  }
  if (band.size() >= 4)
    doc.polygon(band, std::string("class=\"band\" fill=\"") + kBand +
                          "\" fill-opacity=\"0.6\" stroke=\"none\"");
  doc.line(x, sy(o.mean), x + w, sy(o.mean),
           std::string("stroke=\"") + kRed + "\" stroke-width=\"1\" stroke-dasharray=\"5,3\"");
  doc.polyline(line, std::string("class=\"running-mean\" data-points=\"") +
                         std::to_string(line.size()) + "\" fill=\"none\" stroke=\"" + kBlue +
                         "\" stroke-width=\"1.4\"");
  doc.close_group();
  const double half = kZ95 * o.stderr_;
  panel_notes(doc, x, y, w, h, title, format_g(o.mean) + " ± " + format_g(half, 3) + " (95%)",
              "band: running mean ± 1.96·sd/√n; dashed red: final estimate");
}

struct Span {
  double start, end;
  std::uint64_t tasks, batches;
};

/// Lane contents, merged where drawing each batch would add nothing visible.
std::vector<std::vector<Span>> lanes_of(const std::vector<io::TimelineEntry>& timeline,
                                        std::size_t lanes, double seconds_per_pixel) {
  std::vector<std::vector<Span>> out(lanes);
  for (const auto& e : timeline)
    if (e.rank >= 0 && static_cast<std::size_t>(e.rank) < lanes)
      out[static_cast<std::size_t>(e.rank)].push_back({e.start, e.end, e.tasks, 1});
  for (auto& lane : out) {
    std::sort(lane.begin(), lane.end(),
              [](const Span& a, const Span& b) { return a.start < b.start; });
    if (timeline.size() <= kMaxBatchRects) continue;
    std::vector<Span> merged;
    for (const Span& s : lane) {
      if (!merged.empty() && s.start - merged.back().end < seconds_per_pixel / 2) {
        merged.back().end = std::max(merged.back().end, s.end);
        merged.back().tasks += s.tasks;
        merged.back().batches += s.batches;
      } else {
        merged.push_back(s);
      }
    }
    lane = std::move(merged);
  }
  return out;
}

double draw_timeline(svg::Document& doc, const PlotInput& in, double y) {
  const double w = kWidth - kLeft - 170;
  const std::string title = "Batches per rank over time (load balance)";
  if (in.timeline.empty()) {
    empty_panel(doc, kLeft, y, kWidth - kLeft - 30, 70, title,
                "no timeline recorded in this results file");
    return y + 40;
  }
  int max_rank = in.ranks - 1;
  double t_end = in.wall_seconds;
  for (const auto& e : in.timeline) {
    max_rank = std::max(max_rank, e.rank);
    t_end = std::max(t_end, e.end);
  }
  const std::size_t lanes = static_cast<std::size_t>(std::max(max_rank, 0)) + 1;
  const double lane_h = std::clamp(360.0 / static_cast<double>(lanes), 3.0, 22.0);
  const double h = lane_h * static_cast<double>(lanes);
  if (!(t_end > 0)) t_end = 1;
  svg::Frame frame{kLeft, y, w, h, title, "seconds since the run started", "", false};
  const svg::Scale sx = svg::draw_frame(doc, frame, 0, t_end, 0, 1).first;
  const auto lanes_spans = lanes_of(in.timeline, lanes, t_end / w);
  doc.open_group("class=\"timeline\"");
  for (std::size_t r = 0; r < lanes; ++r) {
    const double top = y + lane_h * static_cast<double>(r);
    if (r % 2 == 1) doc.rect(kLeft, top, w, lane_h, "fill=\"#f0f0f0\" stroke=\"none\"");
    std::uint64_t tasks = 0;
    double busy = 0, covered_to = 0;  // union of the lane's spans (sorted by start)
    std::size_t i = 0;
    for (const Span& s : lanes_spans[r]) {
      tasks += s.tasks;
      const double from = std::max(s.start, covered_to);
      if (s.end > from) busy += s.end - from;
      covered_to = std::max(covered_to, s.end);
      const double x0 = sx(s.start);
      // A batch shorter than a pixel still shows as a sliver.
      const double x1 = std::max(sx(s.end), x0 + 0.6);
      doc.rect(x0, top + lane_h * 0.12, x1 - x0, lane_h * 0.76,
               "class=\"batch\" data-rank=\"" + std::to_string(r) + "\" data-tasks=\"" +
                   std::to_string(s.tasks) + "\" data-batches=\"" + std::to_string(s.batches) +
                   "\" fill=\"" + (i++ % 2 ? "#5b8fd0" : "#2f6db5") + "\"");
    }
    if (lane_h >= 9) {
      doc.text(kLeft - 6, top + lane_h / 2 + 4, "rank " + std::to_string(r), "end",
               std::min(11.0, lane_h - 1));
      const double util = busy / t_end * 100;
      doc.text(kLeft + w + 8, top + lane_h / 2 + 4,
               svg::grouped(tasks) + " tasks, busy " + format_g(util, 3) + "%", "start",
               std::min(11.0, lane_h - 1));
    }
  }
  doc.close_group();
  if (lane_h < 9)
    doc.vertical_text(kLeft - 40, y + h / 2, "ranks 0-" + std::to_string(lanes - 1), 11.5);
  return y + h;
}

}  // namespace

void HistogramBuilder::observe(std::span<const double> values) {
  for (const double v : values) {
    if (!std::isfinite(v)) continue;
    if (finite_++ == 0) lo_ = hi_ = v;
    lo_ = std::min(lo_, v);
    hi_ = std::max(hi_, v);
    if (!lattice_possible_) continue;
    const auto it = std::lower_bound(distinct_.begin(), distinct_.end(), v);
    if (it != distinct_.end() && *it == v) continue;
    if (distinct_.size() == kMaxLatticeBins) {
      lattice_possible_ = false;
      distinct_ = {};
      continue;
    }
    distinct_.insert(it, v);
  }
}

/// Values on a lattice of at most kMaxLatticeBins points (counts, k/n fractions) get one bin per
/// lattice point: equal-width bins over such data alias into alternating tall and short bars.
void HistogramBuilder::fix_bins() {
  fixed_ = true;
  if (finite_ == 0) return;
  if (lattice_possible_ && distinct_.size() >= 2) {
    double gap = distinct_[1] - distinct_[0];
    for (std::size_t i = 2; i < distinct_.size(); ++i)
      gap = std::min(gap, distinct_[i] - distinct_[i - 1]);
    bool on_lattice = true;
    for (const double d : distinct_) {
      const double r = (d - lo_) / gap;
      if (std::fabs(r - std::round(r)) > 1e-6) on_lattice = false;
    }
    const double points = std::round((hi_ - lo_) / gap) + 1;
    if (on_lattice && points <= static_cast<double>(kMaxLatticeBins)) {
      gap_ = gap;
      hist_.lo = lo_ - gap / 2;
      hist_.hi = hi_ + gap / 2;
      hist_.counts.assign(static_cast<std::size_t>(points), 0);
      return;
    }
  }
  std::size_t bins = 1;
  hist_.lo = lo_;
  hist_.hi = hi_;
  if (hi_ > lo_)
    bins = std::clamp<std::size_t>(
        static_cast<std::size_t>(std::ceil(2 * std::cbrt(static_cast<double>(finite_)))), 1,
        kMaxBins);
  else std::tie(hist_.lo, hist_.hi) = padded(lo_, hi_, 0);
  hist_.counts.assign(bins, 0);
}

void HistogramBuilder::count(std::span<const double> values) {
  if (!fixed_) fix_bins();
  if (hist_.counts.empty()) return;
  const std::size_t bins = hist_.counts.size();
  if (gap_ > 0) {
    const double last = static_cast<double>(bins - 1);
    for (const double v : values) {
      if (!std::isfinite(v)) continue;
      const double k = std::clamp(std::round((v - lo_) / gap_), 0.0, last);
      hist_.counts[static_cast<std::size_t>(k)] += 1;
    }
    return;
  }
  const double width = (hist_.hi - hist_.lo) / static_cast<double>(bins);
  for (const double v : values) {
    if (!std::isfinite(v)) continue;
    const double k = std::floor((v - hist_.lo) / width);
    hist_.counts[std::min(bins - 1, static_cast<std::size_t>(std::max(k, 0.0)))] += 1;
  }
}

Histogram HistogramBuilder::histogram() {
  if (!fixed_) fix_bins();
  return std::move(hist_);
}

Histogram make_histogram(std::span<const double> values) {
  HistogramBuilder b;
  b.observe(values);
  b.count(values);
  return b.histogram();
}

void RunningBuilder::observe(std::span<const double> values) {
  for (const double v : values)
    if (!std::isnan(v)) ++n_;
}

/// Point j (1-based) at ceil(j·n/points) values: evenly spaced, the last one at n. Split so j·n
/// cannot overflow: ceil(j·n/p) = j·(n/p) + ceil(j·(n%p)/p), j and n%p below p.
std::uint64_t RunningBuilder::target(std::uint64_t j) const {
  const std::uint64_t quotient = n_ / points_, remainder = n_ % points_;
  return j * quotient + (j * remainder + points_ - 1) / points_;
}

void RunningBuilder::add(std::span<const double> values) {
  if (!started_) {
    started_ = true;
    points_ = std::min<std::uint64_t>(n_, max_points_);
    if (points_ == 0) return;
    out_.reserve(static_cast<std::size_t>(points_));
    next_ = target(j_);
  }
  if (points_ == 0) return;
  for (const double v : values) {
    if (std::isnan(v)) continue;
    ++k_;
    const double delta = v - mean_;
    mean_ += delta / static_cast<double>(k_);
    m2_ += delta * (v - mean_);
    // j_ <= points_: a file still being written may show more values than pass 1 counted.
    if (k_ == next_ && j_ <= points_) {
      const double half =
          k_ < 2 ? std::numeric_limits<double>::quiet_NaN()
                 : kZ95 * std::sqrt(m2_ / static_cast<double>(k_ - 1) / static_cast<double>(k_));
      out_.push_back({k_, mean_, half});
      next_ = target(++j_);
    }
  }
}

std::vector<RunningPoint> running_estimate(std::span<const double> values, std::size_t max_points) {
  RunningBuilder b(max_points);
  b.observe(values);
  b.add(values);
  return b.points();
}

std::string render_report_svg(const PlotInput& in) {
  svg::Document doc(kWidth, 100);
  const bool complete = in.state.complete;
  const std::string name = in.simulation.empty() ? "simulation not recorded" : in.simulation;
  const std::string title = (complete ? "" : in.state.title_word + " results — ") +
                            "carlo report: " + name + " — " + in.file;
  doc.title(title);
  doc.text(20, 32, title, "start", 19,
           complete ? "font-weight=\"bold\"" : "font-weight=\"bold\" fill=\"#c0392b\"");
  double y = 54;
  doc.text(20, y, in.subtitle, "start", 12.5, "fill=\"#333\"");
  if (!complete) {
    y += 20;
    doc.text(20, y, in.state.plot_note, "start", 12.5, "fill=\"#c0392b\" font-weight=\"bold\"");
  }
  y += 48;

  const double panel_h = 230;
  const double gap = 100;
  const double panel_w = (kWidth - kLeft - gap - 30) / 2;
  int index = 0;
  for (const ObservationSeries& o : in.observations) {
    draw_histogram(doc, o, kLeft, y, panel_w, panel_h);
    draw_running(doc, o, kLeft + panel_w + gap, y, panel_w, panel_h, index++);
    y += panel_h + 95;
  }
  if (in.observations.empty()) {
    doc.text(kLeft, y, "This results file has no observations.", "start", 13, "fill=\"#666\"");
    y += 40;
  }
  y = draw_timeline(doc, in, y);
  y += 60;
  doc.set_height(y);
  return doc.str();
}

}  // namespace carlo::report
