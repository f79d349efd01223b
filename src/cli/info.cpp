// carlo info FILE.h5: validate and describe a ragged array (DESIGN §1), or a results file (through
// carlo::report, the same reading `carlo report` uses).
#include "cli/cli.h"
#include "cli/command_line.h"
#include "engine/persistence.h"
#include "io/ragged_file.h"
#include "io/results_file.h"
#include "report/render.h"
#include "report/results_view.h"
#include "report/state.h"

#include <carlo/error.h>
#include <carlo/units.h>

#include <boost/program_options.hpp>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace carlo::cli {

namespace po = boost::program_options;

namespace {

constexpr const char* kInfoUsage =
    "usage: carlo info FILE.h5 [--group G]\n"
    "       carlo info --state RESULTS.h5\n"
    "\n"
    "Validates FILE.h5 and describes it: for a ragged array (datasets `values` and `offsets`),\n"
    "its rows, elements, element type, row lengths, size and storage layout, and whether carlo\n"
    "can memory-map it; for a carlo results file, the run it records. Exit status 1 and one line\n"
    "on stderr if the file is not valid.\n"
    "\n"
    "With --state, prints one word for a results file and exits with the status its run would\n"
    "have had: complete 0, failed 2 (done, some tasks failed), partial 3 (--resume continues it),\n"
    "for job scripts that cannot trust a launcher's own exit status.\n";

struct RowLengthStats {
  std::uint64_t min = 0, max = 0, empty = 0;
  double median = 0, mean = 0;
};

// From the offsets alone: the values are never read.
RowLengthStats row_length_stats(const std::vector<std::uint64_t>& offsets) {
  RowLengthStats s;
  const std::size_t rows = offsets.size() - 1;
  if (rows == 0) return s;
  std::vector<std::uint64_t> lengths(rows);
  for (std::size_t i = 0; i < rows; ++i) {
    lengths[i] = offsets[i + 1] - offsets[i];
    if (lengths[i] == 0) ++s.empty;
  }
  s.mean = static_cast<double>(offsets.back()) / static_cast<double>(rows);
  const auto [lo, hi] = std::minmax_element(lengths.begin(), lengths.end());
  s.min = *lo;
  s.max = *hi;
  const std::size_t mid = rows / 2;
  std::nth_element(lengths.begin(), lengths.begin() + static_cast<std::ptrdiff_t>(mid),
                   lengths.end());
  const double upper = static_cast<double>(lengths[mid]);
  if (rows % 2 == 1) {
    s.median = upper;
  } else {
    const double lower = static_cast<double>(
        *std::max_element(lengths.begin(), lengths.begin() + static_cast<std::ptrdiff_t>(mid)));
    s.median = (lower + upper) / 2;
  }
  return s;
}

std::string number(double v) {
  char buf[64];
  if (v == static_cast<double>(static_cast<std::uint64_t>(v)))
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else if (v >= 0.01) std::snprintf(buf, sizeof buf, "%.2f", v);
  else std::snprintf(buf, sizeof buf, "%.2g", v);  // e.g. the mean of a nearly empty array
  return buf;
}

int describe_ragged(const std::string& path, const std::string& group) {
  io::RaggedReader reader(path, group);
  const io::RaggedInfo& info = reader.info();
  std::vector<std::uint64_t> offsets(info.rows + 1);
  reader.read_offsets(offsets);  // validates them
  const RowLengthStats s = row_length_stats(offsets);
  const std::uint64_t bytes = info.n_values * dtype_size(info.dtype);

  std::string mapping;
  if (info.values_contiguous && info.values_native_order)
    mapping = "at byte " + std::to_string(info.values_file_offset) + ", can be memory-mapped";
  else if (info.values_contiguous)
    mapping = "not in native byte order, cannot be memory-mapped (read and converted instead)";
  else if (info.n_values == 0) mapping = "no values stored";
  else mapping = "cannot be memory-mapped (read into memory instead)";

  std::printf("%s: ragged array%s\n", path.c_str(),
              info.has_format_attribute ? " (carlo.ragged)" : "");
  std::printf("  group       %s\n", info.group.c_str());
  std::printf("  rows        %llu (%llu empty)\n", static_cast<unsigned long long>(info.rows),
              static_cast<unsigned long long>(s.empty));
  std::printf("  values      %llu %s, %s\n", static_cast<unsigned long long>(info.n_values),
              std::string(dtype_name(info.dtype)).c_str(), format_bytes(bytes).c_str());
  std::printf("  row length  min %llu, median %s, mean %s, max %llu\n",
              static_cast<unsigned long long>(s.min), number(s.median).c_str(),
              number(s.mean).c_str(), static_cast<unsigned long long>(s.max));
  std::printf("  offsets     %s\n", info.offsets_signed ? "int64" : "uint64");
  std::printf("  layout      %s, %s\n", info.values_layout.c_str(), mapping.c_str());
  return 0;
}

/// `carlo info --state FILE`: one word, and the run's exit status. With a checkpoint or journal
/// beside it, a file that is not complete is resumable whatever shape it is in (a run that died
/// or hit a full disk may have left it unreadable: --resume rebuilds it from the journal).
int print_state(const std::string& file) {
  const bool resume_files = engine::RunPersistence::has_resume_files(file);
  std::optional<io::ResultsInfo> info;
  try {
    if (io::is_results_file(file)) info = io::read_results_info(file);
  } catch (const std::exception&) {
    if (!resume_files) throw;
  }
  if (!info && !resume_files) throw InputError(file + ": not a carlo results file");
  report::ScriptState s;
  if (info) s = report::script_state(*info, resume_files);
  if (!info || (s.word.empty() && resume_files)) s = {"partial", 3, ""};
  if (s.word.empty()) throw InputError(file + ": no final state: " + s.why);
  std::puts(s.word.c_str());
  return s.exit_code;
}

}  // namespace

int cmd_info(const Args& args) {
  po::options_description opts("options");
  std::string file;
  std::string group = "/";
  auto add = opts.add_options();
  add("help,h", "describe this command");
  add("group,g", po::value(&group)->default_value("/"), "HDF5 group holding the ragged array");
  add("state", po::bool_switch(), "results file: print complete, failed or partial; exit 0, 2, 3");
  po::options_description hidden;
  hidden.add_options()("file", po::value(&file));
  po::variables_map vm;
  if (!parse_subcommand(args, kInfoUsage, opts, hidden, "file", 1, vm)) return 0;
  if (file.empty()) throw InputError("no file given (usage: carlo info FILE.h5)");
  if (vm["state"].as<bool>()) return print_state(file);
  if (!vm["group"].defaulted() || !io::is_results_file(file)) return describe_ragged(file, group);
  const std::string text = report::render_info(report::read_results(file, report::Depth::brief));
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

}  // namespace carlo::cli
