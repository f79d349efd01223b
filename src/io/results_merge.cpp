// `carlo merge`: the results files of a run split with --task-range, combined into the file one
// run over all tasks would have written (docs/split-merge.md).
//
// The merged file is produced by the same ResultsWriter as a run, fed the parts' observations in
// bounded pieces and the parts' statuses through the StatusSource, so its layout and summaries are
// the runner's own. Every check that can refuse the merge runs before the first byte is written.
#include "io/results_merge.h"

#include "core/tally_words.h"
#include "io/h5.h"
#include "io/results_file.h"

#include <carlo/error.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace carlo::io {

namespace {

/// Tasks copied or checked at a time: 8 MiB per observation.
constexpr std::uint64_t kMergePiece = std::uint64_t{1} << 20;

struct Part {
  std::string path;
  ResultsInfo info;
  std::uint64_t first = 0, end = 0;  ///< its task range [first, end)
};

std::optional<std::string> option(const ResultsInfo& info, const std::string& name) {
  for (const auto& [k, v] : info.meta.options)
    if (k == name) return v;
  return std::nullopt;
}

std::string range_text(const Part& p) {
  return std::to_string(p.first) + ":" + std::to_string(p.end);
}

std::optional<std::uint64_t> parse_uint(const std::string& s) {
  if (s.empty() || s.size() > 20 || s.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

/// Reads and checks one part on its own: a complete results file with a task range of all its
/// tasks.
Part read_part(const std::string& path) {
  Part p;
  p.path = path;
  p.info = read_results_info(path);  // InputError if it is not a results file
  if (p.info.state != "complete")
    throw InputError(path + ": state '" + p.info.state +
                     "' (not a complete results file; rerun that part, or carlo run "
                     "--resume it, before merging)");
  // A run stopped by --target-stderr keeps a prefix of its tasks: not a slice of a T-task run.
  const auto requested = option(p.info, "tasks");
  if (!requested) throw InputError(path + ":/options: no tasks (not written by carlo run)");
  if (*requested != std::to_string(p.info.meta.tasks))
    throw InputError(path + ": keeps " + std::to_string(p.info.meta.tasks) + " of " + *requested +
                     " requested tasks (stopped by --target-stderr; cannot be merged)");
  const auto range = option(p.info, "task-range");
  if (!range)
    throw InputError(path +
                     ":/options: no task-range (not written by a carlo run that can be merged)");
  const auto colon = range->find(':');
  const auto a = colon == std::string::npos ? std::nullopt : parse_uint(range->substr(0, colon));
  const auto b = colon == std::string::npos ? std::nullopt : parse_uint(range->substr(colon + 1));
  const std::uint64_t tasks = p.info.meta.tasks;
  if (!a || !b || *a >= *b || *b > tasks)
    throw InputError(path + ":/options task-range: '" + *range +
                     "' is not A:B with A < B <= " + std::to_string(tasks));
  p.first = *a;
  p.end = *b;
  return p;
}

/// Everything that must be equal across parts, name -> value, in a stable order.
std::vector<std::pair<std::string, std::string>> identity(const Part& p,
                                                          const MustAgree& must_agree) {
  std::vector<std::pair<std::string, std::string>> id;
  for (const auto& [k, v] : p.info.meta.options)
    if (!must_agree || must_agree(k)) id.emplace_back(k, v);
  id.emplace_back("carlo_version", p.info.meta.carlo_version);
  id.emplace_back("data fingerprint", p.info.meta.data_checksum);
  std::string names;
  for (const auto& n : p.info.observation_names) names += (names.empty() ? "" : ",") + n;
  id.emplace_back("observations", names);
  std::string tallies;
  for (const auto& t : p.info.tallies)
    tallies += (tallies.empty() ? "" : ",") + t.name + "[" + std::to_string(t.length) +
               (t.kind == TallyKind::real ? ",real]" : "]");
  id.emplace_back("tallies", tallies);
  return id;
}

std::string shown(const std::optional<std::string>& v) {
  if (!v) return "(absent)";
  return v->empty() ? "''" : *v;
}

/// InputError naming the first parameter in which `p` differs from `ref`.
void check_same_run(const Part& ref, const Part& p, const MustAgree& must_agree) {
  if (p.info.meta.tasks != ref.info.meta.tasks)
    throw InputError(p.path + ": tasks " + std::to_string(p.info.meta.tasks) + " differs from " +
                     ref.path + ": tasks " + std::to_string(ref.info.meta.tasks));
  const auto a = identity(ref, must_agree);
  const auto b = identity(p, must_agree);
  const auto find = [](const auto& id, const std::string& name) -> std::optional<std::string> {
    for (const auto& [k, v] : id)
      if (k == name) return v;
    return std::nullopt;
  };
  const auto differ = [&](const std::string& name) {
    const auto va = find(a, name);
    const auto vb = find(b, name);
    if (va != vb)
      throw InputError(p.path + ": " + name + " " + shown(vb) + " differs from " + ref.path + ": " +
                       name + " " + shown(va));
  };
  for (const auto& [k, v] : a) differ(k);
  for (const auto& [k, v] : b) differ(k);
}

/// InputError unless the ranges of `sorted` (by first task) tile [0, T) exactly.
void check_tiling(const std::vector<const Part*>& sorted, std::uint64_t tasks) {
  const Part* reach = nullptr;  // the part reaching furthest so far
  for (const Part* p : sorted) {
    const std::uint64_t covered = reach ? reach->end : 0;
    if (p->first < covered)
      throw InputError(reach->path + " (tasks " + range_text(*reach) + ") and " + p->path +
                       " (tasks " + range_text(*p) + ") overlap at task " +
                       std::to_string(p->first));
    if (p->first > covered)
      throw InputError(
          "tasks " + std::to_string(covered) + ":" + std::to_string(p->first) +
          " are in no part (" +
          (reach ? "between " + reach->path + " and " + p->path
                 : "the first part, " + p->path + ", starts at " + std::to_string(p->first)) +
          ")");
    reach = p;
  }
  if (reach && reach->end < tasks)
    throw InputError("tasks " + std::to_string(reach->end) + ":" + std::to_string(tasks) +
                     " are in no part (the last part, " + reach->path + ", ends at " +
                     std::to_string(reach->end) + ")");
}

/// Seconds since the epoch of runner's "YYYY-MM-DDTHH:MM:SSZ"; nullopt if it is not that.
std::optional<std::int64_t> parse_iso_utc(const std::string& s) {
  std::tm tm{};
  char z = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z) != 7 ||
      z != 'Z')
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<std::int64_t>(timegm(&tm));
}

/// Removes the temporary output unless the merge got as far as renaming it into place.
class TempFile {
 public:
  explicit TempFile(std::string path) : path_(std::move(path)) {}
  ~TempFile() {
    if (!path_.empty()) {
      std::error_code ec;
      std::filesystem::remove(path_, ec);
    }
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const noexcept { return path_; }
  void commit_to(const std::string& target) {
    std::error_code ec;
    std::filesystem::rename(path_, target, ec);
    if (ec) throw SystemError(target + ": cannot move merged file into place: " + ec.message());
    path_.clear();
  }

 private:
  std::string path_;
};

/// Copies every part's observations of its own range into the writer, a piece at a time.
void copy_observations(ResultsWriter& writer, const std::vector<const Part*>& sorted,
                       const std::vector<ObservationSpec>& specs) {
  std::vector<double> values;
  std::uint64_t width = 0;
  for (const auto& s : specs) width += s.width();
  for (const Part* p : sorted) {
    h5::Id file = h5::open_file(p->path);
    std::vector<h5::Id> sets;
    for (const auto& s : specs) sets.push_back(h5::open_dataset(file, "/observations/" + s.name));
    for (std::uint64_t first = p->first; first < p->end; first += kMergePiece) {
      const std::uint64_t n = std::min(kMergePiece, p->end - first);
      values.resize(static_cast<std::size_t>(n * width));
      std::uint64_t column = 0;
      for (std::size_t k = 0; k < sets.size(); ++k) {
        h5::read_columns(sets[k], specs[k].width(), first, n, values.data() + column * n,
                         h5::Blame::input);
        column += specs[k].width();
      }
      writer.write_observations(first, n, values);
    }
  }
}

/// Tallies summed over the parts: exact integer sums for counts, exact limb merges (from
/// /tallies_exact) for real tallies, so the order of the parts is irrelevant and a merge of
/// --task-range parts is bitwise identical to one run.
std::vector<std::vector<std::uint64_t>> sum_tallies(const std::vector<const Part*>& sorted,
                                                    const std::vector<TallySpec>& specs) {
  std::vector<std::vector<std::uint64_t>> totals = zero_tallies(specs);
  std::vector<std::uint64_t> buf;
  for (const Part* p : sorted) {
    h5::Id file = h5::open_file(p->path);
    for (std::size_t k = 0; k < specs.size(); ++k) {
      const bool real = specs[k].kind == TallyKind::real;
      h5::Id d = h5::open_dataset(file, (real ? "/tallies_exact/" : "/tallies/") + specs[k].name);
      const std::uint64_t words = tally_words(specs[k]);
      const std::uint64_t piece =
          real ? kMergePiece * ExactSum::kLimbs : kMergePiece;  // whole bins
      for (std::uint64_t first = 0; first < words; first += piece) {
        const std::uint64_t n = std::min(piece, words - first);
        buf.resize(static_cast<std::size_t>(n));
        h5::read_1d(d, H5T_NATIVE_UINT64, first, n, buf.data(), h5::Blame::input);
        add_tally(std::span<std::uint64_t>(totals[k]).subspan(first, n), buf, specs[k].kind);
      }
    }
  }
  return totals;
}

/// The StatusSource of the merged file: each task's status and attempts from the part that ran
/// it. Requests come in increasing ranges, so one part is open at a time.
class PartStatus {
 public:
  explicit PartStatus(const std::vector<const Part*>& sorted) : sorted_(sorted) {}

