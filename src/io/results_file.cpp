// Results files (DESIGN §3, docs/results-format.md).
//
// Observations are chunked float64 datasets with a NaN fill value: a task nobody wrote reads as
// NaN, nothing is allocated up front, and a batch written anywhere touches only its own chunks.
// Everything rank 0 does here streams in bounded pieces, so its memory does not grow with the
// task count.
#include "io/results_file.h"

#include "core/observations.h"
#include "core/tally_words.h"
#include "io/h5.h"
#include "io/results_internal.h"

#include <carlo/error.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <system_error>

namespace carlo::io {

namespace {

constexpr const char* kFormat = "carlo.results";
constexpr std::int64_t kVersion = 1;
/// 64 Ki doubles = 512 KiB per chunk: a batch of a million tasks is 16 chunks, and 10^8 tasks are
/// ~1,500 chunk index entries per observation.
constexpr std::uint64_t kObservationChunk = std::uint64_t{1} << 16;
/// Chunk cache shared out among the observations: room for many partly written chunks, so batches
/// landing next to each other in any order rarely read a chunk back, while rank 0's memory stays
/// bounded whatever the number of observations (at least 4 chunks each).
constexpr std::size_t kChunkCacheBudget = std::size_t{64} << 20;
constexpr std::size_t kChunkCacheMin = std::size_t{2} << 20;
constexpr std::uint64_t kStatusChunk = std::uint64_t{1} << 20;
/// Pieces rank 0 reads or writes at a time in finish() and in the readers.
constexpr std::uint64_t kPiece = std::uint64_t{1} << 20;

/// A group that remembers the order its links / attributes were created in, so observations,
/// tallies and options read back in the simulation's order.
h5::Id create_ordered_group(hid_t loc, const std::string& name) {
  h5::ErrorSilencer quiet;
  h5::Id gcpl = h5::check_id(H5Pcreate(H5P_GROUP_CREATE), "H5Pcreate(group create)");
  h5::check(H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED),
            "H5Pset_link_creation_order");
  h5::check(H5Pset_attr_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED),
            "H5Pset_attr_creation_order");
  return h5::check_id(H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, gcpl, H5P_DEFAULT),
                      "cannot create group " + name);
}

/// Chunked 1-D dataset of `size` elements whose unwritten elements read as `fill`.
template <class T>
h5::Id create_filled_dataset(hid_t loc, const std::string& name, std::uint64_t size,
                             std::uint64_t chunk, T fill, int gzip_level,
                             std::size_t cache_bytes = kChunkCacheMin) {
  h5::ErrorSilencer quiet;
  const hsize_t dim = size;
  h5::Id space = h5::check_id(H5Screate_simple(1, &dim, nullptr), "H5Screate_simple");
  h5::Id dcpl = h5::check_id(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate(dataset create)");
  // Chunk dimensions may not exceed a fixed dimension, and a chunk cannot be empty.
  if (size > 0) {
    const hsize_t c = std::min(size, chunk);
    h5::check(H5Pset_chunk(dcpl, 1, &c), "H5Pset_chunk");
    if (gzip_level > 0)
      h5::check(H5Pset_deflate(dcpl, static_cast<unsigned>(gzip_level)), "H5Pset_deflate");
  }
  h5::check(H5Pset_fill_value(dcpl, h5::native_of<T>(), &fill), "H5Pset_fill_value");
  h5::check(H5Pset_fill_time(dcpl, H5D_FILL_TIME_IFSET), "H5Pset_fill_time");
  h5::Id dapl = h5::check_id(H5Pcreate(H5P_DATASET_ACCESS), "H5Pcreate(dataset access)");
  // w0 = 1: evict fully written chunks first; the partly written ones wait for their neighbours.
  h5::check(H5Pset_chunk_cache(dapl, 4099, cache_bytes, 1.0), "H5Pset_chunk_cache");
  return h5::check_id(
      H5Dcreate2(loc, name.c_str(), h5::native_of<T>(), space, H5P_DEFAULT, dcpl, dapl),
      "cannot create dataset " + name);
}

/// Chunked float64[size, width] dataset of NaN: a vector observation. A chunk holds whole rows,
/// about `chunk` values.
h5::Id create_vector_dataset(hid_t loc, const std::string& name, std::uint64_t size,
                             std::uint64_t width, std::uint64_t chunk, std::size_t cache_bytes) {
  h5::ErrorSilencer quiet;
  const hsize_t dim[2] = {size, width};
  h5::Id space = h5::check_id(H5Screate_simple(2, dim, nullptr), "H5Screate_simple");
  h5::Id dcpl = h5::check_id(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate(dataset create)");
  if (size > 0) {
    const hsize_t c[2] = {std::min<hsize_t>(size, std::max<hsize_t>(chunk / width, 1)), width};
    h5::check(H5Pset_chunk(dcpl, 2, c), "H5Pset_chunk");
  }
  const double fill = std::numeric_limits<double>::quiet_NaN();
  h5::check(H5Pset_fill_value(dcpl, H5T_NATIVE_DOUBLE, &fill), "H5Pset_fill_value");
  h5::check(H5Pset_fill_time(dcpl, H5D_FILL_TIME_IFSET), "H5Pset_fill_time");
  h5::Id dapl = h5::check_id(H5Pcreate(H5P_DATASET_ACCESS), "H5Pcreate(dataset access)");
  h5::check(H5Pset_chunk_cache(dapl, 4099, cache_bytes, 1.0), "H5Pset_chunk_cache");
  return h5::check_id(
      H5Dcreate2(loc, name.c_str(), H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, dcpl, dapl),
      "cannot create dataset " + name);
}

/// Names of the links in `group`, in creation order when the file tracks it, else by name.
std::vector<std::string> link_names(hid_t group) {
  h5::ErrorSilencer quiet;
  std::vector<std::string> names;
  const auto collect = [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
    static_cast<std::vector<std::string>*>(data)->emplace_back(name);
    return 0;
  };
  hsize_t idx = 0;
  if (H5Literate(group, H5_INDEX_CRT_ORDER, H5_ITER_INC, &idx, collect, &names) >= 0) return names;
  H5Eclear2(H5E_DEFAULT);
  names.clear();
  idx = 0;
  h5::check(H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &idx, collect, &names),
            "cannot list group", h5::Blame::input);
  return names;
}

/// Names of the attributes of `obj`, in creation order when tracked, else by name.
std::vector<std::string> attr_names(hid_t obj) {
  h5::ErrorSilencer quiet;
  std::vector<std::string> names;
  const auto collect = [](hid_t, const char* name, const H5A_info_t*, void* data) -> herr_t {
    static_cast<std::vector<std::string>*>(data)->emplace_back(name);
    return 0;
  };
  hsize_t idx = 0;
  if (H5Aiterate2(obj, H5_INDEX_CRT_ORDER, H5_ITER_INC, &idx, collect, &names) >= 0) return names;
  H5Eclear2(H5E_DEFAULT);
  names.clear();
  idx = 0;
  h5::check(H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, collect, &names),
            "cannot list attributes", h5::Blame::input);
  return names;
}

