// carlo report RESULTS.h5 [--json] [--plot report.svg]: what a run found, for people (text), for
// programs (JSON) and for eyes (SVG). The command line only: reading and rendering are
// carlo::report (src/report/).
#include "cli/cli.h"
#include "cli/command_line.h"
#include "report/render.h"
#include "report/results_view.h"

#include <carlo/error.h>

#include <boost/program_options.hpp>

#include <cstdio>
#include <fstream>
#include <string>

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

  const report::ResultsView view = report::read_results(file, report::Depth::full);
  if (!plot.empty()) write_file(plot, report::render_plot(view));
  const std::string text =
      vm.count("json") ? report::render_json(view, plot) : report::render_text(view, plot);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

}  // namespace carlo::cli