  void operator()(std::uint64_t first, std::uint64_t count, TaskState* status,
                  std::uint8_t* attempts) {
    const std::uint64_t stop = first + count;
    for (std::uint64_t t = first; t < stop;) {
      while (sorted_[cur_]->end <= t) ++cur_;  // tiling checked: some part holds t
      const Part& p = *sorted_[cur_];
      if (open_ != cur_) {
        file_ = h5::open_file(p.path);
        status_ = h5::open_dataset(file_, "/tasks/status");
        attempts_ = h5::open_dataset(file_, "/tasks/attempts");
        open_ = cur_;
      }
      const std::uint64_t n = std::min(stop, p.end) - t;
      TaskState* st = status + (t - first);
      h5::read_1d(status_, H5T_NATIVE_UINT8, t, n, st, h5::Blame::input);
      h5::read_1d(attempts_, H5T_NATIVE_UINT8, t, n, attempts + (t - first), h5::Blame::input);
      for (std::uint64_t i = 0; i < n; ++i)
        if (st[i] != TaskState::done && st[i] != TaskState::failed)
          throw InputError(p.path + ":/tasks/status: task " + std::to_string(t + i) +
                           " inside its task-range " + range_text(p) + " is not done or failed");
      t += n;
    }
  }

 private:
  const std::vector<const Part*>& sorted_;
  std::size_t cur_ = 0;
  std::size_t open_ = static_cast<std::size_t>(-1);
  h5::Id file_, status_, attempts_;
};

RunMeta merged_meta(const std::vector<const Part*>& sorted, std::uint64_t resolved) {
  const RunMeta& ref = sorted.front()->info.meta;
  RunMeta meta;
  meta.carlo_version = ref.carlo_version;
  meta.simulation = ref.simulation;
  meta.seed = ref.seed;
  meta.tasks = ref.tasks;
  meta.data_path = ref.data_path;
  meta.data_size = ref.data_size;
  meta.data_mtime = ref.data_mtime;
  meta.data_checksum = ref.data_checksum;
  meta.start_time = ref.start_time;
  meta.end_time = ref.end_time;
  for (const Part* p : sorted) {
    const RunMeta& m = p->info.meta;
    // Parts usually run side by side (a job array): the resources they used add up.
    meta.ranks += m.ranks;
    meta.nodes += m.nodes;
    meta.wall_seconds += m.wall_seconds;
    // The runner's format sorts as text.
    meta.start_time = std::min(meta.start_time, m.start_time);
    meta.end_time = std::max(meta.end_time, m.end_time);
    for (const auto& [name, value] : m.metrics) {
      if (name == "tasks_requested") continue;
      auto it = std::find_if(meta.metrics.begin(), meta.metrics.end(),
                             [&name = name](const auto& kv) { return kv.first == name; });
      if (it == meta.metrics.end()) meta.metrics.emplace_back(name, value);
      else it->second += value;
    }
  }
  meta.tasks_per_second =
      meta.wall_seconds > 0 ? static_cast<double>(resolved) / meta.wall_seconds : 0;
  meta.options = ref.options;
  for (auto& [name, value] : meta.options) {
    if (name == "task-range") value = "0:" + std::to_string(meta.tasks);
    if (name == "ranks") value = std::to_string(meta.ranks);
  }
  return meta;
}

/// The parts' timelines side by side: each part's ranks get lanes of their own (after the ranks
/// of the parts before it) and its times shift by its start relative to the earliest part.
std::vector<TimelineEntry> merged_timeline(const std::vector<const Part*>& sorted,
                                           const std::string& earliest) {
  std::vector<TimelineEntry> out;
  const auto t0 = parse_iso_utc(earliest);
  std::int32_t lane = 0;
  for (const Part* p : sorted) {
    const auto start = parse_iso_utc(p->info.meta.start_time);
    const double shift = t0 && start ? static_cast<double>(*start - *t0) : 0.0;
    for (auto e : read_timeline(p->path)) {
      e.rank += lane;
      e.start += shift;
      e.end += shift;
      out.push_back(e);
    }
    lane += std::max(p->info.meta.ranks, 0);
  }
  return out;
}

std::string temp_name(const std::string& output) {
  const std::filesystem::path out(output);
  const auto name = "." + out.filename().string() + ".merging." + std::to_string(::getpid());
  return (out.parent_path() / name).string();
}

}  // namespace

MergeSummary merge_results(const std::vector<std::string>& parts, const std::string& output,
                           bool overwrite, const MustAgree& must_agree) {
  if (parts.empty()) throw InputError("no part files given");
  if (output.empty()) throw InputError("no output file given (-o ALL.h5)");
  std::error_code ec;
  if (std::filesystem::exists(output, ec)) {
    if (!overwrite) throw InputError(output + ": output exists (use --force to overwrite)");
    for (const auto& path : parts)
      if (std::filesystem::equivalent(output, path, ec))
        throw InputError(output + ": the output is also one of the parts");
  }
  // Checked here so the error names the output, not the temporary file created next to it.
  const auto dir = std::filesystem::path(output).parent_path();
  if (!dir.empty() && !std::filesystem::is_directory(dir, ec))
    throw InputError(output + ": directory " + dir.string() + " does not exist");

  // Read and check everything before writing anything.
  std::vector<Part> all;
  all.reserve(parts.size());
  for (const auto& path : parts) all.push_back(read_part(path));
  for (std::size_t i = 1; i < all.size(); ++i) check_same_run(all.front(), all[i], must_agree);
  std::vector<const Part*> sorted;
  for (const auto& p : all) sorted.push_back(&p);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Part* a, const Part* b) { return a->first < b->first; });
  const ResultsInfo& ref = sorted.front()->info;
  const std::uint64_t tasks = ref.meta.tasks;
  check_tiling(sorted, tasks);

  MergeSummary summary;
  summary.tasks = tasks;
  summary.parts = all.size();
  std::vector<Failure> failures;
  for (const Part* p : sorted) {
    summary.done += p->info.done;
    summary.failed += p->info.failed;
    for (const auto& f : p->info.failures)
      if (f.task >= p->first && f.task < p->end) failures.push_back(f);
  }

  const RunMeta meta = merged_meta(sorted, summary.done + summary.failed);
  TempFile temp(temp_name(output));
  {
    ResultsWriter writer(temp.path(), ref.observation_specs, ref.tallies, tasks,
                         /*overwrite=*/true);
    copy_observations(writer, sorted, ref.observation_specs);
    const auto tallies = sum_tallies(sorted, ref.tallies);
    PartStatus status(sorted);
    writer.finish(std::ref(status), tallies, failures, meta, "complete");
  }
  {
    std::string from;
    for (const Part* p : sorted)
      from += std::filesystem::absolute(p->path).lexically_normal().string() + "\n";
    h5::Id file = h5::open_file(temp.path(), /*writable=*/true);
    h5::write_attr(file, "merged_from", from);
  }
  const auto timeline = merged_timeline(sorted, meta.start_time);
  summary.timeline_batches = timeline.size();
  if (!timeline.empty()) write_timeline(temp.path(), timeline);
  temp.commit_to(output);
  return summary;
}

}  // namespace carlo::io