/// A scan (see results_internal.h) over column `column` of an observation dataset of `width`
/// columns (a 1-D float64 dataset when width is 1), `chunk_values` tasks at a time.
detail::Scan dataset_scan(hid_t dset, std::uint64_t length, std::uint64_t chunk_values,
                          std::vector<double>& buffer, std::uint64_t width = 1,
                          std::uint64_t column = 0) {
  return [dset, length, chunk_values, &buffer, width, column](const detail::ChunkVisitor& visit) {
    buffer.resize(static_cast<std::size_t>(std::min(length, chunk_values) * width));
    for (std::uint64_t first = 0; first < length; first += chunk_values) {
      const std::uint64_t n = std::min(chunk_values, length - first);
      h5::read_columns(dset, width, first, n, buffer.data());
      visit(std::span<const double>(buffer.data() + column * n, static_cast<std::size_t>(n)));
    }
  };
}

/// A vector observation's summary: each statistic an array with one element per component.
void write_vector_summary(hid_t summary_group, const std::string& name,
                          std::span<const Summary> parts) {
  h5::Id g = h5::create_group(summary_group, name);
  std::vector<std::uint64_t> count;
  for (const auto& s : parts) count.push_back(s.count);
  h5::write_attr(g, "count", count);
  const auto stat = [&](const char* attr, double Summary::*field) {
    std::vector<double> v;
    for (const auto& s : parts) v.push_back(s.*field);
    h5::write_attr(g, attr, v);
  };
  stat("mean", &Summary::mean);
  stat("sd", &Summary::sd);
  stat("stderr", &Summary::stderr_);
  stat("min", &Summary::min);
  stat("max", &Summary::max);
  stat("p2.5", &Summary::p2_5);
  stat("p50", &Summary::p50);
  stat("p97.5", &Summary::p97_5);
}

void write_summary(hid_t summary_group, const std::string& name, const Summary& s) {
  h5::Id g = h5::create_group(summary_group, name);
  h5::write_attr(g, "count", s.count);
  h5::write_attr(g, "mean", s.mean);
  h5::write_attr(g, "sd", s.sd);
  h5::write_attr(g, "stderr", s.stderr_);
  h5::write_attr(g, "min", s.min);
  h5::write_attr(g, "max", s.max);
  h5::write_attr(g, "p2.5", s.p2_5);
  h5::write_attr(g, "p50", s.p50);
  h5::write_attr(g, "p97.5", s.p97_5);
}

std::string options_text(const RunMeta& meta) {
  std::string text;
  for (const auto& [name, value] : meta.options) text += name + "=" + value + "\n";
  return text;
}

/// Opens a results file for reading; InputError naming the file when it is not one.
h5::Id open_results(const std::string& path) {
  h5::Id file = h5::open_file(path);
  if (h5::object_type(file, "/tasks") != H5O_TYPE_GROUP)
    throw InputError(path + ":/tasks: missing (not a carlo results file)");
  if (!h5::has_attr(file, "state"))
    throw InputError(path + ":/ attribute 'state': missing (not a carlo results file)");
  return file;
}

