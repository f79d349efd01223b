// carlo gen groups | graph: the arguments become a datagen config (src/datagen/ makes the file).
#include "cli/cli.h"
#include "datagen/datagen.h"

#include <carlo/error.h>
#include <carlo/units.h>

#include <boost/program_options.hpp>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

namespace carlo::cli {

namespace po = boost::program_options;

namespace {

constexpr const char* kGenUsage =
    "usage:\n"
    "  carlo gen groups --rows R --bytes SIZE [--dtype float64] --seed S -o groups.h5 [--force]\n"
    "  carlo gen graph  --scale K [--edge-factor 16] --seed S -o graph.h5 [--force]\n"
    "\n"
    "Writes a deterministic synthetic ragged array (same arguments, same file contents).\n"
    "  groups: R rows of skewed (log-normal) lengths holding exactly SIZE/dtype-size values;\n"
    "          float rows ~ Normal(row mean, row sd), integer rows uniform over the type.\n"
    "  graph:  R-MAT graph (a=0.57 b=0.19 c=0.19 d=0.05) with 2^K nodes and edge-factor*2^K\n"
    "          directed edges as CSR: row u = sorted int64 ids of u's out-neighbours.\n";

// Progress on stderr, every tenth, for outputs of 1 GiB and more only; small ones stay quiet.
datagen::Progress progress_printer(std::string what) {
  return [what = std::move(what), last = 0](std::uint64_t done, std::uint64_t total) mutable {
    if (total < (std::uint64_t{1} << 30)) return;
    const int tenth = static_cast<int>(done * 10 / total);
    if (tenth <= last) return;
    last = tenth;
    std::fprintf(stderr, "carlo gen %s: %d%% (%s of %s)\n", what.c_str(), tenth * 10,
                 format_bytes(done).c_str(), format_bytes(total).c_str());
  };
}

po::variables_map parse(const Args& args, const po::options_description& opts,
                        const std::string& kind) {
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(std::vector<std::string>(args.begin() + 2, args.end()))
                  .options(opts)
                  .run(),
              vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw InputError(std::string(e.what()) + " (try carlo gen " + kind + " --help)");
  }
  return vm;
}

std::string required(const po::variables_map& vm, const std::string& name,
                     const std::string& kind) {
  if (!vm.count(name))
    throw InputError("missing --" + name + " (try carlo gen " + kind + " --help)");
  return vm[name].as<std::string>();
}

int gen_groups(const Args& args) {
  po::options_description opts("carlo gen groups options");
  auto add = opts.add_options();
  add("help,h", "describe this command");
  add("rows", po::value<std::string>(), "number of rows R (e.g. 2000, 1e6)");
  add("bytes", po::value<std::string>(), "size of the values (e.g. 2MiB, 4GiB)");
  add("dtype", po::value<std::string>()->default_value("float64"),
      "float64, float32, int64, int32, uint32, int8 or uint8");
  add("seed", po::value<std::string>(), "random seed (unsigned 64-bit)");
  add("output,o", po::value<std::string>(), "output file");
  add("force,f", "overwrite the output if it exists");
  const po::variables_map vm = parse(args, opts, "groups");
  if (vm.count("help")) {
    std::cout << kGenUsage << '\n' << opts;
    return 0;
  }
  datagen::GroupsConfig config;
  config.rows = parse_count(required(vm, "rows", "groups"), "--rows");
  config.bytes = parse_size(required(vm, "bytes", "groups"), "--bytes");
  config.dtype = parse_dtype(vm["dtype"].as<std::string>());
  config.seed = parse_count(required(vm, "seed", "groups"), "--seed");
  const std::string output = required(vm, "output", "groups");
  config.overwrite = vm.count("force") > 0;
  if (config.rows == 0) throw InputError("--rows: must be at least 1");
  if (config.bytes % dtype_size(config.dtype) != 0)
    throw InputError("--bytes: " + std::to_string(config.bytes) + " is not a multiple of the " +
                     std::string(dtype_name(config.dtype)) + " size (" +
                     std::to_string(dtype_size(config.dtype)) + " bytes)");
  check_output_path(output, config.overwrite);
  datagen::generate_groups(config, output, progress_printer("groups"));
  return 0;
}

int gen_graph(const Args& args) {
  po::options_description opts("carlo gen graph options");
  auto add = opts.add_options();
  add("help,h", "describe this command");
  add("scale", po::value<std::string>(), "log2 of the number of nodes K (1-32)");
  add("edge-factor", po::value<std::string>()->default_value("16"), "edges per node");
  add("seed", po::value<std::string>(), "random seed (unsigned 64-bit)");
  add("output,o", po::value<std::string>(), "output file");
  add("force,f", "overwrite the output if it exists");
  const po::variables_map vm = parse(args, opts, "graph");
  if (vm.count("help")) {
    std::cout << kGenUsage << '\n' << opts;
    return 0;
  }
  datagen::GraphConfig config;
  const std::uint64_t scale = parse_count(required(vm, "scale", "graph"), "--scale");
  if (scale < 1 || scale > 32)
    throw InputError("--scale: " + std::to_string(scale) + " is out of range (1 to 32)");
  config.scale = static_cast<unsigned>(scale);
  config.edge_factor = parse_count(vm["edge-factor"].as<std::string>(), "--edge-factor");
  if (config.edge_factor == 0 || config.edge_factor > (std::uint64_t{1} << 24))
    throw InputError("--edge-factor: must be between 1 and 16777216");
  config.seed = parse_count(required(vm, "seed", "graph"), "--seed");
  const std::string output = required(vm, "output", "graph");
  config.overwrite = vm.count("force") > 0;
  check_output_path(output, config.overwrite);
  datagen::generate_graph(config, output, progress_printer("graph"));
  return 0;
}

}  // namespace

int cmd_gen(const Args& args) {
  const std::string kind = args.size() > 1 ? args[1] : "";
  if (kind == "groups") return gen_groups(args);
  if (kind == "graph") return gen_graph(args);
  if (kind == "--help" || kind == "-h") {
    std::cout << kGenUsage;
    return 0;
  }
  if (kind.empty())
    throw InputError("what to generate? 'groups' or 'graph' (try carlo gen --help)");
  throw InputError("unknown kind '" + kind + "' (expected groups or graph)");
}

}  // namespace carlo::cli
