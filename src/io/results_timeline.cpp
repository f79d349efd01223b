// The load-balance timeline of a results file: one entry per batch, as four parallel datasets
// /timeline/{rank,tasks,start,end} (plain arrays, like /failures, so any HDF5 reader gets them).
#include "io/h5.h"
#include "io/results_file.h"

#include <carlo/error.h>

#include <string>
#include <vector>

namespace carlo::io {

void write_timeline(const std::string& path, const std::vector<TimelineEntry>& entries) {
  h5::Id file = h5::open_file(path, /*writable=*/true);
  if (h5::object_type(file, "/tasks") != H5O_TYPE_GROUP)
    throw InputError(path + ":/tasks: missing (not a carlo results file)");
  if (h5::exists(file, "/timeline")) {
    h5::ErrorSilencer quiet;
    h5::check(H5Ldelete(file, "/timeline", H5P_DEFAULT), path + ":/timeline: cannot replace");
  }
  std::vector<std::int32_t> rank;
  std::vector<std::uint64_t> tasks;
  std::vector<double> start, end;
  rank.reserve(entries.size());
  tasks.reserve(entries.size());
  start.reserve(entries.size());
  end.reserve(entries.size());
  for (const auto& e : entries) {
    rank.push_back(e.rank);
    tasks.push_back(e.tasks);
    start.push_back(e.start);
    end.push_back(e.end);
  }
  h5::Id g = h5::create_group(file, "/timeline");
  h5::write_dataset(g, "rank", rank);
  h5::write_dataset(g, "tasks", tasks);
  h5::write_dataset(g, "start", start);
  h5::write_dataset(g, "end", end);
  h5::write_attr(g, "count", static_cast<std::uint64_t>(entries.size()));
  h5::write_attr(g, "units", "seconds since the run started (master clock)");
}

std::vector<TimelineEntry> read_timeline(const std::string& path) {
  h5::Id file = h5::open_file(path);
  if (h5::object_type(file, "/timeline") != H5O_TYPE_GROUP) return {};
  h5::Id g = h5::open_group(file, "/timeline");
  for (const char* name : {"rank", "tasks", "start", "end"})
    if (h5::object_type(g, name) != H5O_TYPE_DATASET)
      throw InputError(path + ":/timeline/" + name + ": missing");
  const auto rank = h5::read_dataset<std::int32_t>(g, "rank");
  const auto tasks = h5::read_dataset<std::uint64_t>(g, "tasks");
  const auto start = h5::read_dataset<double>(g, "start");
  const auto end = h5::read_dataset<double>(g, "end");
  if (tasks.size() != rank.size() || start.size() != rank.size() || end.size() != rank.size())
    throw InputError(path + ":/timeline: rank, tasks, start and end differ in length");
  std::vector<TimelineEntry> out(rank.size());
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = {rank[i], tasks[i], start[i], end[i]};
  return out;
}

}  // namespace carlo::io