h5::Id open_member(hid_t file, const std::string& path, const std::string& group,
                   const std::string& name, const char* what) {
  const std::string object = "/" + group + "/" + name;
  if (h5::object_type(file, object) != H5O_TYPE_DATASET)
    throw InputError(path + ":" + object + ": no such " + what);
  return h5::open_dataset(file, object);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------------------------

struct ResultsWriter::Impl {
  std::string path;
  h5::Id file;  // declared first: closed last
  std::vector<ObservationSpec> specs;
  std::size_t width = 0;             ///< observation columns per task
  std::vector<h5::Id> observations;  ///< one dataset per spec
  std::vector<TallySpec> tallies;
  std::uint64_t tasks = 0;
  std::uint64_t keep = UINT64_MAX;    ///< keep_prefix()
  std::uint64_t extent = UINT64_MAX;  ///< set_resolved_extent()
  std::vector<Summary> summaries;     ///< written by finish()
  bool finished = false;

  // The steps of finish(), in order.
  void check_finish(const TallyViews& tallies, const std::string& state) const;
  void shrink_to_keep();
  void write_status(const StatusSource& status);
  void write_tallies(const TallyViews& tallies);
  void write_failures(const std::vector<Failure>& failures);
  void write_summaries();
  void write_provenance(const RunMeta& meta);
};

ResultsWriter::ResultsWriter(const std::string& path, std::vector<std::string> observation_names,
                             std::vector<TallySpec> tallies, std::uint64_t tasks, bool overwrite)
    : ResultsWriter(path, scalar_observations(std::move(observation_names)), std::move(tallies),
                    tasks, overwrite) {}

std::vector<ObservationSpec> ResultsWriter::scalar_observations(std::vector<std::string> names) {
  std::vector<ObservationSpec> specs;
  for (auto& n : names) specs.push_back({std::move(n), 0});
  return specs;
}

ResultsWriter::ResultsWriter(const std::string& path, std::vector<ObservationSpec> observations,
                             std::vector<TallySpec> tallies, std::uint64_t tasks, bool overwrite)
    : impl_(std::make_unique<Impl>()) {
  std::error_code ec;
  if (!overwrite && std::filesystem::exists(path, ec))
    throw InputError(path + ": output exists (use --force to overwrite)");
  for (std::size_t i = 0; i < observations.size(); ++i) {
    const auto& n = observations[i].name;
    bool repeated = false;
    for (std::size_t j = 0; j < i; ++j) repeated = repeated || observations[j].name == n;
    if (n.empty() || n.find('/') != std::string::npos || n == "." || repeated)
      throw std::invalid_argument("results file: bad or repeated observation name '" + n + "'");
  }
  Impl& m = *impl_;
  m.path = path;
  m.specs = std::move(observations);
  m.width = observation_width(m.specs);
  m.tallies = std::move(tallies);
  m.tasks = tasks;
  m.file = h5::create_file(path, overwrite);

  h5::write_attr(m.file, "format", kFormat);
  h5::write_attr(m.file, "version", kVersion);
  h5::write_attr(m.file, "state", "running");
  h5::write_attr(m.file, "carlo_version", CARLO_VERSION);
  h5::write_attr(m.file, "tasks", tasks);

  h5::Id obs = create_ordered_group(m.file, "observations");
  const std::size_t cache =
      std::max(kChunkCacheMin, kChunkCacheBudget / std::max<std::size_t>(m.specs.size(), 1));
  for (const auto& o : m.specs)
    m.observations.push_back(
        o.components == 0
            ? create_filled_dataset<double>(obs, o.name, tasks, kObservationChunk,
                                            std::numeric_limits<double>::quiet_NaN(), 0, cache)
            : create_vector_dataset(obs, o.name, tasks, o.components, kObservationChunk, cache));
  create_ordered_group(m.file, "summary");
  h5::Id tally_group = create_ordered_group(m.file, "tallies");
  std::optional<h5::Id> exact_group;
  for (const auto& t : m.tallies) {
    const bool real = t.kind == TallyKind::real;
    h5::Id d =
        h5::create_dataset_1d(tally_group, t.name, real ? H5T_NATIVE_DOUBLE : H5T_NATIVE_UINT64,
                              t.length, h5::DatasetOptions{0, 0, false, false});
    if (!real) continue;
    // A real tally's exact state (ExactSum limbs, bin-major) beside its rounded sums: merges of
    // results files add these, so they stay bitwise identical to one run.
    h5::write_attr(d, "kind", "real");
    if (!exact_group) exact_group = create_ordered_group(m.file, "tallies_exact");
    h5::create_dataset_1d(*exact_group, t.name, H5T_NATIVE_UINT64, tally_words(t),
                          h5::DatasetOptions{0, 0, false, false});
  }
  h5::Id task_group = h5::create_group(m.file, "tasks");
  // Status and attempts are almost constant: gzip makes 10^8 tasks a few hundred KiB.
  create_filled_dataset<std::uint8_t>(task_group, "status", tasks, kStatusChunk, 0, 1);
  create_filled_dataset<std::uint8_t>(task_group, "attempts", tasks, kStatusChunk, 0, 1);
  // The skeleton reaches the disk now, so even a killed run leaves a file that says "running".
  h5::ErrorSilencer quiet;
  h5::check(H5Fflush(m.file, H5F_SCOPE_GLOBAL), path + ": cannot flush");
}

ResultsWriter::~ResultsWriter() = default;
ResultsWriter::ResultsWriter(ResultsWriter&&) noexcept = default;
ResultsWriter& ResultsWriter::operator=(ResultsWriter&&) noexcept = default;

const std::string& ResultsWriter::path() const noexcept { return impl_->path; }

const std::vector<Summary>& ResultsWriter::summaries() const noexcept { return impl_->summaries; }

void ResultsWriter::set_resolved_extent(std::uint64_t end) { impl_->extent = end; }

void ResultsWriter::keep_prefix(std::uint64_t n) {
  if (n > impl_->tasks)
    throw std::invalid_argument(impl_->path + ": keep_prefix(" + std::to_string(n) + ") past " +
                                std::to_string(impl_->tasks) + " tasks");
  impl_->keep = n;
}

void ResultsWriter::write_observations(std::uint64_t first, std::uint64_t count,
                                       std::span<const double> values) {
  Impl& m = *impl_;
  if (m.finished) throw std::logic_error(m.path + ": write_observations after finish");
  if (first > m.tasks || count > m.tasks - first)
    throw std::invalid_argument(m.path + ": tasks " + std::to_string(first) + ".." +
                                std::to_string(first + count) + " outside 0.." +
                                std::to_string(m.tasks));
  if (values.size() != m.width * count)
    throw std::invalid_argument(m.path + ": " + std::to_string(values.size()) +
                                " observation values for " + std::to_string(count) + " tasks x " +
                                std::to_string(m.width) + " observation columns");
  if (count == 0) return;
  std::size_t column = 0;
  for (std::size_t k = 0; k < m.specs.size(); ++k) {
    h5::write_columns(m.observations[k], m.specs[k].width(), first, count,
                      values.data() + column * count);
    column += static_cast<std::size_t>(m.specs[k].width());
  }
}

void ResultsWriter::finish(const StatusSource& status,
                           const std::vector<std::vector<std::uint64_t>>& tallies,
                           const std::vector<Failure>& failures, const RunMeta& meta,
                           const std::string& state) {
  finish_views(status, TallyViews(tallies.begin(), tallies.end()), failures, meta, state);
}

void ResultsWriter::finish_views(const StatusSource& status, const TallyViews& tallies,
                                 const std::vector<Failure>& failures, const RunMeta& meta,
                                 const std::string& state) {
  Impl& m = *impl_;
  m.check_finish(tallies, state);
  m.shrink_to_keep();
  m.write_status(status);
  m.write_tallies(tallies);
  m.write_failures(failures);
  m.write_summaries();
  // Provenance last: `state` flips only once everything else is in the file.
  m.write_provenance(meta);
  h5::write_attr(m.file, "state", state);
  h5::ErrorSilencer quiet;
  h5::check(H5Fflush(m.file, H5F_SCOPE_GLOBAL), m.path + ": cannot flush");
  m.finished = true;
}

void ResultsWriter::Impl::check_finish(const TallyViews& counts, const std::string& state) const {
  if (finished) throw std::logic_error(path + ": finish called twice");
  if (state != "complete" && state != "partial")
    throw std::invalid_argument(path + ": final state '" + state + "' (complete or partial)");
  if (counts.size() != tallies.size())
    throw std::invalid_argument(path + ": " + std::to_string(counts.size()) + " tallies for " +
                                std::to_string(tallies.size()) + " declared");
  for (std::size_t k = 0; k < counts.size(); ++k)
    if (counts[k].size() != tally_words(tallies[k]))
      throw std::invalid_argument(path + ":/tallies/" + tallies[k].name + ": " +
                                  std::to_string(counts[k].size()) + " words, declared " +
                                  std::to_string(tally_words(tallies[k])));
}

// A run stopped by a stderr target keeps exactly tasks [0, keep): the per-task datasets shrink
// to that prefix (chunked datasets may shrink within their maximum size).
void ResultsWriter::Impl::shrink_to_keep() {
  if (keep >= tasks) return;
  h5::ErrorSilencer quiet;
  const hsize_t n = keep;
  for (std::size_t k = 0; k < observations.size(); ++k) {
    const hsize_t extent[2] = {n, specs[k].width()};
    h5::check(H5Dset_extent(observations[k], extent),
              path + ":/observations/" + specs[k].name + ": cannot shrink to " + std::to_string(n));
  }
  for (const char* name : {"/tasks/status", "/tasks/attempts"})
    h5::check(H5Dset_extent(h5::open_dataset(file, name), &n),
              path + ":" + name + ": cannot shrink");
  h5::write_attr(file, "tasks_requested", tasks);
  tasks = keep;
  h5::write_attr(file, "tasks", tasks);
}

// Task status, in pieces. Observations of tasks that are not done become NaN, so the file never
// holds a value the status disowns (e.g. tasks past a stderr target, or a failed task's stale
// batch) and the summaries cover exactly the done tasks.
void ResultsWriter::Impl::write_status(const StatusSource& status) {
  h5::Id status_set = h5::open_dataset(file, "/tasks/status");
  h5::Id attempts_set = h5::open_dataset(file, "/tasks/attempts");
  std::vector<TaskState> st(static_cast<std::size_t>(std::min(tasks, kPiece)));
  std::vector<std::uint8_t> at(st.size());
  std::vector<double> values;
  const std::uint64_t end = std::min(tasks, extent);
  std::uint64_t counts[3] = {tasks - end, 0, 0};  // past the extent: pending, as filled
  for (std::uint64_t first = 0; first < end; first += kPiece) {
    const std::uint64_t n = std::min(kPiece, end - first);
    std::fill_n(st.begin(), n, TaskState::pending);
    std::fill_n(at.begin(), n, std::uint8_t{0});
    status(first, n, st.data(), at.data());
    for (std::uint64_t i = 0; i < n; ++i) {
      const auto v = static_cast<std::uint8_t>(st[i]);
      if (v > 2)
        throw std::invalid_argument(path + ": task " + std::to_string(first + i) + " has status " +
                                    std::to_string(v));
      ++counts[v];
    }
    h5::write_1d(status_set, H5T_NATIVE_UINT8, first, n, st.data());
    h5::write_1d(attempts_set, H5T_NATIVE_UINT8, first, n, at.data());
    if (std::all_of(st.begin(), st.begin() + static_cast<std::ptrdiff_t>(n),
                    [](TaskState v) { return v == TaskState::done; }))
      continue;
    for (std::size_t k = 0; k < observations.size(); ++k) {
      const std::uint64_t w = specs[k].width();
      values.resize(static_cast<std::size_t>(n * w));
      h5::read_columns(observations[k], w, first, n, values.data());
      bool changed = false;
      for (std::uint64_t c = 0; c < w; ++c) {
        for (std::uint64_t i = 0; i < n; ++i) {
          if (st[i] != TaskState::done && !std::isnan(values[c * n + i])) {
            values[c * n + i] = std::numeric_limits<double>::quiet_NaN();
            changed = true;
          }
        }
      }
      if (changed) h5::write_columns(observations[k], w, first, n, values.data());
    }
  }
  h5::write_attr(file, "tasks_pending", counts[0]);
  h5::write_attr(file, "tasks_done", counts[1]);
  h5::write_attr(file, "tasks_failed", counts[2]);
}

void ResultsWriter::Impl::write_tallies(const TallyViews& counts) {
  for (std::size_t k = 0; k < counts.size(); ++k) {
    h5::Id d = h5::open_dataset(file, "/tallies/" + tallies[k].name);
    if (counts[k].empty()) continue;
    if (tallies[k].kind == TallyKind::count) {
      h5::write_1d(d, 0, counts[k].size(), counts[k].data());
      continue;
    }
    const std::vector<double> sums = real_values(counts[k]);
    h5::write_1d(d, 0, sums.size(), sums.data());
    h5::Id e = h5::open_dataset(file, "/tallies_exact/" + tallies[k].name);
    h5::write_1d(e, 0, counts[k].size(), counts[k].data());
  }
}

void ResultsWriter::Impl::write_failures(const std::vector<Failure>& failures) {
  h5::Id g = h5::exists(file, "/failures") ? h5::open_group(file, "/failures")
                                           : h5::create_group(file, "/failures");
  std::vector<std::uint64_t> task;
  std::vector<std::uint32_t> attempts;
  std::vector<std::string> messages;
  for (const auto& f : failures) {
    task.push_back(f.task);
    attempts.push_back(f.attempts);
    messages.push_back(f.message);
  }
  h5::write_dataset(g, "task", task);
  h5::write_dataset(g, "attempts", attempts);
  h5::write_strings(g, "message", messages);
  h5::write_attr(g, "count", static_cast<std::uint64_t>(failures.size()));
}

void ResultsWriter::Impl::write_summaries() {
  h5::Id summary_group = h5::open_group(file, "/summary");
  std::vector<double> buffer;
  for (std::size_t k = 0; k < specs.size(); ++k) {
    const std::uint64_t w = specs[k].width();
    const std::size_t at = summaries.size();
    for (std::uint64_t c = 0; c < w; ++c)
      summaries.push_back(detail::summarize_scan(
          dataset_scan(observations[k], std::min(tasks, extent), kPiece, buffer, w, c)));
    if (specs[k].components == 0) write_summary(summary_group, specs[k].name, summaries[at]);
    else
      write_vector_summary(summary_group, specs[k].name,
                           std::span<const Summary>(summaries).subspan(at));
  }
}

void ResultsWriter::Impl::write_provenance(const RunMeta& meta) {
  h5::write_attr(file, "carlo_version", meta.carlo_version);
  h5::write_attr(file, "simulation", meta.simulation);
  h5::write_attr(file, "seed", meta.seed);
  h5::write_attr(file, "data_path", meta.data_path);
  h5::write_attr(file, "data_size", meta.data_size);
  h5::write_attr(file, "data_mtime", meta.data_mtime);
  h5::write_attr(file, "data_checksum", meta.data_checksum);
  h5::write_attr(file, "ranks", static_cast<std::int64_t>(meta.ranks));
  h5::write_attr(file, "nodes", static_cast<std::int64_t>(meta.nodes));
  h5::write_attr(file, "start_time", meta.start_time);
  h5::write_attr(file, "end_time", meta.end_time);
  h5::write_attr(file, "wall_seconds", meta.wall_seconds);
  h5::write_attr(file, "tasks_per_second", meta.tasks_per_second);
  for (const auto& [name, value] : meta.metrics) h5::write_attr(file, name, value);
  h5::write_attr(file, "options", options_text(meta));
  h5::Id g = h5::exists(file, "/options") ? h5::open_group(file, "/options")
                                          : create_ordered_group(file, "options");
  for (const auto& [name, value] : meta.options) h5::write_attr(g, name, value);
}

// ---------------------------------------------------------------------------------------------
// Readers
// ---------------------------------------------------------------------------------------------

namespace {

RunMeta read_meta(hid_t file) {
  RunMeta meta;
  meta.carlo_version = h5::read_attr_string(file, "carlo_version").value_or("");
  meta.simulation = h5::read_attr_string(file, "simulation").value_or("");
  meta.seed = h5::read_attr_uint(file, "seed").value_or(0);
  meta.tasks = h5::read_attr_uint(file, "tasks").value_or(0);
  meta.data_path = h5::read_attr_string(file, "data_path").value_or("");
  meta.data_size = h5::read_attr_uint(file, "data_size").value_or(0);
  meta.data_mtime = h5::read_attr_int(file, "data_mtime").value_or(0);
  meta.data_checksum = h5::read_attr_string(file, "data_checksum").value_or("");
  meta.ranks = static_cast<int>(h5::read_attr_int(file, "ranks").value_or(0));
  meta.nodes = static_cast<int>(h5::read_attr_int(file, "nodes").value_or(0));
  meta.start_time = h5::read_attr_string(file, "start_time").value_or("");
  meta.end_time = h5::read_attr_string(file, "end_time").value_or("");
  meta.wall_seconds = h5::read_attr_double(file, "wall_seconds").value_or(0);
  meta.tasks_per_second = h5::read_attr_double(file, "tasks_per_second").value_or(0);
  for (const char* name :
       {"compute_seconds", "retries", "reissued_batches", "batches", "tasks_requested"})
    if (auto v = h5::read_attr_double(file, name)) meta.metrics.emplace_back(name, *v);
  if (h5::object_type(file, "/options") == H5O_TYPE_GROUP) {
    h5::Id g = h5::open_group(file, "/options");
    for (const auto& name : attr_names(g))
      meta.options.emplace_back(name, h5::read_attr_string(g, name).value_or(""));
  }
  return meta;
}

/// The stored summary of every observation column, in order; empty unless all of them have one.
/// A vector's attributes hold one element per component.
std::vector<Summary> read_summaries(hid_t file, const std::string& path,
                                    const std::vector<ObservationSpec>& specs) {
  std::vector<Summary> out;
  for (const auto& spec : specs) {
    const std::string object = "/summary/" + spec.name;
    if (h5::object_type(file, object) != H5O_TYPE_GROUP) return {};
    h5::Id g = h5::open_group(file, object);
    const auto w = static_cast<std::size_t>(spec.width());
    const auto num = [&](const char* attr) {
      auto v = h5::read_attr_doubles(g, attr);
      if (!v) throw InputError(path + ":" + object + " attribute '" + attr + "': missing");
      if (v->size() != w)
        throw InputError(path + ":" + object + " attribute '" + attr +
                         "': " + std::to_string(v->size()) + " values for " + std::to_string(w) +
                         " components");
      return std::move(*v);
    };
    const auto count = num("count"), mean = num("mean"), sd = num("sd"), se = num("stderr"),
               min = num("min"), max = num("max"), lo = num("p2.5"), mid = num("p50"),
               hi = num("p97.5");
    for (std::size_t c = 0; c < w; ++c)
      out.push_back({static_cast<std::uint64_t>(count[c]), mean[c], sd[c], se[c], min[c], max[c],
                     lo[c], mid[c], hi[c]});
  }
  return out;
}

/// The observations of a results file: each dataset of /observations, float64[T] a scalar,
/// float64[T, k] a vector of k.
std::vector<ObservationSpec> read_observation_specs(hid_t file, const std::string& path) {
  std::vector<ObservationSpec> specs;
  if (h5::object_type(file, "/observations") != H5O_TYPE_GROUP) return specs;
  h5::Id g = h5::open_group(file, "/observations");
  for (auto& name : link_names(g)) {
    const auto d = h5::dims(h5::open_dataset(g, name));
    if (d.empty() || d.size() > 2 || (d.size() == 2 && d[1] == 0))
      throw InputError(path + ":/observations/" + name + ": rank " + std::to_string(d.size()) +
                       " (expected float64[T] or float64[T, k])");
    specs.push_back({std::move(name), d.size() == 2 ? d[1] : 0});
  }
  return specs;
}

/// The dataset and column of an observation column `name` (a scalar, or name[i] of a vector).
std::pair<ObservationSpec, std::uint64_t> find_column(hid_t file, const std::string& path,
                                                      const std::string& name) {
  const auto specs = read_observation_specs(file, path);
  for (const auto& s : specs)
    if (s.components == 0 && s.name == name) return {s, 0};
  const auto open = name.rfind('[');
  if (open != std::string::npos && name.back() == ']') {
    const std::string base = name.substr(0, open);
    const std::string digits = name.substr(open + 1, name.size() - open - 2);
    for (const auto& s : specs) {
      if (s.components == 0 || s.name != base) continue;
      for (std::uint64_t c = 0; c < s.components; ++c)
        if (std::to_string(c) == digits) return {s, c};
    }
  }
  throw InputError(path + ":/observations/" + name + ": no such observation");
}

/// Adds the states of tasks [first, first + len) to info's counts.
void count_status_range(hid_t d, std::uint64_t first, std::uint64_t len,
                        std::vector<std::uint8_t>& buf, ResultsInfo& info) {
  for (std::uint64_t end = first + len; first < end; first += kPiece) {
    const std::uint64_t n = std::min(kPiece, end - first);
    buf.resize(static_cast<std::size_t>(n));
    h5::read_1d(d, H5T_NATIVE_UINT8, first, n, buf.data(), h5::Blame::input);
    for (std::uint64_t i = 0; i < n; ++i) {
      if (buf[i] == 1) ++info.done;
      else if (buf[i] == 2) ++info.failed;
      else ++info.pending;
    }
  }
}

/// The first task of every chunk of /tasks/status that was ever written, when there are few of
/// them (H5Dget_chunk_info walks the chunk index from the start, so many would cost more than
/// reading the whole dataset); nullopt otherwise.
std::optional<std::vector<std::uint64_t>> written_status_chunks(hid_t d, std::uint64_t n) {
  constexpr hsize_t kMaxListed = 4096;
  h5::ErrorSilencer quiet;
  h5::Id space(H5Dget_space(d));  // 1.10 wants the dataspace itself, not H5S_ALL
  hsize_t allocated = 0;
  if (H5Dget_num_chunks(d, space, &allocated) < 0 || allocated > kMaxListed ||
      allocated * kStatusChunk >= n / 2)
    return std::nullopt;
  std::vector<std::uint64_t> firsts;
  for (hsize_t i = 0; i < allocated; ++i) {
    hsize_t offset = 0;
    unsigned mask = 0;
    haddr_t address = 0;
    hsize_t size = 0;
    if (H5Dget_chunk_info(d, space, i, &offset, &mask, &address, &size) < 0) return std::nullopt;
    firsts.push_back(offset);
  }
  return firsts;
}

/// Counts /tasks/status into info.pending, done and failed. A run that stopped early wrote the
/// states only up to the last task resolved (io/results_file.h, set_resolved_extent): the chunks
/// past it were never written and hold "pending" (the fill value), so only written chunks are
/// read when they are few; `carlo info` on a stopped 2^40-task run then reads megabytes, not a
/// terabyte.
void count_status(hid_t file, const std::string& path, ResultsInfo& info) {
  h5::Id d = open_member(file, path, "tasks", "status", "dataset");
  const std::uint64_t n = h5::length_1d(d, path + ":/tasks/status");
  std::vector<std::uint8_t> buf;
  const auto written = written_status_chunks(d, n);
  if (!written) return count_status_range(d, 0, n, buf, info);
  std::uint64_t counted = 0;
  for (std::uint64_t first : *written) {
    if (first >= n) continue;
    const std::uint64_t len = std::min(kStatusChunk, n - first);
    count_status_range(d, first, len, buf, info);
    counted += len;
  }
  info.pending += n - counted;
}

std::vector<Failure> read_failures(hid_t file, const std::string& path) {
  std::vector<Failure> out;
  if (h5::object_type(file, "/failures") != H5O_TYPE_GROUP) return out;
  h5::Id g = h5::open_group(file, "/failures");
  const auto task = h5::read_dataset<std::uint64_t>(g, "task");
  const auto attempts = h5::read_dataset<std::uint32_t>(g, "attempts");
  const auto messages = h5::read_strings(g, "message");
  if (attempts.size() != task.size() || messages.size() != task.size())
    throw InputError(path + ":/failures: task, attempts and message differ in length");
  for (std::size_t i = 0; i < task.size(); ++i) out.push_back({task[i], attempts[i], messages[i]});
  return out;
}

}  // namespace

ResultsInfo read_results_info(const std::string& path) {
  h5::Id file = open_results(path);
  ResultsInfo info;
  info.path = path;
  info.state = *h5::read_attr_string(file, "state");
  info.meta = read_meta(file);
  info.observation_specs = read_observation_specs(file, path);
  info.observation_names = observation_columns(info.observation_specs);
  info.summaries = read_summaries(file, path, info.observation_specs);
  if (h5::object_type(file, "/tallies") == H5O_TYPE_GROUP) {
    h5::Id g = h5::open_group(file, "/tallies");
    for (const auto& name : link_names(g)) {
      h5::Id d = h5::open_dataset(g, name);
      const auto kind = h5::read_attr_string(d, "kind");
      info.tallies.push_back({name, h5::length_1d(d, path + ":/tallies/" + name),
                              kind && *kind == "real" ? TallyKind::real : TallyKind::count});
    }
  }
  count_status(file, path, info);
  info.failures = read_failures(file, path);
  return info;
}

std::vector<double> read_observation(const std::string& path, const std::string& name) {
  h5::Id file = open_results(path);
  const auto [spec, column] = find_column(file, path, name);
  h5::Id d = open_member(file, path, "observations", spec.name, "observation");
  const auto d_dims = h5::dims(d);
  const std::uint64_t n = d_dims.empty() ? 0 : d_dims[0];
  const std::uint64_t w = spec.width();
  std::vector<double> out(static_cast<std::size_t>(n));
  std::vector<double> buffer;
  for (std::uint64_t first = 0; first < n; first += kPiece) {
    const std::uint64_t len = std::min(kPiece, n - first);
    buffer.resize(static_cast<std::size_t>(len * w));
    h5::read_columns(d, w, first, len, buffer.data(), h5::Blame::input);
    std::copy_n(buffer.begin() + static_cast<std::ptrdiff_t>(column * len), len,
                out.begin() + static_cast<std::ptrdiff_t>(first));
  }
  return out;
}

void scan_observation(const std::string& path, const std::string& name,
                      const std::function<void(std::span<const double>)>& visit,
                      std::uint64_t piece_values) {
  h5::Id file = open_results(path);
  const auto [spec, column] = find_column(file, path, name);
  h5::Id d = open_member(file, path, "observations", spec.name, "observation");
  const auto d_dims = h5::dims(d);
  const std::uint64_t n = d_dims.empty() ? 0 : d_dims[0];
  // Rows per piece: the buffer holds whole rows of a vector observation, all its columns.
  const std::uint64_t rows = std::max<std::uint64_t>(piece_values / spec.width(), 1);
  std::vector<double> buffer;
  dataset_scan(d, n, rows, buffer, spec.width(), column)(visit);
}

std::vector<std::uint64_t> read_tally(const std::string& path, const std::string& name) {
  h5::Id file = open_results(path);
  h5::Id d = open_member(file, path, "tallies", name, "tally");
  std::vector<std::uint64_t> out(
      static_cast<std::size_t>(h5::length_1d(d, path + ":/tallies/" + name)));
  if (!out.empty()) h5::read_1d(d, H5T_NATIVE_UINT64, 0, out.size(), out.data(), h5::Blame::input);
  return out;
}

std::vector<double> read_real_tally(const std::string& path, const std::string& name) {
  h5::Id file = open_results(path);
  h5::Id d = open_member(file, path, "tallies", name, "tally");
  std::vector<double> out(static_cast<std::size_t>(h5::length_1d(d, path + ":/tallies/" + name)));
  if (!out.empty()) h5::read_1d(d, H5T_NATIVE_DOUBLE, 0, out.size(), out.data(), h5::Blame::input);
  return out;
}

std::vector<std::uint64_t> read_tally_words(const std::string& path, const TallySpec& spec) {
  if (spec.kind == TallyKind::count) return read_tally(path, spec.name);
  h5::Id file = open_results(path);
  h5::Id d = open_member(file, path, "tallies_exact", spec.name, "exact tally");
  std::vector<std::uint64_t> out(
      static_cast<std::size_t>(h5::length_1d(d, path + ":/tallies_exact/" + spec.name)));
  if (out.size() != tally_words(spec))
    throw InputError(path + ":/tallies_exact/" + spec.name + ": " + std::to_string(out.size()) +
                     " words, expected " + std::to_string(tally_words(spec)));
  if (!out.empty()) h5::read_1d(d, H5T_NATIVE_UINT64, 0, out.size(), out.data(), h5::Blame::input);
  return out;
}

std::pair<std::vector<TaskState>, std::vector<std::uint8_t>> read_task_status(
    const std::string& path) {
  h5::Id file = open_results(path);
  h5::Id s = open_member(file, path, "tasks", "status", "dataset");
  h5::Id a = open_member(file, path, "tasks", "attempts", "dataset");
  const std::uint64_t n = h5::length_1d(s, path + ":/tasks/status");
  if (h5::length_1d(a, path + ":/tasks/attempts") != n)
    throw InputError(path + ":/tasks/attempts: length differs from /tasks/status");
  std::vector<TaskState> status(static_cast<std::size_t>(n));
  std::vector<std::uint8_t> attempts(static_cast<std::size_t>(n));
  if (n > 0) {
    h5::read_1d(s, H5T_NATIVE_UINT8, 0, n, status.data(), h5::Blame::input);
    h5::read_1d(a, H5T_NATIVE_UINT8, 0, n, attempts.data(), h5::Blame::input);
  }
  for (std::uint64_t i = 0; i < n; ++i)
    if (static_cast<std::uint8_t>(status[i]) > 2)
      throw InputError(path + ":/tasks/status: value " +
                       std::to_string(static_cast<int>(status[i])) + " at index " +
                       std::to_string(i) + " (expected 0, 1 or 2)");
  return {std::move(status), std::move(attempts)};
}

bool is_results_file(const std::string& path) {
  try {
    h5::ErrorSilencer quiet;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) return false;
    if (H5Fis_hdf5(path.c_str()) <= 0) {
      H5Eclear2(H5E_DEFAULT);
      return false;
    }
    open_results(path);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

namespace detail {

Summary summarize_observation(const std::string& path, const std::string& name,
                              std::uint64_t memory_keys, std::uint64_t chunk_values) {
  h5::Id file = open_results(path);
  const auto [spec, column] = find_column(file, path, name);
  h5::Id d = open_member(file, path, "observations", spec.name, "observation");
  const std::uint64_t n = h5::dims(d).at(0);
  std::vector<double> buffer;
  return summarize_scan(
      dataset_scan(d, n, std::max<std::uint64_t>(chunk_values, 1), buffer, spec.width(), column),
      memory_keys);
}

std::uint64_t tally_total(const std::string& path, const std::string& name) {
  h5::Id file = open_results(path);
  h5::Id d = open_member(file, path, "tallies", name, "tally");
  const std::uint64_t n = h5::length_1d(d, path + ":/tallies/" + name);
  std::vector<std::uint64_t> buf(static_cast<std::size_t>(std::min(n, kPiece)));
  std::uint64_t total = 0;
  for (std::uint64_t first = 0; first < n; first += kPiece) {
    const std::uint64_t len = std::min(kPiece, n - first);
    h5::read_1d(d, H5T_NATIVE_UINT64, first, len, buf.data(), h5::Blame::input);
    for (std::uint64_t i = 0; i < len; ++i) total += buf[i];
  }
  return total;
}

}  // namespace detail

}  // namespace carlo::io
