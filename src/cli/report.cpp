// carlo report RESULTS.h5 [--json] [--plot report.svg]: what a run found, for people (text), for
// programs (JSON) and for eyes (SVG). Reads the file only through <carlo/io/results_file.h>; the
// per-task observations are read only when a figure needs them (the plot, or a run that never
// finished and so has no stored summaries).
#include "cli/cli.h"
#include "cli/command_line.h"
#include "cli/svg.h"
#include "cli/svg_report.h"
#include "io/results_file.h"

#include <carlo/error.h>
#include <carlo/units.h>

#include <boost/program_options.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

namespace carlo::cli {

namespace po = boost::program_options;

namespace {

constexpr const char* kReportUsage =
    "usage: carlo report RESULTS.h5 [--json] [--plot report.svg [--force]]\n"
    "\n"
    "Summarises a results file written by `carlo run`: the run (simulation, data, seed, ranks,\n"
    "timing, options), each observation's estimate with its 95% interval (mean ± 1.96·stderr), sd\n"
    "and percentiles, the tallies and the failed tasks. A file whose run did not finish is "
    "labelled\n"
    "PARTIAL (or RUNNING). --json prints the same as JSON; --plot writes an SVG with a histogram "
    "and\n"
    "the running estimate of each observation and the batches of each rank over time.\n";

constexpr double kZ95 = 1.96;
constexpr std::size_t kFailuresShown = 5;
constexpr std::size_t kFailuresInJson = 1000;
constexpr std::size_t kTopBins = 5;
constexpr std::size_t kRanksListed = 16;
constexpr std::size_t kPlotPoints = 1000;
/// Bound on ranks in a timeline whose run did not record its rank count.
constexpr std::int32_t kMaxTimelineRank = 1 << 22;

// ---------------------------------------------------------------------------------------------
// What the report says, gathered once and printed in three forms.
// ---------------------------------------------------------------------------------------------

struct ObservationReport {
  std::string name;
  io::Summary summary;
  bool stored = true;  ///< summary read from the file (false: computed here, run not finished)
};

struct TallyReport {
  std::string name;
  std::uint64_t length = 0, total = 0, nonzero = 0;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> top;  ///< (index, count), largest first
};

struct RankLoad {
  std::int32_t rank = 0;
  std::uint64_t batches = 0, tasks = 0;
  double busy_seconds = 0;  ///< time with a batch in hand, as the master saw it (union of batches)
};

struct Report {
  io::ResultsInfo info;
  std::vector<ObservationReport> observations;
  std::vector<TallyReport> tallies;
  std::vector<io::TimelineEntry> timeline;
  std::vector<RankLoad> loads;  ///< per rank, from the timeline (empty without one)
  double span_seconds = 0;      ///< wall time, or the timeline's extent if that is longer
};

TallyReport tally_report(const std::string& path, const TallySpec& spec) {
  TallyReport t;
  t.name = spec.name;
  const std::vector<std::uint64_t> counts = io::read_tally(path, spec.name);
  t.length = counts.size();
  for (std::size_t i = 0; i < counts.size(); ++i) {
    t.total += counts[i];
    if (counts[i] == 0) continue;
    ++t.nonzero;
    // Keep the kTopBins largest, ties to the lower index (which arrived first).
    const auto pos = std::find_if(t.top.begin(), t.top.end(),
                                  [&](const auto& e) { return counts[i] > e.second; });
    if (pos != t.top.end() || t.top.size() < kTopBins) {
      t.top.insert(pos, {i, counts[i]});
      if (t.top.size() > kTopBins) t.top.pop_back();
    }
  }
  return t;
}

std::vector<RankLoad> rank_loads(const std::vector<io::TimelineEntry>& timeline, int ranks) {
  if (timeline.empty()) return {};
  std::int32_t max_rank = ranks - 1;
  for (const auto& e : timeline) max_rank = std::max(max_rank, e.rank);
  std::vector<RankLoad> loads(static_cast<std::size_t>(std::max(max_rank, 0)) + 1);
  for (std::size_t r = 0; r < loads.size(); ++r) loads[r].rank = static_cast<std::int32_t>(r);
  std::vector<std::vector<std::pair<double, double>>> spans(loads.size());
  for (const auto& e : timeline) {
    if (e.rank < 0) continue;
    RankLoad& l = loads[static_cast<std::size_t>(e.rank)];
    ++l.batches;
    l.tasks += e.tasks;
    spans[static_cast<std::size_t>(e.rank)].emplace_back(e.start, std::max(e.start, e.end));
  }
  // Busy = the union of a rank's batch intervals: batches held at once must not count twice.
  for (std::size_t r = 0; r < loads.size(); ++r) {
    auto& s = spans[r];
    std::sort(s.begin(), s.end());
    double covered_to = -std::numeric_limits<double>::infinity();
    for (const auto& [start, end] : s) {
      const double from = std::max(start, covered_to);
      if (end > from) loads[r].busy_seconds += end - from;
      covered_to = std::max(covered_to, end);
    }
  }
  return loads;
}

/// A summary computed here matches the stored one's definition (io::summarize), so a RUNNING file
/// shows provisional figures of the same kind.
Report gather(const std::string& path) {
  Report r;
  r.info = io::read_results_info(path);
  const io::ResultsInfo& info = r.info;
  for (std::size_t k = 0; k < info.observation_names.size(); ++k) {
    ObservationReport o;
    o.name = info.observation_names[k];
    if (k < info.summaries.size()) {
      o.summary = info.summaries[k];
    } else {
      o.summary = io::summarize(io::read_observation(path, o.name));
      o.stored = false;
    }
    r.observations.push_back(std::move(o));
  }
  for (const TallySpec& spec : info.tallies) r.tallies.push_back(tally_report(path, spec));
  r.timeline = io::read_timeline(path);
  // Lanes and per-rank tables are indexed by rank: a damaged file must not make them huge.
  for (std::size_t i = 0; i < r.timeline.size(); ++i) {
    const std::int32_t rank = r.timeline[i].rank;
    if (rank < 0 || (info.meta.ranks > 0 && rank >= info.meta.ranks) || rank > kMaxTimelineRank)
      throw InputError(path + ":/timeline/rank: rank " + std::to_string(rank) + " at index " +
                       std::to_string(i) + " outside the run's ranks (" +
                       std::to_string(info.meta.ranks) + ")");
  }
  r.loads = rank_loads(r.timeline, info.meta.ranks);
  r.span_seconds = std::max(info.meta.wall_seconds, 0.0);
  for (const auto& e : r.timeline) r.span_seconds = std::max(r.span_seconds, e.end);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Text
// ---------------------------------------------------------------------------------------------

std::string num(double v, int digits = 6) {
  if (std::isnan(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

/// Rates and durations: whole numbers from 100 up (no exponents), 3-4 significant digits below.
std::string rate(double v) {
  if (std::isnan(v)) return "n/a";
  char buf[64];
  if (std::fabs(v) >= 100 && std::fabs(v) < 1e15) std::snprintf(buf, sizeof buf, "%.0f", v);
  else std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

/// `v` with the decimals that show `uncertainty` to three significant digits, so an estimate is
/// printed as precisely as it is known (JSON carries every digit).
std::string to_precision_of(double v, double uncertainty) {
  if (!std::isfinite(v)) return num(v);
  if (!(uncertainty > 1e-300) || !std::isfinite(uncertainty) || std::fabs(v) >= 1e15)
    return num(v, 8);
  const int decimals = std::clamp(2 - static_cast<int>(std::floor(std::log10(uncertainty))), 0, 17);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string u64(std::uint64_t v) { return std::to_string(v); }

std::string plural(std::uint64_t n, const std::string& word) {
  if (n == 1) return "1 " + word;
  return u64(n) + " " + word + (word.ends_with("ch") ? "es" : "s");
}

/// Seconds since the epoch as ISO 8601 UTC, the form of the run's start and end times.
std::string utc_time(std::int64_t seconds) {
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  char buf[32];
  if (!gmtime_r(&t, &tm) || !std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm))
    return std::to_string(seconds);
  return buf;
}

/// Shown above everything else when the file is not a finished run, so nobody quotes it as one.
std::string state_banner(const io::ResultsInfo& info) {
  const std::string done = u64(info.done) + " of " + u64(info.meta.tasks) + " tasks done";
  if (info.state == "partial")
    return "*** PARTIAL RESULTS: the run stopped before every task was done (" + done +
           ").\n*** Estimates cover the done tasks only; `carlo run --resume` continues the run.\n";
  if (info.state == "running")
    return "*** RUNNING: this file is still being written, or its run died before finishing.\n"
           "*** Estimates are provisional, computed from the observations written so far.\n";
  return "*** PARTIAL RESULTS: unknown state '" + info.state + "', not a complete result.\n";
}

void print_text(const Report& r, const std::string& plot_path) {
  const io::ResultsInfo& info = r.info;
  const io::RunMeta& m = info.meta;
  const bool complete = info.state == "complete";
  std::printf("carlo report: %s (%s)\n", info.path.c_str(),
              complete                  ? "complete"
              : info.state == "running" ? "RUNNING"
                                        : "PARTIAL");
  if (!complete) std::printf("%s", state_banner(info).c_str());

  std::printf("\nrun\n");
  std::printf("  simulation  %s\n", m.simulation.empty() ? "(not recorded: the run did not finish)"
                                                         : m.simulation.c_str());
  std::printf("  carlo       %s\n", m.carlo_version.c_str());
  if (!m.simulation.empty()) std::printf("  seed        %s\n", u64(m.seed).c_str());
  if (m.data_path.empty()) {
    std::printf("  data        %s\n", m.simulation.empty() ? "(not recorded)" : "none");
  } else {
    std::printf("  data        %s\n", m.data_path.c_str());
    std::printf("              %s (%s bytes), modified %s%s%s\n", format_bytes(m.data_size).c_str(),
                u64(m.data_size).c_str(), utc_time(m.data_mtime).c_str(),
                m.data_checksum.empty() ? "" : ", fingerprint ", m.data_checksum.c_str());
  }
  std::printf("  tasks       %s: %s done, %s failed, %s pending\n", u64(m.tasks).c_str(),
              u64(info.done).c_str(), u64(info.failed).c_str(), u64(info.pending).c_str());
  if (m.ranks > 0)
    std::printf("  ranks       %d on %s\n", m.ranks,
                plural(static_cast<std::uint64_t>(std::max(m.nodes, 0)), "node").c_str());
  if (!m.start_time.empty())
    std::printf("  time        %s to %s\n", m.start_time.c_str(), m.end_time.c_str());
  if (m.wall_seconds > 0) {
    std::printf("  wall        %s s\n", rate(m.wall_seconds).c_str());
    std::printf("  throughput  %s tasks/s", rate(m.tasks_per_second).c_str());
    if (m.ranks > 0)
      std::printf(", %s tasks/s per rank", rate(m.tasks_per_second / m.ranks).c_str());
    std::printf("\n");
  }
  if (r.loads.empty()) {
    std::printf("  load        no timeline recorded\n");
  } else {
    const auto [lo, hi] =
        std::minmax_element(r.loads.begin(), r.loads.end(),
                            [](const RankLoad& a, const RankLoad& b) { return a.tasks < b.tasks; });
    std::printf("  load        %s in %s; tasks per rank min %s, max %s\n",
                plural(r.timeline.size(), "batch").c_str(), plural(r.loads.size(), "rank").c_str(),
                u64(lo->tasks).c_str(), u64(hi->tasks).c_str());
    for (std::size_t i = 0; i < r.loads.size() && i < kRanksListed; ++i) {
      const RankLoad& l = r.loads[i];
      std::printf(
          "    rank %-4d %s in %s, busy %s s (%s%%), %s tasks/s while busy\n", l.rank,
          plural(l.tasks, "task").c_str(), plural(l.batches, "batch").c_str(),
          rate(l.busy_seconds).c_str(),
          r.span_seconds > 0 ? rate(100 * l.busy_seconds / r.span_seconds).c_str() : "n/a",
          l.busy_seconds > 0 ? rate(static_cast<double>(l.tasks) / l.busy_seconds).c_str() : "n/a");
    }
    if (r.loads.size() > kRanksListed)
      std::printf("    ... and %zu more ranks (carlo report --json lists all)\n",
                  r.loads.size() - kRanksListed);
  }

  std::printf(
      "\nobservations (estimate = mean over done tasks; 95%% interval = mean ± 1.96·stderr)\n");
  if (r.observations.empty()) std::printf("  none\n");
  for (const ObservationReport& o : r.observations) {
    const io::Summary& s = o.summary;
    std::printf("  %s%s\n", o.name.c_str(),
                o.stored ? "" : "  (provisional: computed from the observations written so far)");
    if (s.count == 0) {
      std::printf("    no values (no task done)\n");
      continue;
    }
    const double half = kZ95 * s.stderr_;
    const auto f = [&](double v) { return to_precision_of(v, half); };
    std::printf("    estimate    %s ± %s  (95%% interval [%s, %s])\n", f(s.mean).c_str(),
                f(half).c_str(), f(s.mean - half).c_str(), f(s.mean + half).c_str());
    if (o.stored && s.count < r.info.done)  // done tasks that left it NaN are not in it
      std::printf("    tasks       %s (%s of the %s done tasks left it unset: NaN)\n",
                  u64(s.count).c_str(), u64(r.info.done - s.count).c_str(),
                  u64(r.info.done).c_str());
    else std::printf("    tasks       %s\n", u64(s.count).c_str());
    std::printf("    sd          %s   stderr %s\n", num(s.sd).c_str(), num(s.stderr_).c_str());
    std::printf("    spread      min %s  p2.5 %s  p50 %s  p97.5 %s  max %s\n", num(s.min).c_str(),
                num(s.p2_5).c_str(), num(s.p50).c_str(), num(s.p97_5).c_str(), num(s.max).c_str());
  }

  if (!r.tallies.empty()) {
    std::printf("\ntallies\n");
    for (const TallyReport& t : r.tallies) {
      std::printf("  %s  length %s, total %s, %s nonzero", t.name.c_str(), u64(t.length).c_str(),
                  u64(t.total).c_str(), u64(t.nonzero).c_str());
      if (!t.top.empty()) {
        std::printf("; largest:");
        for (const auto& [index, count] : t.top)
          std::printf(" [%s] %s", u64(index).c_str(), u64(count).c_str());
      }
      std::printf("\n");
    }
  }

  if (info.failed > 0 || !info.failures.empty()) {
    std::printf("\nfailures (%s after all retries, listed in /failures)\n",
                plural(std::max<std::uint64_t>(info.failed, info.failures.size()), "task").c_str());
    for (std::size_t i = 0; i < info.failures.size() && i < kFailuresShown; ++i) {
      const io::Failure& f = info.failures[i];
      std::printf("  task %s after %s: %s\n", u64(f.task).c_str(),
                  plural(f.attempts, "attempt").c_str(), short_message(f.message).c_str());
    }
    if (info.failures.size() > kFailuresShown)
      std::printf("  ... and %zu more\n", info.failures.size() - kFailuresShown);
  }

  if (!m.options.empty()) {
    std::printf("\noptions\n");
    // Wrapped at 100 columns.
    std::string line = " ";
    for (const auto& [name, value] : m.options) {
      const std::string item = " " + name + "=" + value;
      if (line.size() > 1 && line.size() + item.size() > 100) {
        std::printf("%s\n", line.c_str());
        line = " ";
      }
      line += item;
    }
    std::printf("%s\n", line.c_str());
  }
  if (!plot_path.empty()) std::printf("\nplot written to %s\n", plot_path.c_str());
}

// ---------------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------------

/// Appends `s` as a JSON string: escapes, and bytes that are not valid UTF-8 become U+FFFD, so
/// any strict parser accepts the output whatever a simulation put in its error messages.
void json_string(std::string& out, const std::string& s) {
  out += '"';
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    // Length and validity of a UTF-8 sequence (no overlongs, no surrogates, <= U+10FFFF).
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    }
    bool valid = len > 0 && i + len <= n;
    for (std::size_t k = 1; valid && k < len; ++k) {
      const unsigned char b = p[i + k];
      valid = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
    }
    if (valid) {
      out.append(s, i, len);
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  out += '"';
}

/// NaN and infinities have no JSON form: null.
std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

/// Pretty-printed JSON built in order; the caller pairs begin/end and gives a key inside objects.
class Json {
 public:
  void begin_object(const char* key = nullptr) { open(key, '{'); }
  void end_object() { close('}'); }
  void begin_array(const char* key = nullptr) { open(key, '['); }
  void end_array() { close(']'); }
  void string(const char* key, const std::string& v) {
    item(key);
    json_string(out_, v);
  }
  void number(const char* key, double v) {
    item(key);
    out_ += json_number(v);
  }
  void integer(const char* key, std::uint64_t v) {
    item(key);
    out_ += std::to_string(v);
  }
  void boolean(const char* key, bool v) {
    item(key);
    out_ += v ? "true" : "false";
  }
  void null(const char* key) {
    item(key);
    out_ += "null";
  }
  /// An object member whose key is data (an option name), not a literal.
  void string_member(const std::string& key, const std::string& v) {
    item(nullptr);
    json_string(out_, key);
    out_ += ": ";
    json_string(out_, v);
  }
  std::string str() const { return out_ + "\n"; }

 private:
  void item(const char* key) {
    if (!first_.empty()) {
      if (!first_.back()) out_ += ',';
      first_.back() = false;
      out_ += '\n';
      out_.append(2 * first_.size(), ' ');
    }
    if (key) {
      json_string(out_, key);
      out_ += ": ";
    }
  }
  void open(const char* key, char bracket) {
    item(key);
    out_ += bracket;
    first_.push_back(true);
  }
  void close(char bracket) {
    const bool empty = first_.back();
    first_.pop_back();
    if (!empty) {
      out_ += '\n';
      out_.append(2 * first_.size(), ' ');
    }
    out_ += bracket;
  }
  std::string out_;
  std::vector<bool> first_;
};

std::string to_json(const Report& r, const std::string& plot_path) {
  const io::ResultsInfo& info = r.info;
  const io::RunMeta& m = info.meta;
  Json j;
  j.begin_object();
  j.string("file", info.path);
  j.string("state", info.state);
  j.boolean("complete", info.state == "complete");
  j.string("carlo_version", m.carlo_version);
  // Provenance is written when a run finishes: absent (null) in a RUNNING file, not zero.
  const bool recorded = !m.simulation.empty();
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
  const auto optional_count = [&](const char* key, int v) {
    if (recorded) j.integer(key, static_cast<std::uint64_t>(std::max(v, 0)));
    else j.null(key);
  };
  optional_count("ranks", m.ranks);
  optional_count("nodes", m.nodes);

  j.begin_object("timing");
  const auto optional_text = [&](const char* key, const std::string& v) {
    if (v.empty()) j.null(key);
    else j.string(key, v);
  };
  optional_text("start_time", m.start_time);
  optional_text("end_time", m.end_time);
  j.number("wall_seconds", recorded ? m.wall_seconds : std::nan(""));
  j.number("tasks_per_second", recorded ? m.tasks_per_second : std::nan(""));
  j.number("tasks_per_second_per_rank", m.ranks > 0 ? m.tasks_per_second / m.ranks : std::nan(""));
  j.integer("batches", r.timeline.size());
  if (r.loads.empty()) {
    j.null("per_rank");
  } else {
    j.begin_array("per_rank");
    for (const RankLoad& l : r.loads) {
      j.begin_object();
      j.integer("rank", static_cast<std::uint64_t>(l.rank));
      j.integer("batches", l.batches);
      j.integer("tasks", l.tasks);
      j.number("busy_seconds", l.busy_seconds);
      j.number("busy_fraction",
               r.span_seconds > 0 ? l.busy_seconds / r.span_seconds : std::nan(""));
      j.number("tasks_per_busy_second",
               l.busy_seconds > 0 ? static_cast<double>(l.tasks) / l.busy_seconds : std::nan(""));
      j.end_object();
    }
    j.end_array();
  }
  j.end_object();

  j.begin_array("observations");
  for (const ObservationReport& o : r.observations) {
    const io::Summary& s = o.summary;
    const double half = kZ95 * s.stderr_;
    j.begin_object();
    j.string("name", o.name);
    j.string("summary_source", o.stored ? "file" : "computed (run not finished)");
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
  j.end_array();

  j.begin_array("tallies");
  for (const TallyReport& t : r.tallies) {
    j.begin_object();
    j.string("name", t.name);
    j.integer("length", t.length);
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
  j.end_array();

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

  j.begin_object("options");
  for (const auto& [name, value] : m.options) j.string_member(name, value);
  j.end_object();
  if (plot_path.empty()) j.null("plot");
  else j.string("plot", plot_path);
  j.end_object();
  return j.str();
}

// ---------------------------------------------------------------------------------------------
// Plot
// ---------------------------------------------------------------------------------------------

PlotInput plot_input(const Report& r) {
  const io::ResultsInfo& info = r.info;
  const io::RunMeta& m = info.meta;
  PlotInput in;
  in.file = info.path;
  in.state = info.state;
  in.simulation = m.simulation;
  in.ranks = m.ranks;
  in.wall_seconds = r.span_seconds;
  in.timeline = r.timeline;
  in.subtitle = svg::grouped(m.tasks) + " tasks: " + svg::grouped(info.done) + " done, " +
                svg::grouped(info.failed) + " failed, " + svg::grouped(info.pending) + " pending";
  if (!m.simulation.empty()) in.subtitle += " · seed " + u64(m.seed);
  if (!m.data_path.empty()) in.subtitle += " · data " + m.data_path;
  if (m.ranks > 0)
    in.subtitle += " · " + plural(static_cast<std::uint64_t>(m.ranks), "rank") + " on " +
                   plural(static_cast<std::uint64_t>(std::max(m.nodes, 0)), "node");
  if (m.wall_seconds > 0) in.subtitle += " · wall " + num(m.wall_seconds, 4) + " s";
  for (const ObservationReport& o : r.observations) {
    // One observation in memory at a time: T doubles.
    const std::vector<double> values = io::read_observation(info.path, o.name);
    ObservationSeries s;
    s.name = o.name;
    s.count = o.summary.count;
    s.mean = o.summary.mean;
    s.stderr_ = o.summary.stderr_;
    s.p2_5 = o.summary.p2_5;
    s.p97_5 = o.summary.p97_5;
    s.histogram = make_histogram(values);
    s.running = running_estimate(values, kPlotPoints);
    in.observations.push_back(std::move(s));
  }
  return in;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw InputError(path + ": cannot create the plot file");
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  if (!out) throw InputError(path + ": cannot write the plot file");
}

}  // namespace

int cmd_report(const Args& args) {
  po::options_description opts("options");
  std::string file, plot;
  opts.add_options()("help,h", "describe this command")(
      "json", "print the report as JSON on stdout")("plot", po::value(&plot),
                                                    "write an SVG figure to this path")(
      "force", "overwrite the --plot file if it exists");
  po::options_description hidden;
  hidden.add_options()("file", po::value(&file));
  po::variables_map vm;
  if (!parse_subcommand(args, kReportUsage, opts, hidden, "file", 1, vm)) return 0;
  if (file.empty()) throw InputError("no results file given (usage: carlo report RESULTS.h5)");
  if (vm.count("plot") && plot.empty()) throw InputError("--plot: empty path");
  // Refused before any reading, so a long report never ends in "exists".
  if (!plot.empty()) check_output_path(plot, vm.count("force") > 0);

  const Report report = gather(file);
  if (!plot.empty()) write_file(plot, render_report_svg(plot_input(report)));
  if (vm.count("json")) {
    const std::string text = to_json(report, plot);
    std::fwrite(text.data(), 1, text.size(), stdout);
  } else {
    print_text(report, plot);
  }
  return 0;
}

}  // namespace carlo::cli
