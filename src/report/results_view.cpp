// Reading a results file into a ResultsView (src/report/results_view.h), through the io layer
// only (no HDF5 here).
#include "report/results_view.h"

#include "core/tally_words.h"
#include "io/results_internal.h"

#include <carlo/error.h>

#include <algorithm>
#include <limits>

namespace carlo::report {

namespace {

constexpr std::size_t kTopBins = 5;
/// Bound on ranks in a timeline whose run did not record its rank count.
constexpr std::int32_t kMaxTimelineRank = 1 << 22;

TallyView real_tally(const std::string& path, const TallySpec& spec);

TallyView count_tally(const std::string& path, const TallySpec& spec) {
  if (spec.kind == TallyKind::real) return real_tally(path, spec);
  TallyView t;
  t.name = spec.name;
  t.counted = true;
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

// A real tally is read whole (its exact limbs): the total is their exact sum, correctly rounded.
TallyView real_tally(const std::string& path, const TallySpec& spec) {
  TallyView t;
  t.name = spec.name;
  t.length = spec.length;
  t.real = true;
  t.counted = true;
  const std::vector<std::uint64_t> words = io::read_tally_words(path, spec);
  ExactSum total;
  for (std::size_t i = 0; i + ExactSum::kLimbs <= words.size(); i += ExactSum::kLimbs)
    total.merge(ExactSum(ExactSum::ConstLimbSpan(&words[i], ExactSum::kLimbs)));
  t.sum = total.value();
  const std::vector<double> bins = real_values(words);
  for (std::size_t i = 0; i < bins.size(); ++i) {
    t.min = i == 0 ? bins[i] : std::min(t.min, bins[i]);
    t.max = i == 0 ? bins[i] : std::max(t.max, bins[i]);
    if (bins[i] != 0) ++t.nonzero;
  }
  return t;
}

// A brief read sums the tally in pieces: a tally may have 2^30 bins.
TallyView total_tally(const std::string& path, const TallySpec& spec) {
  if (spec.kind == TallyKind::real) return real_tally(path, spec);
  TallyView t;
  t.name = spec.name;
  t.length = spec.length;
  t.total = io::detail::tally_total(path, spec.name);
  return t;
}

/// A summary computed here matches the stored one's definition (io::summarize), so a RUNNING file
/// shows provisional figures of the same kind.
std::vector<ObservationView> observations(const io::ResultsInfo& info, Depth depth) {
  std::vector<ObservationView> out;
  for (std::size_t k = 0; k < info.observation_names.size(); ++k) {
    ObservationView o;
    o.name = info.observation_names[k];
    if (k < info.summaries.size()) {
      o.summary = info.summaries[k];
    } else if (depth == Depth::full) {
      o.summary = io::detail::summarize_observation(info.path, o.name);  // in pieces
      o.source = SummarySource::computed;
    } else {
      o.source = SummarySource::none;
    }
    out.push_back(std::move(o));
  }
  return out;
}

// Lanes and per-rank tables are indexed by rank: a damaged file must not make them huge.
void check_timeline_ranks(const io::ResultsInfo& info,
                          const std::vector<io::TimelineEntry>& timeline) {
  const int ranks = info.meta.ranks;
  for (std::size_t i = 0; i < timeline.size(); ++i) {
    const std::int32_t rank = timeline[i].rank;
    if (rank < 0 || (ranks > 0 && rank >= ranks) || rank > kMaxTimelineRank)
      throw InputError(info.path + ":/timeline/rank: rank " + std::to_string(rank) + " at index " +
                       std::to_string(i) + " outside the run's ranks (" + std::to_string(ranks) +
                       ")");
  }
}

}  // namespace

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

ResultsView read_results(const std::string& path, Depth depth) {
  ResultsView v;
  v.depth = depth;
  v.info = io::read_results_info(path);
  v.state = describe_state(v.info);
  v.observations = observations(v.info, depth);
  for (const TallySpec& spec : v.info.tallies)
    v.tallies.push_back(depth == Depth::full ? count_tally(path, spec) : total_tally(path, spec));
  v.span_seconds = std::max(v.info.meta.wall_seconds, 0.0);
  if (depth == Depth::brief) return v;
  v.timeline = io::read_timeline(path);
  check_timeline_ranks(v.info, v.timeline);
  v.loads = rank_loads(v.timeline, v.info.meta.ranks);
  for (const auto& e : v.timeline) v.span_seconds = std::max(v.span_seconds, e.end);
  return v;
}

}  // namespace carlo::report
