// `carlo merge PART.h5... -o ALL.h5 [--force]`: combine the results files of a run split with
// `carlo run --task-range A:B` (docs/split-merge.md). The checks and the file work live in
// src/io/results_merge.cpp; which recorded options the parts must share is the engine's table
// (engine/run_options.h). This is option parsing and the closing line.
#include "cli/cli.h"
#include "cli/command_line.h"
#include "engine/run_options.h"
#include "io/results_merge.h"

#include <carlo/error.h>

#include <boost/program_options.hpp>

#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

namespace po = boost::program_options;

namespace carlo::cli {

namespace {

constexpr const char* kMergeUsage =
    "usage: carlo merge PART.h5... -o ALL.h5 [--force]\n"
    "\n"
    "Combines the results files of one run split with `carlo run --task-range A:B` (same --sim,\n"
    "--data, --tasks, --seed and simulation options; ranges that cover 0..T-1 exactly once) into\n"
    "the file a single run over all tasks writes: observations, tallies, task status, failures\n"
    "and summaries bitwise identical. Nothing is written if any check fails.\n";

}  // namespace

int cmd_merge(const Args& args) {
  po::options_description opts("options");
  std::string output;
  std::vector<std::string> parts;
  opts.add_options()("help,h", "describe this command")(
      "output,o", po::value(&output), "merged results file")("force",
                                                             "overwrite the output if it exists");
  po::options_description hidden;
  hidden.add_options()("part", po::value(&parts));
  po::variables_map vm;
  if (!parse_subcommand(args, kMergeUsage, opts, hidden, "part", -1, vm)) return 0;
  if (parts.empty())
    throw InputError("no part files given (usage: carlo merge PART.h5... -o ALL.h5)");
  if (output.empty())
    throw InputError("no output file given (usage: carlo merge PART.h5... -o ALL.h5)");

  const auto s =
      io::merge_results(parts, output, vm.count("force") > 0, engine::must_agree_on_merge);
  std::printf("merged %zu part%s: %llu tasks (%llu done, %llu failed) -> %s\n", s.parts,
              s.parts == 1 ? "" : "s", static_cast<unsigned long long>(s.tasks),
              static_cast<unsigned long long>(s.done), static_cast<unsigned long long>(s.failed),
              output.c_str());
  return 0;
}

}  // namespace carlo::cli
